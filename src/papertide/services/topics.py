"""Building the topic atlas: ``papertide topics build`` and the worker's "topics" job (weekly, and after a large
ingest) call :func:`build_topics`.

A build reads every visible paper's vector (of the configured model), its week of publication, its upvotes (both
figures) and papertide's keyphrases; groups, lays out and labels them (``services/topic_model.py``); aligns the
new topics with the live ones of the previous build through the papers they share, so a topic keeps its slug and
its history; and writes the topics, each paper's topic and place on the map, each topic's weekly counts and what
happened (born, merged, split, faded) in one transaction. The web only reads what a build wrote
(``queries/topics.py``): no request ever groups anything.

Memory is held under the issue's 1.5 GB at a million papers: vectors are read ``LOAD_SLICE`` at a time into one
float16 array (768 MB for a million), released once the map is laid out; keyphrases are streamed phrase by phrase
in the index's order and never held per paper; ids, weeks and upvotes are numpy arrays.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.models import (
    VECTOR_DIMENSIONS,
    Paper,
    PaperEmbedding,
    PaperKeyphrase,
    Topic,
    TopicBuild,
    TopicEvent,
    TopicPaper,
    TopicWeek,
)
from papertide.queries.papers import BOTH_UPVOTES
from papertide.services import topic_model
from papertide.services.emergence import growth

Phase = Callable[[str, int, int], None]  # (phase, done, total): load, group, layout, label, align, store
METHOD = (
    f"minibatch k-means ({topic_model.MICRO_PAPERS}/group) + average-linkage cosine "
    f"{topic_model.MERGE_DISTANCE}; t-SNE over group centroids; c-TF-IDF over keyphrases"
)
_STORE_BATCH = 5_000
LOAD_SLICE = 20_000  # papers read per statement while loading vectors
_NO_WEEK = -1
_EPOCH = date(1970, 1, 1)


def no_phase(_phase: str, _done: int, _total: int) -> None:
    return None


class NothingToGroup(Exception):  # noqa: N818 (an outcome the CLI reports, not a failure)
    """Too few papers have vectors to make topics of."""


@dataclass(slots=True)
class Corpus:
    """The papers a build groups, in id order: the Monday of each one's week (days since 1970, ``_NO_WEEK`` when
    undated) and its upvotes (both figures). Their vectors travel apart, so they can be let go early."""

    ids: np.ndarray
    weeks: np.ndarray
    upvotes: np.ndarray


@dataclass(slots=True)
class BuildReport:
    papers: int = 0
    topics: int = 0
    seconds: float = 0.0
    born: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    faded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.topics} topics over {self.papers} papers in {self.seconds:.0f} s: {len(self.born)} born, "
            f"{len(self.merged)} merged, {len(self.split)} split, {len(self.faded)} faded"
        )


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def build_topics(database: Database, model: str, today: date, progress: Phase = no_phase) -> BuildReport:
    """Group every embedded paper into topics and record the build; see the module docstring."""
    started = time.perf_counter()
    progress("load", 0, 1)
    with database.read_session() as session:
        corpus, vectors = load_corpus(session, model)
    progress("load", 1, 1)
    if len(corpus.ids) < 2 * topic_model.MIN_TOPIC:
        raise NothingToGroup(f"only {len(corpus.ids)} papers have vectors of {model}; run `papertide embed` first")
    progress("group", 0, 1)
    grouping = topic_model.group(vectors)
    progress("group", 1, 1)
    progress("layout", 0, 1)
    paper_xy, topic_xy = topic_model.layout(vectors, grouping)
    del vectors  # the labels' phrases and the stored rows need the room
    progress("layout", 1, 1)
    count = len(grouping.centroids)
    progress("label", 0, 1)
    with database.read_session() as session:
        words = topic_model.label_topics(_carriers(session, corpus.ids, grouping.topic_of), count)
    progress("label", 1, 1)
    report = BuildReport(papers=len(corpus.ids), topics=count)
    with database.write_session() as session:
        build = TopicBuild(papers=len(corpus.ids), topics=count, method=METHOD)
        session.add(build)
        session.flush()
        progress("align", 0, 1)
        topics = _aligned_topics(session, corpus, grouping, words, build, today, report)
        progress("align", 1, 1)
        _store(session, corpus, grouping, topics, paper_xy, topic_xy, today, progress)
        report.seconds = time.perf_counter() - started
        build.seconds = report.seconds
    return report


def load_corpus(session: Session, model: str) -> tuple[Corpus, np.ndarray]:
    """Every visible paper with a vector of ``model``, in id order, and their unit vectors in float16, read
    LOAD_SLICE papers at a time. Papers that arrive while it reads wait for the next build."""
    visible = and_(PaperEmbedding.model == model, Paper.hidden.is_(False))
    total = session.scalar(select(func.count()).select_from(Paper).join(PaperEmbedding).where(visible)) or 0
    ids = np.zeros(total, dtype=np.int64)
    weeks = np.full(total, _NO_WEEK, dtype=np.int32)
    upvotes = np.zeros(total, dtype=np.int64)
    vectors = np.zeros((total, VECTOR_DIMENSIONS), dtype=np.float16)
    # Weeks by the effective date (docs/ranking.md), as trends and search count them.
    statement = (
        select(Paper.id, PaperEmbedding.vector, Paper.published_on, BOTH_UPVOTES).join(PaperEmbedding).where(visible)
    )
    read, last = 0, 0
    while read < total:
        rows = session.execute(statement.where(Paper.id > last).order_by(Paper.id).limit(LOAD_SLICE)).all()
        rows = rows[: total - read]
        if not rows:
            break
        stop = read + len(rows)
        ids[read:stop] = [row[0] for row in rows]
        weeks[read:stop] = [_epoch_day(monday(_day(row[2]))) if row[2] else _NO_WEEK for row in rows]
        upvotes[read:stop] = [row[3] or 0 for row in rows]
        vectors[read:stop] = topic_model.unit(np.vstack([row[1] for row in rows]))
        read, last = stop, int(ids[stop - 1])
    return Corpus(ids=ids[:read], weeks=weeks[:read], upvotes=upvotes[:read]), vectors[:read]


def _carriers(session: Session, ids: np.ndarray, topic_of: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Each keyphrase and the topics of the build's papers that carry it, streamed in the primary key's order
    (phrase, paper), so no paper's phrases are held."""
    rows = session.execute(
        select(PaperKeyphrase.phrase, PaperKeyphrase.paper_id)
        .order_by(PaperKeyphrase.phrase, PaperKeyphrase.paper_id)
        .execution_options(yield_per=LOAD_SLICE)
    )
    for phrase, group in groupby(rows, key=itemgetter(0)):
        positions = _positions(ids, np.fromiter((paper_id for _, paper_id in group), dtype=np.int64))
        yield phrase, topic_of[positions[positions >= 0]]


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` stands in the sorted ``ids``; -1 for those not there."""
    if not len(ids):
        return np.full(len(wanted), -1)
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return np.where(ids[at] == wanted, at, -1)


def _epoch_day(day: date) -> int:
    return (day - _EPOCH).days


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _aligned_topics(
    session: Session,
    corpus: Corpus,
    grouping: topic_model.Grouping,
    words: list[list[str]],
    build: TopicBuild,
    today: date,
    report: BuildReport,
) -> list[Topic]:
    """The Topic row of each new topic: the old one it continues, or a new one; events recorded."""
    live = list(session.execute(select(Topic).where(Topic.status == "live").order_by(Topic.id)).scalars())
    index_of = {topic.id: i for i, topic in enumerate(live)}
    previous = np.array(
        session.execute(select(TopicPaper.paper_id, TopicPaper.topic_id).order_by(TopicPaper.paper_id)).all(),
        dtype=np.int64,
    ).reshape(-1, 2)
    old_index = np.array([index_of.get(int(t), -1) for t in previous[:, 1]], dtype=np.int64)
    at = _positions(corpus.ids, previous[:, 0])
    shared = (at >= 0) & (old_index >= 0)  # papers in both builds, in a topic that was live
    plan = topic_model.align(old_index[shared], grouping.topic_of[at[shared]], len(live), len(words))
    week = monday(today)
    topics: list[Topic] = []
    for j in range(len(words)):
        if j in plan.continues:
            topic = live[plan.continues[j]]
        else:
            topic = Topic(slug=_unique_slug(session, words[j]), born_build_id=build.id, centroid=b"")
            session.add(topic)
        topic.label = " · ".join(words[j][:3]) or f"topic {j + 1}"
        topic.words = words[j]
        topic.status = "live"
        topic.last_build_id = build.id
        topics.append(topic)
    session.flush()
    size = np.bincount(grouping.topic_of, minlength=len(words))

    def event(topic: Topic, kind: str, others: list[Topic]) -> None:
        session.add(
            TopicEvent(
                build_id=build.id,
                topic_id=topic.id,
                week=week,
                kind=kind,
                others=[o.slug for o in others],
                size=int(size[topics.index(topic)]) if topic in topics else topic.size,
            )
        )

    for j in plan.born:
        event(topics[j], "born", [])
        report.born.append(topics[j].slug)
    for i, children in plan.split.items():
        event(live[i], "split", [topics[j] for j in children])
        report.split.append(live[i].slug)
        for j in children:
            event(topics[j], "born", [live[i]])
            report.born.append(topics[j].slug)
    for j, absorbed in plan.merged.items():
        event(topics[j], "merged", [live[i] for i in absorbed])
        for i in absorbed:
            live[i].status = "merged"
            event(live[i], "merged", [topics[j]])
            report.merged.append(live[i].slug)
    for i in plan.faded:
        live[i].status = "faded"
        event(live[i], "faded", [])
        report.faded.append(live[i].slug)
    for i, topic in enumerate(live):
        if i not in plan.continues.values() and topic.status == "live":
            topic.status = "split"  # it lives on only in its children
    return topics


def _unique_slug(session: Session, words: list[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", " ".join(words[:2]).lower()).strip("-")[:80] or "topic"
    taken = set(session.execute(select(Topic.slug).where(Topic.slug.like(f"{base}%"))).scalars())
    taken |= {t.slug for t in session.new if isinstance(t, Topic)}
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def _store(
    session: Session,
    corpus: Corpus,
    grouping: topic_model.Grouping,
    topics: list[Topic],
    paper_xy: np.ndarray,
    topic_xy: np.ndarray,
    today: date,
    progress: Phase,
) -> None:
    """Each paper's topic and place, each topic's weekly counts, size, growth, place and centroid."""
    session.execute(delete(TopicPaper))
    ids = [topic.id for topic in topics]
    total = len(corpus.ids)
    for start in range(0, total, _STORE_BATCH):
        stop = min(total, start + _STORE_BATCH)
        session.execute(
            insert(TopicPaper),
            [
                {
                    "paper_id": int(corpus.ids[p]),
                    "topic_id": ids[int(grouping.topic_of[p])],
                    "x": float(paper_xy[p, 0]),
                    "y": float(paper_xy[p, 1]),
                }
                for p in range(start, stop)
            ],
        )
        progress("store", stop, total)
    weekly = _weekly(corpus, grouping.topic_of, len(topics))
    session.execute(delete(TopicWeek).where(TopicWeek.topic_id.in_(ids)))
    for j, topic in enumerate(topics):
        counts = weekly[j]
        if counts:
            rows = [
                {"topic_id": topic.id, "week": w, "papers": n, "upvotes": u} for w, (n, u) in sorted(counts.items())
            ]
            session.execute(insert(TopicWeek), rows)
        topic.size = int((grouping.topic_of == j).sum())
        topic.growth = growth({w: n for w, (n, _) in counts.items()}, monday(today))
        topic.x, topic.y = float(topic_xy[j, 0]), float(topic_xy[j, 1])
        topic.centroid = grouping.centroids[j].astype(np.float32).tobytes()
    session.execute(update(Topic).where(Topic.status != "live").values(size=0))


def _weekly(corpus: Corpus, topic_of: np.ndarray, count: int) -> list[dict[date, tuple[int, int]]]:
    """Each topic's papers and upvotes by week, added up by numpy (a million papers, a few hundred topics)."""
    dated = corpus.weeks != _NO_WEEK
    cells, where = np.unique(
        topic_of[dated].astype(np.int64) * 100_000 + corpus.weeks[dated], return_inverse=True
    )  # a cell per (topic, week): days since 1970 stay below 100,000 until the year 2243
    papers = np.bincount(where, minlength=len(cells))
    upvotes = np.bincount(where, weights=corpus.upvotes[dated], minlength=len(cells))
    weekly: list[dict[date, tuple[int, int]]] = [{} for _ in range(count)]
    for cell, n, u in zip(cells.tolist(), papers.tolist(), upvotes.tolist(), strict=True):
        topic, day = divmod(cell, 100_000)
        weekly[topic][_EPOCH + timedelta(days=day)] = (n, int(u))
    return weekly


def papers_without_topic(session: Session, model: str) -> int:
    """Embedded papers that the newest build has not placed: what "a large ingest" is measured by."""
    return (
        session.scalar(
            select(func.count())
            .select_from(PaperEmbedding)
            .outerjoin(TopicPaper, TopicPaper.paper_id == PaperEmbedding.paper_id)
            .where(PaperEmbedding.model == model, TopicPaper.paper_id.is_(None))
        )
        or 0
    )
