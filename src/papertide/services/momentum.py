"""Upvote history: what each figure gained on each day (``vote_days``), written where the figures change.

This instance's votes are recorded by :func:`record_local_vote`, called by ``services/votes.set_vote`` in the
vote's own transaction (+1 when a vote is cast, -1 when one is taken back). hf.co's counts are recorded at each
mirror run by :func:`record_hf_moves` around ``feature_papers`` (``services/mirror.py``): the difference from the
count stored before the run, on the run's day; a count seen for the first time is credited to the day the paper
was featured, so a backfill of old days does not make old papers look as if they rose today. Sparklines and
"rising fastest" (``queries/momentum.py``, docs/ranking.md) read these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.models import Paper, VoteDay, utcnow


def record_local_vote(session: Session, paper_id: int, change: int, day: date | None = None) -> None:
    """Add ``change`` (+1 or -1) to the paper's local gain of ``day`` (today, UTC)."""
    _add(session, paper_id, day or utcnow().date(), "local", change)


def hf_counts(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int | None]:
    """hf.co's stored upvote count of each paper known by these arXiv ids (None: never seen on hf.co)."""
    if not arxiv_ids:
        return {}
    rows = session.execute(select(Paper.arxiv_id, Paper.hf_upvotes).where(Paper.arxiv_id.in_(list(arxiv_ids))))
    return {arxiv_id: upvotes for arxiv_id, upvotes in rows}


def record_hf_moves(
    session: Session, before: dict[str, int | None], arxiv_ids: Sequence[str], featured_on: date, today: date
) -> int:
    """Record how hf.co's counts of ``arxiv_ids`` moved since ``before`` (``hf_counts`` taken before the run
    wrote them); how many papers moved."""
    after = session.execute(
        select(Paper.id, Paper.arxiv_id, Paper.hf_upvotes).where(Paper.arxiv_id.in_(list(arxiv_ids)))
    ).all()
    moved = 0
    for paper_id, arxiv_id, upvotes in after:
        if upvotes is None:
            continue
        earlier = before.get(arxiv_id)
        change = upvotes - (earlier or 0)
        if change:
            _add(session, paper_id, today if earlier is not None else min(featured_on, today), "hf", change)
            moved += 1
    return moved


def _add(session: Session, paper_id: int, day: date, source: str, change: int) -> None:
    # Insert the day's row if it is missing, then add: concurrent votes on one paper each add their own change.
    insert_ignoring_conflicts(session, VoteDay, {"paper_id": paper_id, "day": day, "source": source, "gained": 0})
    session.execute(
        update(VoteDay)
        .where(VoteDay.paper_id == paper_id, VoteDay.day == day, VoteDay.source == source)
        .values(gained=VoteDay.gained + change)
    )
