"""Upvotes: one per user and paper, set idempotently so double clicks and retries never count twice.

:func:`vote` is what the page's button and the API both call: the rate limit and the vote in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.models import Paper, Vote, utcnow
from papertide.services.momentum import record_local_vote
from papertide.services.papers import refresh_counters
from papertide.services.ratelimit import enforce


@dataclass(frozen=True, slots=True)
class VoteState:
    voted: bool
    upvotes: int


def set_vote(session: Session, user_id: int, paper_id: int, *, up: bool) -> VoteState:
    """Make the user's vote on the paper ``up`` (or absent); the request says the state, not 'toggle'."""
    if up:
        changed = insert_ignoring_conflicts(
            session,
            Vote,
            {"user_id": user_id, "paper_id": paper_id, "created_at": utcnow()},
        )
    else:
        taken_back = delete(Vote).where(Vote.user_id == user_id, Vote.paper_id == paper_id).returning(Vote.paper_id)
        changed = session.execute(taken_back).first() is not None
    if changed:  # the vote's history (services/momentum.py): only a vote cast or taken back moves it
        record_local_vote(session, paper_id, 1 if up else -1)
    refresh_counters(session, [paper_id])
    upvotes = session.execute(select(Paper.upvote_count).where(Paper.id == paper_id)).scalar_one()
    return VoteState(voted=up, upvotes=upvotes)


def vote(session: Session, user_id: int, paper_id: int, *, up: bool, per_minute: int) -> VoteState:
    """Count the vote against the user's limit (:class:`~papertide.services.ratelimit.RateLimited` when over),
    then set it."""
    enforce(session, f"vote:{user_id}", limit=per_minute)
    return set_vote(session, user_id, paper_id, up=up)
