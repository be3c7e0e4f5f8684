"""The SQLAlchemy tables of papertide: papers and their versions, the community around them, subscriptions.

One metadata object serves SQLite and PostgreSQL; Alembic migrations in ``migrations/`` create it. Counters that
list pages read on every request (``upvote_count``, ``comment_count``) live on ``papers`` and are changed only by
the services that change their sources, in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")
# The dimension of the stored vectors; pgvector's HNSW index needs it fixed (a model of another size needs a migration).
VECTOR_DIMENSIONS = 384


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and come back timezone-aware on SQLite too (it has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class VectorType(TypeDecorator[np.ndarray]):
    """A float32 vector: pgvector's ``vector`` on PostgreSQL (searched by its HNSW index), raw bytes on SQLite."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(VECTOR(VECTOR_DIMENSIONS))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: np.ndarray | None, dialect: Any) -> Any:
        if value is None:
            return None
        vector = np.asarray(value, dtype=np.float32)
        return vector if dialect.name == "postgresql" else vector.tobytes()

    def process_result_value(self, value: Any, dialect: Any) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, bytes | memoryview):
            return np.frombuffer(value, dtype=np.float32)
        return np.asarray(value, dtype=np.float32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Paper(Base):
    __tablename__ = "papers"
    # Every search checks its candidates are visible: with the id beside the flag, the index alone answers it.
    __table_args__ = (Index("ix_papers_hidden_id", "hidden", "id"),)

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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    # None for accounts known only from an imported Daily Papers export: they cannot log in until claimed.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    fullname: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    orcid: Mapped[str | None] = mapped_column(String(19))  # 0000-0002-1825-0097, checksum checked (people.py)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OrganizationMember(Base):
    __tablename__ = "organization_members"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


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


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("owner_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CollectionItem(Base):
    __tablename__ = "collection_items"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Subscription(Base):
    """A digest subscription: an address (optionally an account), its cadence and what it wants to read."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cadence: Mapped[str] = mapped_column(String(16), default="daily")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # {"trending": bool, "categories": [...], "organizations": [...], "authors": [...], "personal": bool}
    preferences: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


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


class AlertDelivery(Base):
    """Which papers a saved search's digest section has carried to a subscription, so none comes twice.

    Written in the transaction that claims the digest's ledger row (``digest_deliveries``), tagged with its
    period: a rerun of that period carries the same papers again, a later period only papers not yet carried."""

    __tablename__ = "alert_deliveries"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True)
    search_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the query text
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IngestCheckpoint(Base):
    """How far a resumable ingest got: the last committed line of a snapshot file, an OAI resumption token."""

    __tablename__ = "ingest_checkpoints"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    position: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SourceState(Base):
    """How each automatic source last fared (``services/source_status.py``): "harvest" (followed arXiv categories),
    "hf_mirror" (the Daily Papers mirror), "enrichment" (thin records completed from the arXiv API).

    ``cursor`` is where the next run starts: the harvest's last successful OAI datestamp, the mirror's last day.
    ``last_error``/``last_error_at`` stay after a later success, so a source that failed yesterday still says so.
    """

    __tablename__ = "source_states"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_result: Mapped[str | None] = mapped_column(String(16))  # added, updated, unchanged, failed
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed runs
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RateLimitHit(Base):
    """Sliding-window rate-limit counters, one row per key and bucket (``window_start`` is the bucket's start), in the
    database so every web process shares them."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


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


class JobLease(Base):
    """Who runs a periodic job now: several web processes share a database, one of them does the work."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Job(Base):
    """One unit of background work in the queue (``jobs/queue.py``): a task name and its JSON arguments.

    ``status``: ``queued`` (waiting for ``run_after``), ``running`` (claimed by ``locked_by`` until
    ``locked_until``; a claim that lapses is taken again, so a killed worker's job is finished by another),
    ``done``, ``failed`` (its attempts ran out; ``last_error`` says why). ``dedupe_key`` makes enqueueing the same
    scheduled work twice (two schedulers, a retried tick) a no-op.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DigestDelivery(Base):
    """The delivery ledger: one row per subscription and digest period, claimed before the mail is sent.

    ``status``: ``sending`` (claimed; the mail may be on its way), ``sent``, ``failed`` (permanent SMTP refusal),
    ``retry`` (transient failures outlasted the run's retries), ``skipped`` (nothing to send this period),
    ``in_doubt`` (its run died mid-send; never resent). The unique key is what makes a digest go out at most once
    per period however many runs overlap or repeat.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period"),
        Index("ix_digest_deliveries_period_status", "period", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(32))  # daily:2026-11-27, weekly:2026-W48
    status: Mapped[str] = mapped_column(String(16), default="sending")
    message_id: Mapped[str] = mapped_column(String(255))
    papers: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AccessToken(Base):
    """A token a user holds: ``feed`` (the private personal feed URL), ``read`` or ``write`` (the API).

    Only the SHA-256 of the secret is stored. Feed tokens were a table of their own until migration 0010."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))  # "feed", "read" or "write"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserSession(Base):
    """A signed-in browser: the session cookie names it, so logging out or an admin can end it for good.

    Only the SHA-256 of the cookie's secret is stored; a row past ``expires_at`` or with ``ended_at`` opens
    nothing."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
