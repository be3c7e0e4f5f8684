"""The sparkline of a paper's upvotes (``/papers/{id}/momentum.svg``, on cards and the paper page): both figures'
running total over the last ``SPARK_DAYS`` days, from the daily gains ``queries/momentum.py`` reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from papertide.queries.momentum import query_daily_gains

SPARK_DAYS = 30
SPARK_W, SPARK_H, PAD = 128, 32, 2


@dataclass(frozen=True, slots=True)
class Sparkline:
    width: int
    height: int
    points: str  # <polyline points>
    gained: int  # upvotes gained over the days drawn
    days: int

    @property
    def label(self) -> str:
        return (
            f"+{self.gained} upvotes in the last {self.days} days" if self.gained else f"no upvotes in {self.days} days"
        )


def sparkline(session: Session, paper_id: int, today: date) -> Sparkline:
    gains = query_daily_gains(session, paper_id, today - timedelta(days=SPARK_DAYS - 1), today)
    totals = [sum(gains[: n + 1]) for n in range(len(gains))]
    low, high = min(totals), max(totals)
    span = max(1, high - low)
    step = (SPARK_W - 2 * PAD) / (len(totals) - 1)
    points = " ".join(
        f"{PAD + n * step:.1f},{SPARK_H - PAD - (total - low) / span * (SPARK_H - 2 * PAD):.1f}"
        for n, total in enumerate(totals)
    )
    return Sparkline(SPARK_W, SPARK_H, points, totals[-1], SPARK_DAYS)
