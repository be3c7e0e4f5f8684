"""Rate limits on writes, on failed log-ins and on mail to one address: sliding-window counters kept in the database,
so every web process shares them.

Mail is limited per recipient, whoever asks (:func:`count_mail_to`): a reset request, a subscription, a sign-up or
an address change naming an address each count against that address's mails of the day, counted before anything
is looked up, so the limit answers the same whether or not an account uses the address. The address is folded as
accounts fold it (case), and a ``+tag`` does not make it another recipient: ``ada+1@example.org`` and
``ADA+2@example.org`` reach one mailbox.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.models import RateLimitHit


class RateLimited(Exception):
    """Over a limit; ``retry_after`` seconds until the next try counts (the web answers 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests; try again in {retry_after} s.")
        self.retry_after = retry_after


class MailLimited(RateLimited):
    """Too many mails went to one address today; nothing more is sent to it until ``retry_after`` seconds pass."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        hours = max(1, round(retry_after / 3600))
        self.args = (f"Too many mails went to that address today; try again in about {hours} h.",)


MAIL_WINDOW_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: int


# A window is counted in buckets of a tenth of it, so a limit holds over any span of ``window_seconds`` (give or
# take a bucket) instead of resetting on the clock: a fixed window lets twice the limit through around its edge.
BUCKETS_PER_WINDOW = 10


def _bucket_seconds(window_seconds: int) -> int:
    return max(1, window_seconds // BUCKETS_PER_WINDOW)


def _counted(session: Session, key: str, *, window_seconds: int, moment: float) -> list[tuple[int, int]]:
    """(bucket start, hits) of the buckets that began within the last ``window_seconds``, oldest first."""
    rows = session.execute(
        select(RateLimitHit.window_start, RateLimitHit.count)
        .where(RateLimitHit.key == key[:200], RateLimitHit.window_start > moment - window_seconds)
        .order_by(RateLimitHit.window_start)
    ).all()
    return [(int(start), int(count)) for start, count in rows]


def _seconds_until_under(buckets: list[tuple[int, int]], *, limit: int, window_seconds: int, moment: float) -> int:
    """Seconds until fewer than ``limit`` hits are counted, as the oldest buckets leave the window (0 now)."""
    remaining = sum(count for _, count in buckets)
    wait = 0.0
    for start, count in buckets:
        if remaining < limit:
            break
        remaining -= count
        wait = start + window_seconds - moment
    return max(1, math.ceil(wait)) if wait > 0 else 0


def hit(session: Session, key: str, *, limit: int, window_seconds: int, now: float | None = None) -> RateDecision:
    """Count one hit against ``key``; refuse once more than ``limit`` hits fell in the last ``window_seconds``."""
    moment = time.time() if now is None else now
    bucket = _bucket_seconds(window_seconds)
    insert_for = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    session.execute(
        insert_for(RateLimitHit)
        .values(key=key[:200], window_start=int(moment // bucket) * bucket, count=1)
        .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": RateLimitHit.count + 1})
    )
    session.execute(
        delete(RateLimitHit).where(RateLimitHit.key == key[:200], RateLimitHit.window_start <= moment - window_seconds)
    )
    buckets = _counted(session, key, window_seconds=window_seconds, moment=moment)
    total = sum(count for _, count in buckets)
    retry_after = _seconds_until_under(buckets, limit=limit, window_seconds=window_seconds, moment=moment)
    return RateDecision(allowed=total <= limit, retry_after=max(1, retry_after))


def enforce(session: Session, key: str, *, limit: int, window_seconds: int = 60) -> None:
    """Count one hit against ``key``, or raise :class:`RateLimited` when it is over ``limit``."""
    decision = hit(session, key, limit=limit, window_seconds=window_seconds)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


RateKind = Literal["vote", "write", "auth", "import"]


def spend(session: Session, settings: Settings, kind: RateKind, subject: str | int) -> None:
    """Count one ``kind`` of action by ``subject`` (an account id, a client address) against its limit, raising
    :class:`RateLimited` when over: the one path of every door (web, API, MCP), so an account's writes share one
    budget wherever they come from."""
    limits = {  # (hits, window in seconds)
        "vote": (settings.rate_limit_votes_per_minute, 60),
        "write": (settings.rate_limit_writes_per_minute, 60),
        "auth": (settings.rate_limit_auth_per_minute, 60),
        # A library import may cost a second of CPU however hostile the file (services/library_files.py).
        "import": (settings.rate_limit_imports_per_hour, 3600),
    }
    limit, window = limits[kind]
    enforce(session, f"{kind}:{subject}", limit=limit, window_seconds=window)


def wait_before(session: Session, key: str, *, limit: int, window_seconds: int, now: float | None = None) -> int:
    """Seconds until ``key`` may be tried again (0 now) without counting a hit: for limits on failures only."""
    moment = time.time() if now is None else now
    buckets = _counted(session, key, window_seconds=window_seconds, moment=moment)
    return _seconds_until_under(buckets, limit=limit, window_seconds=window_seconds, moment=moment)


def count_mail_to(session: Session, address: str, *, limit: int) -> None:
    """Count one mail to ``address`` against ``limit`` a day, or raise :class:`MailLimited` when over."""
    local, _, domain = address.strip().lower().rpartition("@")
    recipient = f"{local.split('+', 1)[0]}@{domain}" if local else domain
    decision = hit(session, f"mail-to:{recipient}", limit=limit, window_seconds=MAIL_WINDOW_SECONDS)
    if not decision.allowed:
        raise MailLimited(decision.retry_after)


def forget(session: Session, key: str) -> None:
    session.execute(delete(RateLimitHit).where(RateLimitHit.key == key[:200]))
