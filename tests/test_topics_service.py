"""The topic atlas (issue 31, ``services/topic_model.py``, ``services/topics.py``): synthetic drifting clusters
with a known birth, merge and split are found by the grouping and the alignment; two builds over the database keep
a topic's slug, record what happened week by week and count each topic's papers by week; labels are the
keyphrases the topic's papers share (c-TF-IDF)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, PaperEmbedding, PaperKeyphrase, Topic, TopicEvent, TopicPaper, TopicWeek
from papertide.search.query import fold_keyphrase
from papertide.search.semantic import model_name
from papertide.services import topic_model, topics
from papertide.services.keyphrases import keyphrases
from papertide.services.papers import upsert_papers
from papertide.services.topics import build_topics
from tests.helpers.factories import make_paper_record

DIMENSIONS = 384
FIRST_BUILD, SECOND_BUILD = date(2026, 6, 1), date(2026, 6, 8)
WORD = re.compile(r"[a-z0-9]+")


class Field:
    """Clusters of unit vectors in 384 dimensions around random centres, reproducibly."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(31)

    def centre(self, near: np.ndarray | None = None, far: float = 0.0) -> np.ndarray:
        step = self.rng.normal(size=DIMENSIONS)
        point = step if near is None else near + far * step / np.linalg.norm(step)
        return point / np.linalg.norm(point)

    def blob(self, centre: np.ndarray, count: int) -> np.ndarray:
        return topic_model.unit(centre + 0.35 * self.rng.normal(size=(count, DIMENSIONS)) / np.sqrt(DIMENSIONS))


def drifting_field() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(old vectors, new vectors, old cluster names, new cluster names) of the same papers, plus new papers: A
    drifts, B and C merge, D splits in two, E is born."""
    space = Field()
    a, b, c, d = (space.centre() for _ in range(4))
    old = np.vstack([space.blob(a, 60), space.blob(b, 60), space.blob(c, 60), space.blob(d, 60)])
    bc = topic_model.unit((b + c)[None])[0]
    new = np.vstack(
        [
            space.blob(space.centre(a, 0.2), 60),
            space.blob(bc, 120),
            space.blob(space.centre(d, 1.5), 30),
            space.blob(space.centre(d, 1.5), 30),
            space.blob(space.centre(), 60),
        ]
    )
    old_names = ["A"] * 60 + ["B"] * 60 + ["C"] * 60 + ["D"] * 60
    new_names = ["A"] * 60 + ["BC"] * 120 + ["D1"] * 30 + ["D2"] * 30 + ["E"] * 60
    return old, new, old_names, new_names


def named(grouping: topic_model.Grouping, names: list[str]) -> dict[int, str]:
    """Each topic's name: the cluster most of its papers come from (each must be pure)."""
    topics: dict[int, str] = {}
    for topic in range(len(grouping.centroids)):
        members = {names[p] for p in np.flatnonzero(grouping.topic_of == topic)}
        assert len(members) == 1, members
        topics[topic] = members.pop()
    return topics


