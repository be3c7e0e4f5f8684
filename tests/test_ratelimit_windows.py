"""Rate limits hold over any span of their window, not per clock window: the edge of a window lets nothing extra
through, and the wait they answer is the real one."""

from __future__ import annotations

from papertide.db import Database
from papertide.services.ratelimit import hit, wait_before

WINDOW = 300
LIMIT = 10


def test_failures_across_a_clock_boundary_still_count(db: Database) -> None:
    edge = 1_800_000_000 - 1_800_000_000 % WINDOW  # a multiple of the window: where a fixed window would reset
    with db.write_session() as session:
        for second in range(LIMIT):
            hit(session, "k", limit=LIMIT, window_seconds=WINDOW, now=edge - 5 + second)
        assert wait_before(session, "k", limit=LIMIT, window_seconds=WINDOW, now=edge + 5) > 0
        assert wait_before(session, "k", limit=LIMIT - 1, window_seconds=WINDOW, now=edge + 5) > 0


def test_the_answered_wait_is_when_the_oldest_hits_leave(db: Database) -> None:
    start = 1_800_000_000
    with db.write_session() as session:
        for offset in (0, 0, 0, 100, 100, 100, 200, 200, 200, 200):
            hit(session, "k", limit=LIMIT, window_seconds=WINDOW, now=start + offset)
        wait = wait_before(session, "k", limit=LIMIT, window_seconds=WINDOW, now=start + 250)
        assert wait == 50  # the three hits at 0 leave at 300, and seven are fewer than ten
        assert wait_before(session, "k", limit=LIMIT, window_seconds=WINDOW, now=start + 250 + wait) == 0
        assert wait_before(session, "k", limit=LIMIT, window_seconds=WINDOW, now=start + 250 + wait - 1) > 0


def test_hits_over_the_limit_are_refused_until_the_window_slides(db: Database) -> None:
    start = 1_800_000_000
    with db.write_session() as session:
        decisions = [hit(session, "w", limit=3, window_seconds=60, now=start + second) for second in range(5)]
        assert [decision.allowed for decision in decisions] == [True, True, True, False, False]
        assert 0 < decisions[-1].retry_after <= 60
        assert not hit(session, "w", limit=3, window_seconds=60, now=start + 30).allowed
        assert hit(session, "other", limit=3, window_seconds=60, now=start + 30).allowed
        assert hit(session, "w", limit=3, window_seconds=60, now=start + 120).allowed
