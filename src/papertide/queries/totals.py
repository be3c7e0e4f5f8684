"""Counts of what the instance holds: for the demo's summary and for monitoring (``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from papertide.models import (
    DigestDelivery,
    FeaturedPaper,
    Paper,
    PaperEmbedding,
    Subscription,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class Totals:
    papers: int
    featured: int
    featured_days: int


def query_totals(session: Session) -> Totals:
    papers = session.execute(select(func.count()).select_from(Paper)).scalar_one()
    featured = session.execute(select(func.count()).select_from(FeaturedPaper)).scalar_one()
    days = session.execute(select(func.count(func.distinct(FeaturedPaper.featured_on)))).scalar_one()
    return Totals(papers=papers, featured=featured, featured_days=days)


@dataclass(frozen=True, slots=True)
class InstanceCounts:
    """What the instance holds, for monitoring: papers (all, changed in the last day, with a vector, featured),
    and digest deliveries and subscriptions per status (in status order)."""

    papers: int
    papers_changed_last_day: int
    papers_embedded: int
    papers_featured: int
    digest_deliveries: dict[str, int]
    subscriptions: dict[str, int]


def query_instance_counts(session: Session) -> InstanceCounts:
    def count(statement: Select[Any]) -> int:
        return session.scalar(statement) or 0

    def by_status(column: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).group_by(column).order_by(column))
        return {status: total for status, total in rows}

    return InstanceCounts(
        papers=count(select(func.count()).select_from(Paper)),
        papers_changed_last_day=count(select(func.count()).where(Paper.modified_at > utcnow() - timedelta(days=1))),
        papers_embedded=count(select(func.count()).select_from(PaperEmbedding)),
        papers_featured=count(select(func.count()).select_from(FeaturedPaper)),
        digest_deliveries=by_status(DigestDelivery.status),
        subscriptions=by_status(Subscription.status),
    )
