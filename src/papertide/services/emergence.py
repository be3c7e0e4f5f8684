"""Emergence reaches people: the statistics that say a topic is emerging or a saved search is accelerating, and
the digest section builders that carry them (``services/digests.py``'s composer calls the builders; each returns
papers with a one-line reason, the shape of its ``Section``).

**Emerging topic** (:func:`growth`, stored on each topic by every build): the topic's papers in the last
``RECENT_WEEKS`` weeks against what its own previous ``BASE_WEEKS`` weeks lead one to expect,

    growth = (recent − expected) / √(expected + 1),   expected = RECENT_WEEKS × mean weekly papers of the base weeks

a Poisson z-score (the +1 keeps a topic with no history from dividing by zero). A topic is emerging from
``EMERGING_GROWTH`` (3: three standard deviations above its own history).

**Accelerating saved search** (:func:`jump_p_value`): the papers the search finds in the ISO week holding the
digest period's last day (a weekly digest's own week) against its mean weekly count over the ``BASE_WEEKS`` weeks
before. Under a Poisson model with that
mean, the chance of at least that many papers is P(X ≥ k); the search is accelerating when it is below
``ACCELERATING_P`` (0.01) and at least ``MIN_JUMP`` (3) papers came.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from papertide.queries.papers import PaperRow, query_papers_by_ids
from papertide.queries.topics import query_emerging_topics, query_top_papers_in, query_topic_weeks
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.query import parse_query
from papertide.services.trends import Window, monday_of, weekly_counts

RECENT_WEEKS = 4
BASE_WEEKS = 12
EMERGING_GROWTH = 3.0
ACCELERATING_P = 0.01
MIN_JUMP = 3


def recent_and_expected(weekly: Mapping[date, int], this_week: date) -> tuple[int, float]:
    """Papers of the RECENT_WEEKS weeks up to ``this_week`` (keys are Mondays), and how many the BASE_WEEKS weeks
    before them lead one to expect."""
    recent = sum(weekly.get(this_week - timedelta(weeks=n), 0) for n in range(RECENT_WEEKS))
    base_weeks = range(RECENT_WEEKS, RECENT_WEEKS + BASE_WEEKS)
    mean = sum(weekly.get(this_week - timedelta(weeks=n), 0) for n in base_weeks) / BASE_WEEKS
    return recent, RECENT_WEEKS * mean


def growth(weekly: Mapping[date, int], this_week: date) -> float:
    """The emerging-topic statistic of a topic's weekly paper counts as of ``this_week``."""
    recent, expected = recent_and_expected(weekly, this_week)
    return round((recent - expected) / math.sqrt(expected + 1.0), 3)


def jump_p_value(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean): how surprising ``count`` papers in a week are."""
    if count <= 0:
        return 1.0
    rate = max(mean, 1e-9)
    below = sum(math.exp(-rate + k * math.log(rate) - math.lgamma(k + 1)) for k in range(count))
    return max(0.0, 1.0 - below)


def accelerating(count: int, mean: float) -> bool:
    return count >= MIN_JUMP and count > mean and jump_p_value(count, mean) < ACCELERATING_P


@dataclass(slots=True)
class ReasonedPapers:
    """A digest section's content: papers, each with a one-line reason (a digest ``Section``'s papers and reasons)."""

    papers: list[PaperRow] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)


def emerging_topics_section(
    session: Session, end: date, followed_topics: Sequence[str] = (), limit: int = 5
) -> ReasonedPapers:
    """The best recent paper of each emerging topic (followed topics first, then the fastest growing), as of the
    digest period ending ``end``; its reason names the topic and its figures."""
    section = ReasonedPapers()
    this_week = monday_of(end)
    first = this_week - timedelta(weeks=RECENT_WEEKS + BASE_WEEKS)
    for topic in query_emerging_topics(session, EMERGING_GROWTH, followed_topics, limit):
        weekly = {row.week: row.papers for row in query_topic_weeks(session, topic.id, first, this_week)}
        recent, expected = recent_and_expected(weekly, this_week)
        since = this_week - timedelta(weeks=RECENT_WEEKS - 1)
        top = query_top_papers_in(session, topic.id, since, end, 1, exclude=[p.id for p in section.papers])
        if not top:
            continue
        section.papers.append(top[0])
        followed = "a topic you follow, " if topic.slug in followed_topics else ""
        section.reasons[top[0].id] = (
            f"from “{topic.label}”, {followed}emerging: {recent} papers in the last {RECENT_WEEKS} weeks "
            f"against {expected:.1f} expected from its own history"
        )
    return section


def accelerating_searches_section(
    session: Session, engine: SearchEngine, end: date, saved_searches: Sequence[str], limit: int = 5
) -> ReasonedPapers:
    """For each saved search whose count of the week holding ``end`` jumped (:func:`accelerating`), its newest
    papers of that week, each saying by how much it jumped."""
    section = ReasonedPapers()
    for q in dict.fromkeys(saved_searches):
        this_week, base = _week_and_base(session, engine, q, end)
        if not accelerating(this_week, base):
            continue
        query = parse_query(q)
        options = SearchOptions(
            after=monday_of(end), before=monday_of(end) + timedelta(days=6), sort="date", limit=limit, semantic=False
        )
        found = engine.search(session, query, options)
        rows = query_papers_by_ids(session, [r.id for r in found.rows if r.id not in section.reasons])
        for row in rows:
            section.papers.append(row)
            section.reasons[row.id] = (
                f"your saved search “{q}” is accelerating: {this_week} papers this week against "
                f"{base:.1f} a week before (Poisson p = {jump_p_value(this_week, base):.3f})"
            )
    return section


def _week_and_base(session: Session, engine: SearchEngine, q: str, end: date) -> tuple[int, float]:
    """Papers in the ISO week holding ``end`` (a weekly digest's period is that week), and the mean weekly count
    of the BASE_WEEKS weeks before it."""
    counts = weekly_counts(session, engine, q, Window(monday_of(end), BASE_WEEKS + 1)).weeks
    return counts[-1].papers, sum(w.papers for w in counts[:-1]) / BASE_WEEKS
