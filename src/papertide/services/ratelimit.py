"""Rate limits on writes and on failed log-ins: fixed-window counters kept in the database, so every web process
shares them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from papertide.models import RateLimitHit


class RateLimited(Exception):
    """Over a limit; ``retry_after`` seconds until the next try counts (the web answers 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; try again in {retry_after} s.")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: int


def hit(session: Session, key: str, *, limit: int, window_seconds: int, now: float | None = None) -> RateDecision:
    """Count one hit against ``key``; refuse once ``limit`` hits fell in the current window."""
    moment = time.time() if now is None else now
    window = int(moment // window_seconds) * window_seconds
    insert_for = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = (
        insert_for(RateLimitHit)
        .values(key=key[:200], window_start=window, count=1)
        .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": RateLimitHit.count + 1})
        .returning(RateLimitHit.count)
    )
    count = session.execute(statement).scalar_one()
    session.execute(delete(RateLimitHit).where(RateLimitHit.key == key[:200], RateLimitHit.window_start < window))
    retry_after = max(1, int(window + window_seconds - moment))
    return RateDecision(allowed=count <= limit, retry_after=retry_after)


def enforce(session: Session, key: str, *, limit: int, window_seconds: int = 60) -> None:
    """Count one hit against ``key``, or raise :class:`RateLimited` when it is over ``limit``."""
    decision = hit(session, key, limit=limit, window_seconds=window_seconds)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def wait_before(session: Session, key: str, *, limit: int, window_seconds: int, now: float | None = None) -> int:
    """Seconds until ``key`` may be tried again (0 now) without counting a hit: for limits on failures only."""
    moment = time.time() if now is None else now
    window = int(moment // window_seconds) * window_seconds
    count = session.execute(
        select(RateLimitHit.count).where(RateLimitHit.key == key[:200], RateLimitHit.window_start == window)
    ).scalar()
    return max(1, int(window + window_seconds - moment)) if (count or 0) >= limit else 0


def forget(session: Session, key: str) -> None:
    session.execute(delete(RateLimitHit).where(RateLimitHit.key == key[:200]))
