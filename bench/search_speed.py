"""Search latency, index build time and memory (issue: search), on SQLite and PostgreSQL, plus embedding
throughput of the embed job against the raw model.

Corpora: the shared snapshot (75,639 real records) and N records resampled from it with fresh ids (default
1,000,000), each loaded with ``papertide ingest snapshot``. Vectors for the speed run are synthetic stand-ins, not
model output (embedding 1M abstracts takes ~18 hours on 2 cores): unit vectors drawn from a 48-dimensional
subspace plus noise, which, unlike uniform random vectors, have the neighbourhood structure of real embeddings.
Query vectors come from the real model, so the query-embedding time is inside every vector and hybrid figure.

200 mixed queries (seed 0): 80 keyword (2–3 title words), 80 natural language (the first 12 words of an
abstract), 40 filtered (2 title words + ``cat:`` + ``after:``); each through ``SearchEngine.search`` (keyword, hybrid)
and the vector retriever alone; 10 warm-up queries first. arxiv-sanity-lite's scan runs on a few queries only (it
takes seconds per query), reported per query.

    .venv/bin/python bench/search_speed.py                              # 75k and 1M, SQLite and PostgreSQL
    .venv/bin/python bench/search_speed.py --records 200000 --backends sqlite
    .venv/bin/python bench/search_speed.py --only-embedding
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.ingest import SHARED_SNAPSHOT, database, resampled_snapshot, run_ingest  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect  # noqa: E402
from papertide.models import Paper, PaperEmbedding  # noqa: E402
from papertide.search.embedder import load_embedder, paper_text  # noqa: E402
from papertide.search.engine import SearchEngine, SearchOptions  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.semantic import Semantic, model_name, open_semantic  # noqa: E402
from papertide.search.tantivy_keyword.sync import sync_keyword_index  # noqa: E402
from papertide.services.embeddings import embed_pending  # noqa: E402

WARM_UP = 10
SCAN_QUERIES = 3


def synthetic_vectors(count: int, generator: np.random.Generator) -> np.ndarray:
    basis = np.random.default_rng(7).standard_normal((48, 384)).astype(np.float32)
    vectors = generator.standard_normal((count, 48)).astype(np.float32) @ basis
    vectors += 0.3 * generator.standard_normal((count, 384)).astype(np.float32) * float(np.abs(vectors).mean())
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def store_vectors(db: Database, model: str) -> float:
    """Give every paper a synthetic vector, in batches; returns seconds (PostgreSQL's HNSW index included). The
    stand-ins carry each paper's content hash, so an embed job counts them as current and leaves them alone."""
    started = time.perf_counter()
    generator = np.random.default_rng(0)
    with db.read_session() as session:
        papers = session.execute(select(Paper.id, Paper.content_hash).order_by(Paper.id)).all()
    for start in range(0, len(papers), 20_000):
        chunk = papers[start : start + 20_000]
        vectors = synthetic_vectors(len(chunk), generator)
        rows = [
            {"paper_id": pid, "model": model, "text_hash": "synthetic", "paper_hash": content_hash, "vector": vector}
            for (pid, content_hash), vector in zip(chunk, vectors, strict=True)
        ]
        with db.write_session() as session:
            session.execute(insert(PaperEmbedding), rows)
    return time.perf_counter() - started


def mixed_queries(db: Database) -> list[str]:
    rng = random.Random(0)
    with db.read_session() as session:
        sample = session.execute(select(Paper.title, Paper.abstract).order_by(Paper.id).limit(20_000)).all()
    picked = rng.sample(sample, 200)

    def title_words(title: str, count: int) -> str:
        words = [w.strip(".,:;()").lower() for w in title.split() if len(w) > 3 and w.isalpha()]
        return " ".join(rng.sample(words, min(count, len(words)))) or title.split()[0]

    keyword = [title_words(t, rng.choice((2, 3))) for t, _ in picked[:80]]
    natural = [" ".join((a or t).split()[:12]) for t, a in picked[80:160]]
    filtered = [
        f"{title_words(t, 2)} cat:{rng.choice(['cs.CV', 'cs.CL', 'cs.LG', 'cs.AI'])} after:2024-01-01"
        for t, _ in picked[160:]
    ]
    return keyword + natural + filtered


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def timed(run: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    for query in queries[:WARM_UP]:
        run(query)
    samples = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def arxiv_sanity_scan(db: Database, queries: list[str]) -> float:
    """Seconds per query of arxiv-sanity-lite's search_rank (a Python scan of every paper)."""
    with db.read_session() as session:
        papers = [
            (row.title, row.author_names, row.abstract or "")
            for row in session.execute(select(Paper.title, Paper.author_names, Paper.abstract))
        ]
    started = time.perf_counter()
    for query in queries:
        words = query.lower().split()
        scored = []
        for title, authors, abstract in papers:
            lowered_title, lowered_authors, lowered_abstract = title.lower(), authors.lower(), abstract.lower()
            score = 20.0 * sum(w in lowered_title for w in words) + 10.0 * sum(w in lowered_authors for w in words)
            score += sum(min(3, lowered_abstract.count(w)) for w in words)
            if score > 0:
                scored.append(score)
        scored.sort(reverse=True)
    return (time.perf_counter() - started) / len(queries)


def measure(backend: str, label: str, url: str, workdir: Path) -> list[str]:
    settings = Settings(database_url=url, data_dir=workdir, page_cache_seconds=0, jobs_interval_seconds=0)
    db = connect(settings)
    vector_seconds = store_vectors(db, model_name(settings))
    semantic = open_semantic(settings)
    assert semantic is not None
    index_seconds = 0.0
    if semantic.file_index is not None:
        started = time.perf_counter()
        with db.read_session() as session:
            semantic.file_index.fold(session, force=True)
        index_seconds = time.perf_counter() - started
    keyword_seconds, keyword_bytes = 0.0, 0
    if settings.keyword_index_path is not None:
        started = time.perf_counter()
        sync_keyword_index(db, settings)
        keyword_seconds = time.perf_counter() - started
        keyword_bytes = sum(f.stat().st_size for f in settings.keyword_index_path.rglob("*") if f.is_file())
    rows = latency(db, settings, semantic, backend, label)
    scan = arxiv_sanity_scan(db, mixed_queries(db)[:SCAN_QUERIES])
    rows.append(f"| {backend} | {label} | arxiv-sanity-lite scan ({SCAN_QUERIES} queries) | {scan * 1000:.0f} | – |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    rows.append(
        f"| {backend} | {label} | build: vectors stored {vector_seconds:.0f} s, file index {index_seconds:.0f} s, "
        f"keyword index {keyword_seconds:.0f} s ({keyword_bytes / 1e6:.0f} MB); bench process peak RSS {peak} MB | | |"
    )
    db.dispose()
    return rows


def latency(db: Database, settings: Settings, semantic: Semantic, backend: str, label: str) -> list[str]:
    """p50/p99 of the mixed queries, in process: keyword, vector alone, hybrid (query vectors cached by the vector
    pass, as repeated queries are), hybrid with the model run for every query."""
    engine = "tantivy" if settings.keyword_index_path is not None else "database"
    queries = mixed_queries(db)
    semantic.embed_query("warm the model")
    keyword_only, both = SearchEngine.of(settings), SearchEngine.of(settings, semantic)

    def keyword(query: str) -> object:
        with db.read_session() as session:
            return keyword_only.search(session, parse_query(query), SearchOptions())

    def hybrid(query: str) -> object:
        with db.read_session() as session:
            return both.search(session, parse_query(query), SearchOptions())

    def vector(query: str) -> object:
        with db.read_session() as session:
            vector = semantic.embed_query(parse_query(query).natural_text or query)
            return semantic.search(session, vector, Paper.hidden.is_(False), 100)

    def hybrid_uncached(query: str) -> object:
        semantic.clear_query_cache()  # the passes above cached every query vector; here the model runs each time
        return hybrid(query)

    rows = []
    for name, run in (
        (f"keyword ({engine})", keyword),
        ("vector", vector),
        ("hybrid", hybrid),
        ("hybrid, query vectors not cached", hybrid_uncached),
    ):
        p50, p99 = timed(run, queries)
        rows.append(f"| {backend} | {label} | {name} | {p50:.1f} | {p99:.1f} |")
        print(rows[-1], file=sys.stderr)
    return rows


def embedding_throughput(count: int) -> list[str]:
    """The raw model on N abstracts against the embed job on the same N papers in a fresh SQLite database."""
    with gzip.open(SHARED_SNAPSHOT, "rt") as lines:
        records = [json.loads(line) for _, line in zip(range(count), lines, strict=False)]
    texts = [paper_text(r["title"], r["abstract"]) for r in records]
    embedder = load_embedder()
    embedder.encode(texts[:32])
    started = time.perf_counter()
    embedder.encode(texts)
    raw = count / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / "subset.jsonl"
        snapshot.write_text("".join(json.dumps(r) + "\n" for r in records))
        url = f"sqlite:///{tmp}/embed.db"
        run_ingest(url, snapshot, Path(tmp))
        db = connect(Settings(database_url=url, data_dir=Path(tmp)))
        started = time.perf_counter()
        embed_pending(db, embedder)
        job = count / (time.perf_counter() - started)
        db.dispose()
    return [
        f"| raw model (embedder.encode) | {count} | {raw:.1f} |",
        f"| papertide embed job (read, hash, encode, write) | {count} | {job:.1f} "
        f"({(raw / job - 1) * 100:+.1f} % time overhead) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--corpora", nargs="+", default=["shared", "resampled"], choices=["shared", "resampled"])
    parser.add_argument("--embedding-sample", type=int, default=500)
    parser.add_argument("--only-embedding", action="store_true")
    args = parser.parse_args()
    if args.embedding_sample:
        embedding = embedding_throughput(args.embedding_sample)
        print("| path | abstracts | abstracts/s |\n|---|---:|---:|\n" + "\n".join(embedding))
    if args.only_embedding:
        return
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="papertide-speed-") as tmp:
        workdir = Path(tmp)
        corpora = []
        if "shared" in args.corpora:
            corpora.append(("75,639 real", SHARED_SNAPSHOT))
        if "resampled" in args.corpora:
            corpora.append((f"{args.records:,} resampled", resampled_snapshot(workdir / "big.jsonl", args.records)))
        cluster = PostgresCluster.start() if "postgresql" in args.backends else None
        try:
            for backend in args.backends:
                for index, (label, path) in enumerate(corpora):
                    with database(backend, workdir, cluster, f"speed_{index}") as url:
                        started = time.perf_counter()
                        run_ingest(url, path, workdir)
                        print(f"{backend} {label}: ingested in {time.perf_counter() - started:.0f} s", file=sys.stderr)
                        rows += measure(backend, label, url, workdir / f"{backend}-{index}")
        finally:
            if cluster is not None:
                cluster.stop()
    print("\n| backend | corpus | mode | p50 (ms) | p99 (ms) |\n|---|---|---|---:|---:|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
