"""Reads of the topic atlas that the newest ``papertide topics build`` wrote (``services/topics.py``): the live
topics for the map, one topic with its weekly counts, history and neighbours, its papers ranked, a reader's own
papers on the map, and the emerging topics of the digests.

Every read is a fixed number of indexed statements; nothing here groups papers or scans ``papers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from papertide.models import (
    Collection,
    CollectionItem,
    Paper,
    Topic,
    TopicEvent,
    TopicPaper,
    TopicWeek,
    Vote,
)
from papertide.queries.papers import BOTH_UPVOTES, PaperRow, paper_rows, to_row

NEIGHBOURS = 5


@dataclass(frozen=True, slots=True)
class TopicRow:
    id: int
    slug: str
    label: str
    words: list[str]
    size: int
    growth: float
    x: float
    y: float
    status: str


@dataclass(frozen=True, slots=True)
class TopicWeekRow:
    week: date
    papers: int
    upvotes: int


@dataclass(frozen=True, slots=True)
class TopicEventRow:
    week: date
    kind: str
    others: list[str]
    size: int


@dataclass(frozen=True, slots=True)
class MapPoint:
    arxiv_id: str
    x: float
    y: float
    topic: int  # the topic's id


def _row(topic: Topic) -> TopicRow:
    return TopicRow(
        topic.id, topic.slug, topic.label, list(topic.words), topic.size, topic.growth, topic.x, topic.y, topic.status
    )


def query_topics(session: Session) -> list[TopicRow]:
    """The live topics, largest first."""
    found = session.execute(select(Topic).where(Topic.status == "live").order_by(Topic.size.desc(), Topic.slug))
    return [_row(topic) for topic in found.scalars()]


def query_topic(session: Session, slug: str) -> TopicRow | None:
    """A topic by slug, live or not (a merged topic's page says where it went)."""
    topic = session.execute(select(Topic).where(Topic.slug == slug)).scalar_one_or_none()
    return _row(topic) if topic else None


def query_topic_weeks(session: Session, topic_id: int, first: date, last: date) -> list[TopicWeekRow]:
    statement = (
        select(TopicWeek.week, TopicWeek.papers, TopicWeek.upvotes)
        .where(TopicWeek.topic_id == topic_id, TopicWeek.week.between(first, last))
        .order_by(TopicWeek.week)
    )
    return [TopicWeekRow(week, papers, upvotes) for week, papers, upvotes in session.execute(statement)]


def query_topic_events(session: Session, topic_id: int) -> list[TopicEventRow]:
    statement = (
        select(TopicEvent.week, TopicEvent.kind, TopicEvent.others, TopicEvent.size)
        .where(TopicEvent.topic_id == topic_id)
        .order_by(TopicEvent.week.desc(), TopicEvent.id.desc())
    )
    return [TopicEventRow(week, kind, list(others), size) for week, kind, others, size in session.execute(statement)]


def query_neighbours(session: Session, topic_id: int, limit: int = NEIGHBOURS) -> list[TopicRow]:
    """The live topics whose centroids are nearest this one's (a few hundred vectors at most: compared in numpy)."""
    topics = list(session.execute(select(Topic).where(Topic.status == "live")).scalars())
    own = next((t for t in topics if t.id == topic_id), None)
    others = [t for t in topics if t.id != topic_id]
    if own is None or not others:
        return []
    centroids = np.vstack([np.frombuffer(t.centroid, dtype=np.float32) for t in others])
    order = np.argsort(-(centroids @ np.frombuffer(own.centroid, dtype=np.float32)))[:limit]
    return [_row(others[int(i)]) for i in order]


def query_topic_papers(session: Session, topic_id: int, limit: int, offset: int = 0) -> list[PaperRow]:
    """The topic's papers, most upvoted first (both figures, docs/ranking.md), then newest."""
    statement = (
        paper_rows()
        .join(TopicPaper, TopicPaper.paper_id == Paper.id)
        .where(TopicPaper.topic_id == topic_id)
        .order_by(BOTH_UPVOTES.desc(), Paper.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [to_row(result) for result in session.execute(statement)]


def query_top_papers_in(
    session: Session, topic_id: int, first: date, last: date, limit: int, exclude: Sequence[int] = ()
) -> list[PaperRow]:
    """The topic's most upvoted papers whose effective date (docs/ranking.md) falls between ``first`` and ``last``."""
    statement = (
        paper_rows()
        .join(TopicPaper, TopicPaper.paper_id == Paper.id)
        .where(TopicPaper.topic_id == topic_id, Paper.published_on.between(first, last), Paper.id.not_in(list(exclude)))
        .order_by(BOTH_UPVOTES.desc(), Paper.id.desc())
        .limit(limit)
    )
    return [to_row(result) for result in session.execute(statement)]


def query_marks(session: Session, user_id: int) -> list[tuple[str, MapPoint]]:
    """A reader's own papers on the map: ("upvoted" | "collected", point), for the signed-in reader's map."""
    upvoted = (
        select(Paper.arxiv_id, TopicPaper.x, TopicPaper.y, TopicPaper.topic_id)
        .join(Vote, and_(Vote.paper_id == TopicPaper.paper_id, Vote.user_id == user_id))
        .join(Paper, Paper.id == TopicPaper.paper_id)
    )
    collected = (
        select(Paper.arxiv_id, TopicPaper.x, TopicPaper.y, TopicPaper.topic_id)
        .join(CollectionItem, CollectionItem.paper_id == TopicPaper.paper_id)
        .join(Collection, and_(Collection.id == CollectionItem.collection_id, Collection.owner_id == user_id))
        .join(Paper, Paper.id == TopicPaper.paper_id)
        .distinct()
    )
    marks = [("upvoted", MapPoint(*row)) for row in session.execute(upvoted)]
    return marks + [("collected", MapPoint(*row)) for row in session.execute(collected)]


def query_emerging_topics(session: Session, threshold: float, followed: Sequence[str], limit: int) -> list[TopicRow]:
    """Live topics whose growth (stored by the newest build) reaches ``threshold``: followed ones first, then by
    growth."""
    statement = (
        select(Topic)
        .where(Topic.status == "live", Topic.growth >= threshold)
        .order_by(Topic.slug.in_(list(followed)).desc(), Topic.growth.desc(), Topic.slug)
        .limit(limit)
    )
    return [_row(topic) for topic in session.execute(statement).scalars()]
