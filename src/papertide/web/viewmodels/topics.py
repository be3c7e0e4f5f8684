"""The topic atlas's page builders: ``/topics`` (the map as server-drawn SVG, which ``static/topics.js`` makes
zoomable and searchable, and the topics listed with label, size and growth; a signed-in reader's upvoted and
collected papers marked on it) and ``/topics/{slug}`` (its papers ranked, its weekly chart, its history and its
neighbours), with their JSON twins in the shapes docs/trends-and-topics.md gives. Everything is read from what the
newest ``papertide topics build`` stored (``queries/topics.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from papertide.errors import NotFound
from papertide.queries.follows import query_is_following
from papertide.queries.papers import PaperRow, query_votes_of
from papertide.queries.topics import (
    TopicEventRow,
    TopicRow,
    query_marks,
    query_neighbours,
    query_topic,
    query_topic_events,
    query_topic_papers,
    query_topic_weeks,
    query_topics,
)
from papertide.services.accounts import Identity
from papertide.services.follows import live_topics
from papertide.services.trends import monday_of, week_label
from papertide.web.viewmodels.cards import Card, card
from papertide.web.viewmodels.trends import Chart, line_chart

MAP_SIZE = 1000  # the SVG's square viewBox; topics' places (0..1) scale to it
TOPIC_PAPERS = 30
CHART_WEEKS = 26


class TopicNotFound(NotFound):
    """No topic by that name: never built, or a slug mistyped."""


@dataclass(frozen=True, slots=True)
class Bubble:
    slug: str
    label: str
    size: int
    growth: float
    cx: float
    cy: float
    r: float
    rising: bool  # growth of at least 3 (services/emergence.py): drawn in the accent colour


@dataclass(frozen=True, slots=True)
class Mark:
    kind: str  # "upvoted" | "collected"
    arxiv_id: str
    cx: float
    cy: float


@dataclass(frozen=True, slots=True)
class TopicsPage:
    size: int
    bubbles: list[Bubble]
    marks: list[Mark]


@dataclass(frozen=True, slots=True)
class TopicPage:
    topic: TopicRow
    cards: list[Card]
    papers: list[PaperRow]
    chart: Chart
    events: list[TopicEventRow]
    neighbours: list[TopicRow]
    feed_path: str
    following: bool  # the signed-in reader follows it
    lives_on: list[TopicRow]  # where a merged or split topic went (itself while live)


def topics_page(session: Session, viewer: Identity | None) -> TopicsPage:
    topics = query_topics(session)
    largest = max((t.size for t in topics), default=1)
    bubbles = [
        Bubble(
            t.slug,
            t.label,
            t.size,
            t.growth,
            round(t.x * MAP_SIZE, 1),
            round(t.y * MAP_SIZE, 1),
            round(8 + 52 * math.sqrt(t.size / largest), 1),
            t.growth >= 3.0,
        )
        for t in topics
    ]
    marks = [
        Mark(kind, point.arxiv_id, round(point.x * MAP_SIZE, 1), round(point.y * MAP_SIZE, 1))
        for kind, point in (query_marks(session, viewer.id) if viewer else [])
    ]
    return TopicsPage(MAP_SIZE, sorted(bubbles, key=lambda b: -b.size), marks)


def topics_json(page: TopicsPage) -> dict[str, object]:
    """``/topics.json``: ``{"topics": [{"slug", "label", "size", "growth", "x", "y"}]}``, x and y in 0..1."""
    return {
        "topics": [
            {
                "slug": b.slug,
                "label": b.label,
                "size": b.size,
                "growth": b.growth,
                "x": round(b.cx / MAP_SIZE, 4),
                "y": round(b.cy / MAP_SIZE, 4),
            }
            for b in page.bubbles
        ]
    }


def topic_page(session: Session, slug: str, viewer: Identity | None, today: date) -> TopicPage:
    topic = query_topic(session, slug)
    if topic is None:
        raise TopicNotFound(f"No topic called “{slug[:80]}”: the atlas at /topics lists them all.")
    papers = query_topic_papers(session, topic.id, TOPIC_PAPERS)
    voted = query_votes_of(session, viewer.id if viewer else None, [p.id for p in papers])
    last = monday_of(today)
    first = last - timedelta(weeks=CHART_WEEKS - 1)
    counted = {row.week: row for row in query_topic_weeks(session, topic.id, first, last)}
    mondays = [first + timedelta(weeks=n) for n in range(CHART_WEEKS)]
    chart = line_chart(
        "Papers per week",
        [week_label(m) for m in mondays],
        [(topic.label, [counted[m].papers if m in counted else 0 for m in mondays])],
    )
    return TopicPage(
        topic=topic,
        cards=[card(p, voted) for p in papers],
        papers=papers,
        chart=chart,
        events=query_topic_events(session, topic.id),
        neighbours=query_neighbours(session, topic.id),
        feed_path=f"/topics/{topic.slug}",
        following=query_is_following(session, viewer.id if viewer else None, "topic", topic.slug),
        lives_on=live_topics(session, topic.slug),
    )


def topic_json(page: TopicPage, base_url: str) -> dict[str, object]:
    """``/topics/{slug}.json``: the topic as on ``/topics.json``, its weekly chart's counts and its papers."""
    t = page.topic
    return {
        "topic": {"slug": t.slug, "label": t.label, "size": t.size, "growth": t.growth, "x": t.x, "y": t.y},
        "words": t.words,
        "neighbours": [n.slug for n in page.neighbours],
        "events": [
            {"week": e.week.isoformat(), "kind": e.kind, "others": e.others, "size": e.size} for e in page.events
        ],
        "papers": [
            {"arxiv_id": p.arxiv_id, "title": p.title, "url": f"{base_url}/papers/{p.arxiv_id}"} for p in page.papers
        ],
    }
