"""Digests: subscriptions, the exactly-once delivery ledger and the papers saved-search alerts carried."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from papertide.models.base import Base, JsonType, UtcDateTime, utcnow


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
