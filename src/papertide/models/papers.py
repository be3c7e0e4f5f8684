"""Papers and what hangs on them: categories, authors by name key, featured days, votes, embeddings.

Counters that list pages read on every request (``upvote_count``, ``comment_count``) live on ``papers`` and are
changed only by the services that change their sources, in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from papertide.models.base import Base, JsonType, UtcDateTime, VectorType, utcnow

_BYTEWISE = Text().with_variant(Text(collation="C"), "postgresql")


_COUNTED = ["published_on", "hidden", "upvote_count", "hf_upvotes"]


class Paper(Base):
    __tablename__ = "papers"
    # Every search checks its candidates are visible: with the id beside the flag, the index alone answers it.
    __table_args__ = (
        Index("ix_papers_hidden_id", "hidden", "id"),
        # What a trend series adds up by day, read from the index alone (migration 0020).
        Index("ix_papers_counted", "id", *_COUNTED).ddl_if(dialect="sqlite"),
        Index("ix_papers_counted", "id", postgresql_include=_COUNTED).ddl_if(dialect="postgresql"),
        # A window's papers and what a series adds up, in date order, read from the index alone (migration 0021);
        # every date sort and filter reads it too.
        Index("ix_papers_by_day", *_COUNTED).ddl_if(dialect="sqlite"),
        Index("ix_papers_by_day", "published_on", postgresql_include=_COUNTED[1:]).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(40), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    # [{"name": str, "affiliations": [str, ...]}, ...] in author order.
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # "Ada Lovelace, Alan Turing": derived from ``authors`` by the upsert, for the keyword indexes.
    author_names: Mapped[str] = mapped_column(Text, default="")
    primary_category: Mapped[str | None] = mapped_column(String(32), index=True)
    categories: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # [{"version": int, "created": ISO-8601 UTC}, ...] oldest first; the newest is ``version``.
    versions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    announced_on: Mapped[date | None] = mapped_column(Date, index=True)
    comments: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    report_no: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(String(255))
    code_url: Mapped[str | None] = mapped_column(String(500))
    project_url: Mapped[str | None] = mapped_column(String(500))
    github_stars: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(32))
    upvote_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # hf.co's own figures for the paper, as its Daily Papers answer gave them (the mirror, an imported file); never
    # added to this instance's ``upvote_count``/``comment_count``: pages show the two side by side.
    hf_upvotes: Mapped[int | None] = mapped_column(Integer)
    hf_comments: Mapped[int | None] = mapped_column(Integer)
    # hf.co's machine-written summary and keywords, shown attributed to hf.co; never mixed into ``abstract``.
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[str] | None] = mapped_column(JsonType)
    # Completing thin records from the arXiv API (services/enrichment.py): "wanted" while abstract, authors or
    # categories are missing, "missing" once arXiv said it has no such id (never asked again), None when complete.
    enrichment: Mapped[str | None] = mapped_column(String(16), index=True)
    enrichment_tried_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Derived by the upsert and by featuring (services/papers.py), filled for older rows by migration 0014.
    # The effective date (``arxiv_ids.effective_date``): the listing day, else the first version's, else the
    # featured day, else the id's month; what every sort, filter, alert, feed and citation year reads.
    published_on: Mapped[date | None] = mapped_column(Date)
    # The title's and its coined name's words as known-item search compares them (``search/titles.py``). Byte
    # order on PostgreSQL, so that "starts with these words" is a range of the index.
    title_key: Mapped[str | None] = mapped_column(_BYTEWISE, index=True)
    name_key: Mapped[str | None] = mapped_column(Text, index=True)
    # How many other papers, none older, mention the coined name in their title or abstract (``search/titles.py``):
    # the in-corpus citation count of known-item search's prior. Kept by the upsert, filled by migration 0018.
    name_mentions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PaperCategory(Base):
    """One row per (paper, category), so category filters use an index instead of scanning JSON."""

    __tablename__ = "paper_categories"
    __table_args__ = (Index("ix_paper_categories_category_paper", "category", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class PaperAuthor(Base):
    """A paper's authors by name key (``people.author_key``), in order: what ``/authors/{key}`` looks up. Kept by
    the paper upsert; ``name`` is the spelling of that paper."""

    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_key: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(300))


class FeaturedPaper(Base):
    """A paper on the Daily Papers list of one day; a paper is featured at most once, as on hf.co."""

    __tablename__ = "featured_papers"
    __table_args__ = (Index("ix_featured_papers_featured_on", "featured_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), unique=True)
    featured_on: Mapped[date] = mapped_column(Date)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (Index("ix_votes_paper_created", "paper_id", "created_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaperEmbedding(Base):
    """A paper's vector, the model that made it and hashes of what it was made from.

    ``text_hash`` is the embedded text's hash: a re-ingest that leaves title and abstract alone never re-embeds.
    A changed paper gets a new row (delete, insert) so ``id`` only grows, which lets a file index next to SQLite
    catch up by reading ids above the last one it holds.
    """

    __tablename__ = "paper_embeddings"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), unique=True)
    model: Mapped[str] = mapped_column(String(200))
    text_hash: Mapped[str] = mapped_column(String(32))
    paper_hash: Mapped[str] = mapped_column(String(32))
    vector: Mapped[np.ndarray] = mapped_column(VectorType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
