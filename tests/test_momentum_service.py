"""Momentum (issue 31): votes keep their history (this instance's votes by the day they were cast or taken back,
hf.co's counts as each mirror run saw them move), the sparkline draws it, and the trending page's "rising
fastest" ranks by the documented formula (docs/ranking.md), on both databases where the writes differ."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.db import Database
from papertide.models import Paper, User, VoteDay
from papertide.queries.momentum import query_daily_gains, query_rising
from papertide.services.momentum import hf_counts, record_hf_moves
from papertide.services.papers import feature_papers, upsert_papers
from papertide.services.votes import set_vote
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.web import sign_up

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FEATURED = date(2026, 7, 9)


def history(db: Database, paper_id: int, source: str) -> dict[date, int]:
    with db.read_session() as session:
        rows = session.execute(
            select(VoteDay.day, VoteDay.gained).where(VoteDay.paper_id == paper_id, VoteDay.source == source)
        )
        return {day: gained for day, gained in rows}


def test_votes_and_mirror_runs_are_recorded_by_day(db: Database, client: TestClient) -> None:
    sign_up(client, "ada")
    sign_up(client, "bob")
    record = make_featured_record(featured_on=FEATURED, upvotes=5)
    arxiv_id = record.paper.arxiv_id
    for upvotes, today in ((5, date(2026, 7, 20)), (9, date(2026, 7, 21)), (9, date(2026, 7, 22))):
        with db.write_session() as session:  # three mirror runs, as services/mirror.py wraps feature_papers
            before = hf_counts(session, [arxiv_id])
            feature_papers(session, [replace(record, upvotes=upvotes)])
            record_hf_moves(session, before, [arxiv_id], featured_on=FEATURED, today=today)
    with db.write_session() as session:
        paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id))
        users = dict(session.execute(select(User.username, User.id)).all())
        set_vote(session, users["ada"], paper_id, up=True)
        set_vote(session, users["ada"], paper_id, up=True)  # the same state again: no second vote in history
        set_vote(session, users["bob"], paper_id, up=True)
        set_vote(session, users["bob"], paper_id, up=False)
        set_vote(session, users["bob"], paper_id, up=False)
    assert history(db, paper_id, "hf") == {FEATURED: 5, date(2026, 7, 21): 4}  # first seen: its featured day
    today = datetime.now(UTC).date()
    assert history(db, paper_id, "local") == {today: 1}
    with db.read_session() as session:
        assert query_daily_gains(session, paper_id, today - timedelta(days=2), today) == [0, 0, 1]
    svg = client.get(f"/papers/{arxiv_id}/momentum.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<title>+1 upvotes in the last 30 days</title>" in svg.text and "<polyline" in svg.text


@SQLITE
def test_rising_fastest_is_recent_gain_against_the_papers_own_pace(db: Database, client: TestClient) -> None:
    today = datetime.now(UTC).date()
    records = [make_paper_record(title=title) for title in ("New and rising", "Popular but slowing", "Steady")]
    with db.write_session() as session:
        upsert_papers(session, records)
        ids = [session.scalar(select(Paper.id).where(Paper.arxiv_id == r.arxiv_id)) for r in records]
        gains = {
            ids[0]: [(0, 6), (2, 4)],  # 10 in 3 days, nothing before: rise 10
            ids[1]: [(0, 10), (5, 70)],  # 10 in 3 days, 70 in the 7 before: rise 10 - 30 < 0, not rising
            ids[2]: [(1, 3), (4, 7)],  # 3 in 3 days, 7 before: rise exactly 0, not rising
        }
        for paper_id, days in gains.items():
            for ago, gained in days:
                session.add(VoteDay(paper_id=paper_id, day=today - timedelta(days=ago), source="hf", gained=gained))
        session.add(VoteDay(paper_id=ids[2], day=today - timedelta(days=10), source="hf", gained=500))  # too old
    with db.read_session() as session:
        rising = query_rising(session, today, 5)
    assert [(rise.row.title, rise.recent, rise.before) for rise in rising] == [("New and rising", 10, 0)]
    assert rising[0].reason == "+10 upvotes in 3 days (before: 0.0 a day)"
    page = client.get("/papers/trending").text
    assert "Rising fastest" in page and "New and rising" in page.split("Rising fastest", 1)[1]
