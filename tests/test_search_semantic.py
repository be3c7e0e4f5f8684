"""Semantic retrieval on real records with the real model: the embed job and its hash cache, both vector
retrievers, fusion with keyword search, similar papers, positives and negatives, the file index's persistence."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, true, update

from papertide.config import Settings
from papertide.db import Database, connect
from papertide.jobs.scheduler import JobRunner
from papertide.models import Paper, PaperCategory, PaperEmbedding
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.fusion import convex_fusion, fuse, reciprocal_rank_fusion
from papertide.search.query import parse_query
from papertide.search.retrieval import Hit
from papertide.search.semantic import Semantic, open_semantic
from papertide.search.similar import Examples, SimilarityError, similar_papers
from papertide.search.vectors import FileVectorIndex, PgVectorRetriever
from papertide.services.embeddings import EmbedBatch, embed_pending, embedding_status
from papertide.services.ingest import ingest_snapshot
from papertide.services.papers import upsert_papers
from tests.helpers.data import EMBEDDED_LINES, snapshot_subset
from tests.helpers.databases import fresh_database
from tests.helpers.embedder import MemoEmbedder
from tests.helpers.factories import make_paper_record
from tests.helpers.settings import make_settings

LINES = EMBEDDED_LINES
GRASPING = "2503.12549"  # "Grasping Partially Occluded Objects Using Autoencoder-Based Point Cloud Inpainting"


@pytest.fixture
def corpus(embedded_corpus: Database) -> Database:
    return embedded_corpus


def paper_id(db: Database, arxiv_id: str) -> int:
    with db.read_session() as session:
        return session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar_one()


def arxiv_ids(db: Database, paper_ids: Sequence[int]) -> list[str]:
    with db.read_session() as session:
        found = dict(session.execute(select(Paper.id, Paper.arxiv_id).where(Paper.id.in_(paper_ids))).all())
    return [found[pid] for pid in paper_ids]


def nearest(db: Database, semantic: Semantic, text: str, limit: int = 5) -> list[str]:
    with db.read_session() as session:
        hits = semantic.search(session, semantic.embed_query(text), true(), limit)
    return arxiv_ids(db, [hit.paper_id for hit in hits])


def test_a_stored_vector_reads_back_bit_for_bit(db: Database) -> None:
    # PostgreSQL sends vectors in pgvector's binary form (models/base.py): big-endian, after a 4-byte header.
    vector = np.linspace(-1.0, 1.0, 384, dtype=np.float32)
    vector[:4] = (np.float32(1e-40), np.finfo(np.float32).max, np.finfo(np.float32).tiny, -0.0)
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
        paper = session.execute(select(Paper.id)).scalar_one()
        session.add(PaperEmbedding(paper_id=paper, model="m", text_hash="t", paper_hash="p", vector=vector))
    with db.read_session() as session:
        row = session.execute(select(PaperEmbedding)).scalar_one()
        column = session.execute(select(PaperEmbedding.vector)).scalar_one()
        inner = select(PaperEmbedding.paper_id, PaperEmbedding.vector).subquery()
        nested = session.execute(select(inner.c.vector)).scalar_one()
    for read in (row.vector, column, nested):
        assert read.dtype == np.float32 and read.tobytes() == vector.tobytes()


def test_a_paraphrase_finds_the_paper_without_sharing_its_words(corpus: Database, semantic: Semantic) -> None:
    assert GRASPING in nearest(corpus, semantic, "robot hand picking up things that are partly hidden", 3)


def test_embed_job_makes_a_new_paper_searchable_and_never_reembeds(
    corpus: Database, semantic: Semantic, embedder: MemoEmbedder, shared_data: Path, tmp_path: Path
) -> None:
    with corpus.read_session() as session:
        assert embedding_status(session, embedder.name).pending == 0
    bigger = snapshot_subset(shared_data, tmp_path / "more.jsonl", LINES + 40)
    ingest_snapshot(corpus, bigger)
    newcomer = paper_id(corpus, _arxiv_id_at_line(bigger, LINES + 20))
    with corpus.read_session() as session:
        title = session.get_one(Paper, newcomer).title
    assert arxiv_ids(corpus, [newcomer])[0] not in nearest(corpus, semantic, title)

    batches: list[EmbedBatch] = []
    assert embed_pending(corpus, embedder, on_batch=batches.append) == 40
    assert sum(b.encoded for b in batches) == 40
    assert arxiv_ids(corpus, [newcomer])[0] == nearest(corpus, semantic, title, 1)[0]

    ingest_snapshot(corpus, bigger)  # a re-ingest of the same records: nothing to embed
    assert embed_pending(corpus, embedder) == 0
    with corpus.write_session() as session:  # metadata change: bookkeeping only, the vector is reused
        session.execute(update(Paper).where(Paper.id == newcomer).values(content_hash="changed-elsewhere"))
    batches.clear()
    assert embed_pending(corpus, embedder, on_batch=batches.append) == 1
    assert (batches[0].encoded, batches[0].reused) == (0, 1)
    with corpus.write_session() as session:  # a new abstract: embedded again
        session.execute(
            update(Paper).where(Paper.id == newcomer).values(abstract="A new abstract.", content_hash="changed-again")
        )
    batches.clear()
    embed_pending(corpus, embedder, on_batch=batches.append)
    assert (batches[0].encoded, batches[0].reused) == (1, 0)


def _arxiv_id_at_line(path: Path, line_no: int) -> str:
    import json

    with path.open() as lines:
        for number, line in enumerate(lines, start=1):
            if number == line_no:
                return str(json.loads(line)["id"])
    raise AssertionError("the subset is shorter than expected")


def test_hybrid_search_fuses_and_says_why(corpus: Database, semantic: Semantic) -> None:
    with corpus.read_session() as session:
        keyword_only = SearchEngine.of(semantic.settings).search(
            session, parse_query("grasping occluded"), SearchOptions(limit=50)
        )
        # 50 neighbours: a fifth of this 250-paper corpus. The default 200 would be most of it, so every keyword hit
        # would also be a "neighbour" and the semantic list would say little (on 13,000 papers 200 is 1.5 %).
        small = semantic.settings.model_copy(update={"vector_candidates": 50})
        engine = SearchEngine.of(small, semantic)
        hybrid = engine.search(session, parse_query("grasping occluded"), SearchOptions(limit=50))
        paraphrase = engine.search(session, parse_query("robot hand picking up hidden things"), SearchOptions())
    top = {row.arxiv_id: row.id for row in hybrid.rows[:2]}
    assert GRASPING in top
    assert set(hybrid.matched_by[top[GRASPING]]) == {"keyword", "semantic"}
    assert hybrid.total > keyword_only.total  # semantic neighbours without the words join the list
    assert any(sources == ("semantic",) for sources in hybrid.matched_by.values())
    assert GRASPING in [row.arxiv_id for row in paraphrase.rows[:10]], [row.arxiv_id for row in paraphrase.rows]


class ThreadRecordingEmbedder:
    """The test model, noting which thread asked it for each query, or failing when told to."""

    def __init__(self, inner: MemoEmbedder, fail: bool = False) -> None:
        self.inner, self.fail = inner, fail
        self.name, self.dimensions = inner.name, inner.dimensions
        self.threads: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("the model broke")
        return self.inner.encode(texts)


def test_the_semantic_side_runs_beside_the_keyword_side(
    corpus: Database, settings: Settings, embedder: MemoEmbedder
) -> None:
    recording = ThreadRecordingEmbedder(embedder)
    semantic = open_semantic(settings, recording)
    assert semantic is not None
    where = Paper.hidden.is_(False)
    with corpus.read_session() as session:
        finish = semantic.search_ahead(session, "robot hand picking up hidden things", 20, where)
        ahead = finish()
        after = semantic.search(session, semantic.embed_query("robot hand picking up hidden things"), where, 20)
        assert ahead == after and len(ahead) == 20
        SearchEngine.of(settings, semantic).search(session, parse_query("grasping occluded"), SearchOptions())
    assert recording.threads and all(name.startswith("papertide-semantic") for name in recording.threads)
    if isinstance(semantic.retriever, PgVectorRetriever):
        # PostgreSQL's graph walk ran ahead too, on the retriever's own connections, not the request's.
        assert semantic.retriever.engine.pool.checkedin() >= 1
    semantic.close()
    failing = open_semantic(settings, ThreadRecordingEmbedder(embedder, fail=True))
    with corpus.read_session() as session, pytest.raises(RuntimeError, match="the model broke"):
        SearchEngine.of(settings, failing).search(session, parse_query("grasping occluded"), SearchOptions())


def test_semantic_hits_obey_filters_and_exclusions(corpus: Database, semantic: Semantic) -> None:
    with corpus.read_session() as session:
        engine = SearchEngine.of(semantic.settings, semantic)
        results = engine.search(session, parse_query("robot grasping -occluded cat:cs.RO"), SearchOptions())
        assert results.rows
        for row in results.rows:
            assert "cs.RO" in row.categories
            assert "occluded" not in f"{row.title} {row.abstract}".lower()
        phrase = engine.search(session, parse_query('"point cloud" robot'), SearchOptions())
        for row in phrase.rows:
            assert "point cloud" in f"{row.title} {row.abstract}".lower().replace("\n", " ")


def test_similar_papers_never_include_the_paper_itself(corpus: Database, semantic: Semantic) -> None:
    with corpus.read_session() as session:
        for arxiv_id in (GRASPING, "2503.12609"):
            own = paper_id(corpus, arxiv_id)
            hits = similar_papers(session, semantic, Examples(positives=[own]), limit=10)
            assert len(hits) == 10 and own not in {hit.paper_id for hit in hits}
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        grasp_neighbours = similar_papers(session, semantic, Examples(positives=[paper_id(corpus, GRASPING)]), 3)
        categories = set(
            session.execute(
                select(PaperCategory.category).where(PaperCategory.paper_id.in_([h.paper_id for h in grasp_neighbours]))
            ).scalars()
        )
    assert "cs.RO" in categories


def test_negatives_push_their_neighbours_down(corpus: Database, semantic: Semantic) -> None:
    positive = paper_id(corpus, GRASPING)
    with corpus.read_session() as session:
        before = similar_papers(session, semantic, Examples(positives=[positive]), limit=20)
        negative = before[0].paper_id
        after = similar_papers(session, semantic, Examples(positives=[positive], negatives=[negative]), limit=20)
        vectors = semantic.vectors_of(session, [negative, *(h.paper_id for h in before + after)])
    assert negative not in {hit.paper_id for hit in after}

    def closeness_to_negative(hits: list[Hit]) -> float:
        return float(np.mean([vectors[h.paper_id] @ vectors[negative] for h in hits if h.paper_id != negative]))

    assert closeness_to_negative(after) < closeness_to_negative(before)


def test_similar_to_a_pasted_abstract_and_bad_requests(corpus: Database, semantic: Semantic) -> None:
    with corpus.read_session() as session:
        abstract = session.execute(select(Paper.abstract).where(Paper.arxiv_id == GRASPING)).scalar_one()
        hits = similar_papers(session, semantic, Examples(text=abstract), limit=3)
        assert arxiv_ids(corpus, [hits[0].paper_id]) == [GRASPING]
        with pytest.raises(SimilarityError, match="paste an abstract"):
            similar_papers(session, semantic, Examples(text="   "))
        with pytest.raises(SimilarityError, match="at most"):
            similar_papers(session, semantic, Examples(positives=list(range(1, 60))))


def test_a_paper_without_a_vector_is_embedded_on_the_spot(corpus: Database, semantic: Semantic) -> None:
    target = paper_id(corpus, GRASPING)
    with corpus.write_session() as session:
        session.execute(PaperEmbedding.__table__.delete().where(PaperEmbedding.paper_id == target))
    with corpus.read_session() as session:
        hits = similar_papers(session, semantic, Examples(positives=[target]), limit=5)
    assert hits and target not in {hit.paper_id for hit in hits}


@pytest.fixture
def sqlite_corpus(
    request: pytest.FixtureRequest, tmp_path: Path, shared_data: Path, embedder: MemoEmbedder
) -> Iterator[tuple[Database, Settings]]:
    """The file index serves SQLite only (PostgreSQL searches with pgvector), so these tests need no backend matrix."""
    with fresh_database(request, "sqlite", tmp_path) as url:
        settings = make_settings(url, tmp_path)
        database = connect(settings)
        ingest_snapshot(database, snapshot_subset(shared_data, tmp_path / "subset.jsonl", LINES))
        embed_pending(database, embedder)
        yield database, settings
        database.dispose()


def test_vector_file_is_folded_mapped_and_shadowed_by_newer_vectors(
    sqlite_corpus: tuple[Database, Settings], embedder: MemoEmbedder
) -> None:
    corpus, settings = sqlite_corpus
    path = settings.vector_index_path
    assert path is not None
    first = FileVectorIndex(path, embedder.name)
    with corpus.read_session() as session:
        assert first.sync(session) == LINES and first.in_memory == LINES and not path.exists()
        assert first.fold(session) == LINES  # no file yet: any waiting vector is worth one
    assert path.exists() and (len(first), first.in_memory) == (LINES, 0)

    reopened = FileVectorIndex(path, embedder.name)  # another process: maps the file, copies nothing
    assert (len(reopened), reopened.in_memory, reopened.watermark) == (LINES, 0, first.watermark)
    target = paper_id(corpus, GRASPING)
    with corpus.write_session() as session:  # the embed job's way of changing a vector: delete, insert
        row = session.execute(select(PaperEmbedding).where(PaperEmbedding.paper_id == target)).scalar_one()
        old_vector = np.asarray(row.vector)
        replacement = embedder.encode(["an unrelated text about medieval poetry and its meter"])[0]
        session.delete(row)
        session.flush()
        session.add(PaperEmbedding(paper_id=target, model=row.model, text_hash="x", paper_hash="y", vector=replacement))
    with corpus.read_session() as session:
        assert reopened.sync(session) == 1
        assert reopened.fold(session) == 0  # 1 vector against a file of LINES is not worth a rewrite yet
    assert (len(reopened), reopened.in_memory) == (LINES, 1)  # shadows the file's vector, not a second paper
    assert reopened.nearest(replacement, 1)[0][0] == target
    near_old = reopened.nearest(old_vector, LINES)
    scores = [score for pid, score in near_old if pid == target]
    assert scores == [pytest.approx(float(old_vector @ replacement), abs=0.01)]  # once, scored by its new vector

    with corpus.read_session() as session:
        assert first.fold(session, force=True) == 1  # the first process folds: only what the file lacked
        assert reopened.sync(session) == 0  # the other notices the new file and maps it
    assert (len(reopened), reopened.in_memory) == (LINES, 0)
    assert reopened.nearest(replacement, 1)[0][0] == target

    path.write_bytes(b"damaged")
    rebuilt = FileVectorIndex(path, embedder.name)
    with corpus.read_session() as session:
        assert rebuilt.sync(session) == LINES  # searches go on from memory until the next fold
        assert rebuilt.fold(session) == LINES
    assert FileVectorIndex(path, embedder.name).nearest(replacement, 1)[0][0] == target


def test_a_search_holds_at_most_the_side_limit_and_a_fold_takes_the_rest(
    sqlite_corpus: tuple[Database, Settings], embedder: MemoEmbedder
) -> None:
    corpus, settings = sqlite_corpus
    index = FileVectorIndex(settings.vector_index_path, embedder.name, side_limit=10)
    with corpus.read_session() as session:
        assert index.sync(session) == 10 and index.sync(session) == 0
        assert index.fold(session) == LINES
    assert (len(index), index.in_memory) == (LINES, 0)


def test_searches_go_on_while_the_process_folds(
    sqlite_corpus: tuple[Database, Settings], embedder: MemoEmbedder
) -> None:
    corpus, settings = sqlite_corpus
    index = FileVectorIndex(settings.vector_index_path, embedder.name)
    query = embedder.encode(["grasping occluded objects with a robot arm"])[0]
    answered: list[list[tuple[int, float]]] = []

    def search_from_another_thread(_folded: int) -> None:
        searcher = threading.Thread(target=lambda: answered.append(index.nearest(query, 5)))
        searcher.start()
        searcher.join(timeout=10)  # a search waiting for the whole fold would still be blocked here
        assert not searcher.is_alive(), "a search waited for the fold"

    with corpus.read_session() as session:
        index.sync(session)
        assert index.fold(session, progress=search_from_another_thread) == LINES
    assert answered and all(len(hits) == 5 for hits in answered)


def test_the_jobs_thread_folds_vectors_other_processes_wrote(
    sqlite_corpus: tuple[Database, Settings], embedder: MemoEmbedder
) -> None:
    corpus, settings = sqlite_corpus  # the vectors were stored by the fixture, as `papertide embed` would
    semantic = open_semantic(settings, embedder)
    assert semantic is not None and semantic.file_index is not None
    runner = JobRunner(corpus, settings, semantic, 0.2, schedule=False, work=False, keep_indexes=True)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not (semantic.file_index.path and semantic.file_index.path.exists()):
            assert time.monotonic() < deadline, "the vector file was not written within a minute"
            time.sleep(0.1)
    finally:
        runner.stop()
    assert (len(semantic.file_index), semantic.file_index.in_memory) == (LINES, 0)


def test_concurrent_folds_take_turns(sqlite_corpus: tuple[Database, Settings], embedder: MemoEmbedder) -> None:
    corpus, settings = sqlite_corpus
    indexes = [FileVectorIndex(settings.vector_index_path, embedder.name) for _ in range(3)]

    def fold(index: FileVectorIndex) -> int:
        with corpus.read_session() as session:
            return index.fold(session)

    with ThreadPoolExecutor(3) as pool:
        folded = list(pool.map(fold, indexes))
    assert sorted(folded) == [0, 0, LINES]  # one wrote the file; the others found nothing left to fold
    assert all((len(index), index.in_memory) == (LINES, 0) for index in indexes)


def test_vector_retrievers_of_both_engines_fill_a_filtered_page(corpus: Database, semantic: Semantic) -> None:
    with corpus.read_session() as session:
        robotics = PaperCategory.paper_id == Paper.id
        where = select(PaperCategory.paper_id).where(robotics, PaperCategory.category == "cs.RO").exists()
        total = session.execute(select(Paper.id).where(where)).scalars().all()
        hits = semantic.search(session, semantic.embed_query("medieval poetry"), where, 5)
    assert len(total) >= 5 and len(hits) == 5 and {h.paper_id for h in hits} <= set(total)


def test_convex_fusion_keeps_a_clear_keyword_winner_first() -> None:
    keyword = [Hit(1, 30.0), Hit(2, 10.0), Hit(3, 9.0)]  # paper 1 matched the title outright
    semantic = [Hit(2, 0.80), Hit(3, 0.79), Hit(1, 0.70)]
    fused, sources = convex_fusion({"keyword": keyword, "semantic": semantic}, {"keyword": 0.7, "semantic": 0.3})
    assert [hit.paper_id for hit in fused] == [1, 2, 3]
    assert fused[0].score == pytest.approx(0.7)
    ranked, _ = reciprocal_rank_fusion({"keyword": keyword, "semantic": semantic})
    assert ranked[0].paper_id == 2  # rank fusion lets the runner-up of both lists win
    assert fuse({"keyword": keyword}, "convex", {})[0][0].paper_id == 1 and sources[1] == ("keyword", "semantic")


def test_reciprocal_rank_fusion() -> None:
    fused, sources = reciprocal_rank_fusion(
        {"keyword": [Hit(1, 9.0), Hit(2, 5.0)], "semantic": [Hit(2, 0.9), Hit(3, 0.8)]}, k=60
    )
    assert [hit.paper_id for hit in fused] == [2, 1, 3]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert sources == {1: ("keyword",), 2: ("keyword", "semantic"), 3: ("semantic",)}
