"""Reads of upvote history (``vote_days``, written by ``services/momentum.py``): a paper's daily gains for its
sparkline, and the papers rising fastest for the trending page. Both read a range of days by index
(``pk_vote_days`` by paper, ``ix_vote_days_day_paper`` by day), never the votes themselves.

**Rising fastest** (docs/ranking.md): both figures' upvotes gained in the last ``RECENT_DAYS`` days (today
included) against the paper's own pace over the ``BEFORE_DAYS`` days before them,

    rise = recent − before × RECENT_DAYS / BEFORE_DAYS

so a paper that was already popular must speed up to rise, and a new paper's first votes count in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from papertide.models import Paper, VoteDay
from papertide.queries.papers import PaperRow, query_papers_by_ids

RECENT_DAYS = 3
BEFORE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Rise:
    row: PaperRow
    recent: int  # upvotes gained in the last RECENT_DAYS days
    before: int  # upvotes gained in the BEFORE_DAYS days before

    @property
    def reason(self) -> str:
        pace = self.before / BEFORE_DAYS
        return f"+{self.recent} upvotes in {RECENT_DAYS} days (before: {pace:.1f} a day)"


def query_daily_gains(session: Session, paper_id: int, first: date, last: date) -> list[int]:
    """Upvotes (both figures) the paper gained on each day from ``first`` to ``last``, zeros included."""
    rows = session.execute(
        select(VoteDay.day, func.sum(VoteDay.gained))
        .where(VoteDay.paper_id == paper_id, VoteDay.day >= first, VoteDay.day <= last)
        .group_by(VoteDay.day)
    )
    gained = {day: int(total) for day, total in rows}
    return [gained.get(first + timedelta(days=n), 0) for n in range((last - first).days + 1)]


def query_rising(session: Session, today: date, limit: int) -> list[Rise]:
    """The visible papers whose rise is largest (and above zero) as of ``today``, largest first."""
    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    recent = func.sum(case((VoteDay.day >= recent_start, VoteDay.gained), else_=0))
    before = func.sum(case((VoteDay.day < recent_start, VoteDay.gained), else_=0))
    rise = recent - before * RECENT_DAYS / BEFORE_DAYS
    rows = session.execute(
        select(VoteDay.paper_id, recent, before)
        .join(Paper, Paper.id == VoteDay.paper_id)
        .where(VoteDay.day >= recent_start - timedelta(days=BEFORE_DAYS), VoteDay.day <= today)
        .where(Paper.hidden.is_(False))
        .group_by(VoteDay.paper_id)
        .having(rise > 0)
        .order_by(rise.desc(), VoteDay.paper_id)
        .limit(limit)
    ).all()
    papers = {row.id: row for row in query_papers_by_ids(session, [paper_id for paper_id, _, _ in rows])}
    return [Rise(papers[paper_id], int(up), int(down)) for paper_id, up, down in rows if paper_id in papers]