@pytest.mark.parametrize("at_scale", [False, True])
def test_the_alignment_finds_the_birth_the_merge_and_the_split(at_scale: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new, old_names, new_names = drifting_field()
    if at_scale:  # as a million papers are grouped: float16, k-means on a sample, every paper assigned in slices
        monkeypatch.setattr(topic_model, "SAMPLE", 120)
        monkeypatch.setattr(topic_model, "SLICE", 37)
        monkeypatch.setattr(topic_model, "SPREAD_SAMPLE", 8)
        old, new = old.astype(np.float16), new.astype(np.float16)
    before, after = topic_model.group(old), topic_model.group(new)
    paper_xy, topic_xy = topic_model.layout(new, after)
    assert paper_xy.shape == (len(new), 2) and topic_xy.shape == (len(after.centroids), 2)
    assert paper_xy.min() > 0 and paper_xy.max() < 1 and np.isfinite(topic_xy).all()
    old_topic, new_topic = named(before, old_names), named(after, new_names)
    assert sorted(old_topic.values()) == ["A", "B", "C", "D"] and sorted(new_topic.values()) == [
        "A",
        "BC",
        "D1",
        "D2",
        "E",
    ]
    plan = topic_model.align(before.topic_of, after.topic_of[: len(old)], len(old_topic), len(new_topic))
    continues = {new_topic[j]: old_topic[i] for j, i in plan.continues.items()}
    assert continues["A"] == "A" and continues["BC"] in ("B", "C")
    assert {continues.get("D1"), continues.get("D2")} == {"D", None}
    assert [new_topic[j] for j in plan.born] == ["E"]
    assert {new_topic[j]: sorted(old_topic[i] for i in olds) for j, olds in plan.merged.items()} == {
        "BC": sorted({"B", "C"} - {continues["BC"]})
    }
    assert {old_topic[i]: [new_topic[j] for j in news] for i, news in plan.split.items()} == {
        "D": [name for name in ("D1", "D2") if name not in continues]
    }
    assert plan.faded == []


def store(db: Database, settings: Settings, vectors: np.ndarray, names: list[str], ids: list[int]) -> list[int]:
    """Papers (new ones for ids past the end) with these vectors, the name of their cluster as a keyphrase, and a
    listing day spread over the three weeks before FIRST_BUILD."""
    with db.write_session() as session:
        fresh = [
            make_paper_record(announced_on=FIRST_BUILD - timedelta(days=1 + n % 21))
            for n in range(len(ids), len(vectors))
        ]
        upsert_papers(session, fresh)
        ids = ids + [session.scalar(select(Paper.id).where(Paper.arxiv_id == r.arxiv_id)) for r in fresh]
        session.query(PaperEmbedding).delete()
        session.query(PaperKeyphrase).delete()
        for paper_id, vector, name in zip(ids, vectors, names, strict=True):
            session.add(
                PaperEmbedding(
                    paper_id=paper_id, model=model_name(settings), text_hash="", paper_hash="", vector=vector
                )
            )
            session.add(PaperKeyphrase(phrase=f"cluster {name.lower()}", paper_id=paper_id))
            session.add(PaperKeyphrase(phrase="machine learning", paper_id=paper_id))  # everywhere: weighs nothing
    return ids


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the writes are plain inserts; see below
def test_two_builds_keep_identities_and_record_history(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topics, "LOAD_SLICE", 7)  # read in many slices, as a million papers are
    old, new, old_names, new_names = drifting_field()
    ids = store(db, settings, old, old_names, [])
    first = build_topics(db, model_name(settings), FIRST_BUILD)
    assert (first.papers, first.topics, len(first.born)) == (240, 4, 4)
    with db.read_session() as session:
        slug_of = {
            paper_id: slug
            for paper_id, slug in session.execute(
                select(TopicPaper.paper_id, Topic.slug).join(Topic, Topic.id == TopicPaper.topic_id)
            )
        }
        labels = dict(session.execute(select(Topic.slug, Topic.words)).all())
        weekly = session.execute(select(func.sum(TopicWeek.papers))).scalar_one()
    assert weekly == 240 and {words[0] for words in labels.values()} == {
        "cluster a",
        "cluster b",
        "cluster c",
        "cluster d",
    }
    assert all("machine learning" not in words[:1] for words in labels.values())
    a_slug = slug_of[ids[0]]
    store(db, settings, new, new_names, ids)
    second = build_topics(db, model_name(settings), SECOND_BUILD)
    assert (second.papers, second.topics) == (300, 5)
    assert (len(second.born), len(second.merged), len(second.split), len(second.faded)) == (2, 1, 1, 0)  # E, D's child
    with db.read_session() as session:
        a_topic = session.execute(select(Topic).where(Topic.slug == a_slug)).scalar_one()
        assert (a_topic.status, a_topic.size) == ("live", 60)  # the drifted topic kept its slug
        events = session.execute(select(TopicEvent.kind, TopicEvent.week)).all()
        statuses = sorted(session.execute(select(Topic.status)).scalars())
    assert sorted(kind for kind, week in events if week == SECOND_BUILD) == [
        "born",
        "born",
        "merged",
        "merged",
        "split",
    ]
    assert statuses == ["live"] * 5 + ["merged"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_real_build_labels_topics_with_words_their_papers_hold(embedded_corpus: Database, settings: Settings) -> None:
    """The shared snapshot's first papers with the real MiniLM vectors and yake keyphrases (the insights job's
    keyphrases; its gists are not needed here): each topic's label words occur in most of its top papers."""
    with embedded_corpus.write_session() as session:
        papers = session.execute(select(Paper.id, Paper.title, Paper.abstract)).all()
        for paper_id, title, abstract in papers:
            for phrase in dict.fromkeys(fold_keyphrase(k) for k in keyphrases(title, abstract)):
                session.add(PaperKeyphrase(phrase=phrase, paper_id=paper_id))
    report = build_topics(embedded_corpus, model_name(settings), FIRST_BUILD)
    assert report.topics >= 2
    with embedded_corpus.read_session() as session:
        scored = list(session.execute(select(Topic).where(Topic.size >= 10)).scalars())
        assert len(scored) >= 2
        for topic in scored:
            members = session.execute(
                select(Paper.title, Paper.abstract, PaperEmbedding.vector)
                .join(TopicPaper, TopicPaper.paper_id == Paper.id)
                .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
                .where(TopicPaper.topic_id == topic.id)
            ).all()
            centroid = np.frombuffer(topic.centroid, dtype=np.float32)
            top = sorted(members, key=lambda m: -float(np.dot(m[2], centroid)))[:10]  # its most central papers
            words = {w for phrase in topic.words[:3] for w in WORD.findall(phrase)} - {"of", "for", "the", "and"}
            holding = sum(bool(words & set(WORD.findall(f"{t} {a}".lower()))) for t, a, _ in top)
            assert holding > len(top) / 2, (topic.label, holding, len(top))
