"""Building the topic atlas: ``papertide topics build`` and the worker's "topics" job (weekly, and after a large
ingest) call :func:`build_topics`.

A build reads every visible paper's vector (of the configured model), its week of publication, its upvotes (both
figures) and papertide's keyphrases; groups, lays out and labels them (``services/topic_model.py``); aligns the
new topics with the live ones of the previous build through the papers they share, so a topic keeps its slug and
its history; and writes the topics, each paper's topic and place on the map, each topic's weekly counts and what
happened (born, merged, split, faded) in one transaction. The web only reads what a build wrote
(``queries/topics.py``): no request ever groups anything.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
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


def no_phase(_phase: str, _done: int, _total: int) -> None:
    return None


class NothingToGroup(Exception):  # noqa: N818 (an outcome the CLI reports, not a failure)
    """Too few papers have vectors to make topics of."""


@dataclass(slots=True)
class Corpus:
    ids: np.ndarray
    vectors: np.ndarray
    weeks: list[date | None]
    upvotes: np.ndarray
    phrases: list[list[str]]


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
        corpus = load_corpus(session, model)
    progress("load", 1, 1)
    if len(corpus.ids) < 2 * topic_model.MIN_TOPIC:
        raise NothingToGroup(f"only {len(corpus.ids)} papers have vectors of {model}; run `papertide embed` first")
    progress("group", 0, 1)
    grouping = topic_model.group(corpus.vectors)
    progress("group", 1, 1)
    progress("layout", 0, 1)
    paper_xy, topic_xy = topic_model.layout(corpus.vectors, grouping)
    progress("layout", 1, 1)
    count = len(grouping.centroids)
    progress("label", 0, 1)
    words = topic_model.label_words(corpus.phrases, grouping.topic_of, count)
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


def load_corpus(session: Session, model: str) -> Corpus:
    """Every visible paper with a vector of ``model``: ids, unit vectors, weeks, upvotes (both figures) and
    keyphrases, in id order."""
    published = func.coalesce(Paper.announced_on, func.date(Paper.submitted_at))
    rows = session.execute(
        select(Paper.id, PaperEmbedding.vector, published, BOTH_UPVOTES)
        .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
        .where(PaperEmbedding.model == model, Paper.hidden.is_(False))
        .order_by(Paper.id)
    ).all()
    phrases: dict[int, list[str]] = defaultdict(list)
    for phrase, paper_id in session.execute(select(PaperKeyphrase.phrase, PaperKeyphrase.paper_id)):
        phrases[paper_id].append(phrase)
    vectors = np.empty((len(rows), VECTOR_DIMENSIONS), dtype=np.float32)
    for index, row in enumerate(rows):
        vectors[index] = row[1]
    return Corpus(
        ids=np.array([row[0] for row in rows], dtype=np.int64),
        vectors=topic_model.unit(vectors) if rows else vectors,
        weeks=[monday(_day(row[2])) if row[2] else None for row in rows],
        upvotes=np.array([row[3] or 0 for row in rows], dtype=np.int64),
        phrases=[phrases.get(int(row[0]), []) for row in rows],
    )


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
    previous = {
        paper_id: topic_id for paper_id, topic_id in session.execute(select(TopicPaper.paper_id, TopicPaper.topic_id))
    }
    position = {int(paper_id): p for p, paper_id in enumerate(corpus.ids)}
    shared = [(index_of[t], position[pid]) for pid, t in previous.items() if pid in position and t in index_of]
    old_of = np.array([i for i, _ in shared], dtype=np.int64)
    new_of = grouping.topic_of[[p for _, p in shared]] if shared else np.array([], dtype=np.int64)
    plan = topic_model.align(old_of, new_of, len(live), len(words))
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
    weekly: list[dict[date, list[int]]] = [defaultdict(lambda: [0, 0]) for _ in range(count)]
    for p, week in enumerate(corpus.weeks):
        if week is not None:
            cell = weekly[int(topic_of[p])][week]
            cell[0] += 1
            cell[1] += int(corpus.upvotes[p])
    return [{w: (n, u) for w, (n, u) in counts.items()} for counts in weekly]


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
