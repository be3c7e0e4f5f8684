"""Emergence (issue 31, ``services/emergence.py``): the Poisson test of "your saved search is accelerating" at its
threshold, the emerging-topic statistic, and the two digest section builders' outputs (papers, each with a
one-line reason) over real searches and stored topics. Their mail: tests/test_digests_field.py."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, Topic, TopicPaper, TopicWeek
from papertide.search.engine import SearchEngine
from papertide.services.emergence import (
    ACCELERATING_P,
    accelerating,
    accelerating_searches_section,
    emerging_topics_section,
    growth,
    jump_p_value,
)
from papertide.services.papers import feature_papers, upsert_papers
from tests.helpers.factories import make_featured_record, make_paper_record

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
END = date(2026, 6, 28)  # a Sunday: the weekly digest of 2026-W26
THIS_WEEK = date(2026, 6, 22)


def test_the_poisson_test_at_its_threshold() -> None:
    # P(X >= k) for X ~ Poisson(1): 4 papers against a mean of 1 is p = 0.019, 5 is p = 0.0037.
    assert jump_p_value(4, 1.0) == pytest.approx(1 - sum(math.exp(-1) / math.factorial(k) for k in range(4)))
    assert jump_p_value(4, 1.0) > ACCELERATING_P > jump_p_value(5, 1.0)
    assert not accelerating(4, 1.0) and accelerating(5, 1.0)
    assert not accelerating(2, 0.0) and accelerating(3, 0.0)  # at least MIN_JUMP papers, however quiet before
    assert jump_p_value(0, 3.0) == 1.0
    # growth: 4 weeks of 10 against 12 weeks of 2 a week: (40 - 8) / sqrt(9) = 10.667
    weekly = {THIS_WEEK - timedelta(weeks=n): 10 if n < 4 else 2 for n in range(16)}
    assert growth(weekly, THIS_WEEK) == pytest.approx(32 / 3, abs=1e-3)
    assert growth({}, THIS_WEEK) == 0.0


@SQLITE
def test_accelerating_saved_searches_name_their_papers_and_the_jump(settings: Settings, db: Database) -> None:
    records = [  # "retrieval": one paper a week for 12 weeks, then 5 this week; "parsing": one a week throughout
        make_paper_record(title=f"{word} study {n}", announced_on=THIS_WEEK - timedelta(weeks=week, days=-1))
        for word, weeks in (("Retrieval", range(1, 13)), ("Parsing", range(13)))
        for n, week in enumerate(weeks)
    ]
    records += [
        make_paper_record(title=f"Retrieval burst {n}", announced_on=THIS_WEEK + timedelta(days=n)) for n in range(5)
    ]
    with db.write_session() as session:
        upsert_papers(session, records)
    engine = SearchEngine.of(settings)
    with db.read_session() as session:
        section = accelerating_searches_section(session, engine, END, ["retrieval", "parsing", "retrieval"], limit=10)
    titles = sorted(row.title for row in section.papers)
    assert titles == [
        "Retrieval burst 0",
        "Retrieval burst 1",
        "Retrieval burst 2",
        "Retrieval burst 3",
        "Retrieval burst 4",
    ]
    reason = section.reasons[section.papers[0].id]
    assert reason.startswith("your saved search “retrieval” is accelerating: 5 papers this week against 1.0 a week")
    assert "Poisson p = 0.004" in reason


@SQLITE
def test_emerging_topics_bring_their_best_recent_paper(db: Database) -> None:
    records = [
        make_featured_record(paper=make_paper_record(title=title, announced_on=day), featured_on=day, upvotes=upvotes)
        for title, day, upvotes in (
            ("Old but loved", THIS_WEEK - timedelta(weeks=8), 90),
            ("Fresh and good", THIS_WEEK - timedelta(weeks=1), 12),
            ("Fresh and quiet", THIS_WEEK, 1),
            ("Steady topic paper", THIS_WEEK, 50),
        )
    ]
    with db.write_session() as session:
        feature_papers(session, records)
        ids = {paper.title: paper.id for paper in session.query(Paper)}
        rising = Topic(
            slug="state-space-models", label="state space models", words=[], size=3, growth=10.7, centroid=b""
        )
        steady = Topic(slug="parsing", label="parsing", words=[], size=1, growth=0.4, centroid=b"")
        session.add_all([rising, steady])
        session.flush()
        for title, topic in (
            ("Old but loved", rising),
            ("Fresh and good", rising),
            ("Fresh and quiet", rising),
            ("Steady topic paper", steady),
        ):
            session.add(TopicPaper(paper_id=ids[title], topic_id=topic.id, x=0.5, y=0.5))
        for n in range(16):
            session.add(
                TopicWeek(topic_id=rising.id, week=THIS_WEEK - timedelta(weeks=n), papers=10 if n < 4 else 2, upvotes=0)
            )
    with db.read_session() as session:
        section = emerging_topics_section(session, END, followed_topics=["state-space-models"])
    assert [row.title for row in section.papers] == ["Fresh and good"]
    assert section.reasons[ids["Fresh and good"]] == (
        "from “state space models”, a topic you follow, emerging: 40 papers in the last 4 weeks against 8.0 "
        "expected from its own history"
    )
