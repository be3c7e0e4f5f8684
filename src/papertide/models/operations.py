"""The machinery: the job queue and its leases, ingest checkpoints, automatic sources' states, rate-limit hits, and
the moderation log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from papertide.models.base import Base, JsonType, UtcDateTime, utcnow


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


class ModerationAction(Base):
    """One thing an administrator did (``services/moderation.py``): who, when, what to which target. The desk shows
    who hid a paper or comment and when from here, so the flags on papers and comments need no columns of their own.

    ``action`` is one of ``MODERATION_ACTIONS``; ``target`` is an arXiv id, a comment's id or a username.
    ``actor_id`` outlives its account as NULL ("a deleted account"), so the log keeps what was done.
    """

    __tablename__ = "moderation_actions"
    __table_args__ = (Index("ix_moderation_actions_target", "action", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
