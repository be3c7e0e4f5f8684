"""What readers make: comments, collections, follows, "not interested" dismissals and the rankers learned from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from papertide.models.base import Base, UtcDateTime, utcnow


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_paper_created", "paper_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # Sanitized HTML rendered from ``body`` when it is written, so pages never render Markdown per request.
    body_html: Mapped[str] = mapped_column(Text, default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The reading-group session (models/lab.py) whose discussion this comment belongs to; None for most.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("reading_sessions.id", ondelete="SET NULL"), index=True)


VISIBILITIES = ("public", "organization", "private")


class Collection(Base):
    """A named, ordered list of papers, owned by one user (``owner_id``) or by one organization
    (``organization_id``), never both. ``visibility``: ``public`` (everyone), ``organization`` (the owning
    organization's members; organization collections only) or ``private`` (its owner; an organization's admins)."""

    __tablename__ = "collections"
    __table_args__ = (
        UniqueConstraint("owner_id", "slug"),
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint("(owner_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),
        CheckConstraint("visibility IN ('public', 'organization', 'private')", name="visibility"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    # The column that ``visibility`` replaced in migration 0016: a personal collection is public or private, and
    # the library import, the CLI and older callers still say which with a flag; it reads and writes visibility.
    @hybrid_property
    def is_public(self) -> bool:
        return self.visibility == "public"

    @is_public.inplace.setter
    def _is_public_setter(self, public: bool) -> None:
        self.visibility = "public" if public else "private"

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls) -> ColumnElement[bool]:
        return cls.visibility == "public"

    @is_public.inplace.update_expression  # type: ignore[arg-type]  # SQLAlchemy's stub wants no classmethod here
    @classmethod
    def _is_public_update(cls, public: Any) -> list[tuple[Any, Any]]:
        return [(cls.visibility, "public" if public else "private")]


class CollectionItem(Base):
    """A paper in a collection. ``added_by_id`` and ``note_by_id`` say who added it and who wrote its note (an
    organization's collection is kept by many; rows from before migration 0016 name nobody: their owner did)."""

    __tablename__ = "collection_items"
    __table_args__ = (Index("ix_collection_items_added_by_id_added_at", "added_by_id", "added_at"),)

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Follow(Base):
    """What a user follows beyond a subscription's choices: an author (``key`` is the name key) or a saved search
    (``key`` is the query text). Follows feed the user's personal feed, the digest of a subscription linked to the
    account, and the OPML list of their feeds."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "author" or "search"
    key: Mapped[str] = mapped_column(String(300))
    label: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaperDismissal(Base):
    """A "not interested" click: a negative example for the user's personal ranking, hidden from their picks."""

    __tablename__ = "paper_dismissals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserRanker(Base):
    """A user's linear model over paper vectors, refitted only when their signals (the fingerprint) change."""

    __tablename__ = "user_rankers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(32))
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    positives: Mapped[int] = mapped_column(Integer, default=0)
    negatives: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
