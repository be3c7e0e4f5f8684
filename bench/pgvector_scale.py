"""pgvector's HNSW index at the size of all of arXiv (issue 7): load and build time, sizes, and the latency and
recall of papertide's nearest-neighbour query over N vectors (default 2,700,000), in a PostgreSQL of its own.

bench/scale.py leaves PostgreSQL's vector side out (inserting millions of vectors into a live HNSW index takes hours
on 2 cores); this measures it apart, as a bulk load would do it: the synthetic stand-in vectors of
bench/search_speed.py (low-rank plus noise, normalised, with the neighbourhood structure of real embeddings) copied
into a table shaped like ``paper_embeddings``, then the index built (``CREATE INDEX``, m 16 and ef_construction 64
as migration 0004). Queries are 200 real query vectors (the bundled model on titles and abstract openings of the
shared snapshot), searched the way ``PgVectorRetriever`` searches (iterative scan, top 100, ``hnsw.ef_search`` as it
sets it and wider) after one untimed pass, without the join to ``papers`` and the filters, which
bench/search_speed.py measures at 75k. Recall@100 is of 100 held-out stand-ins against their exact top 100 (numpy
over every vector).

    .venv/bin/python bench/pgvector_scale.py
    .venv/bin/python bench/pgvector_scale.py --records 1000000 --build-workers 2
    .venv/bin/python bench/pgvector_scale.py --after-pid 1234   # build now, time queries once process 1234 ended
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.ingest import SHARED_SNAPSHOT  # noqa: E402
from bench.search_speed import percentiles, synthetic_vectors  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402

from papertide.search.embedder import load_embedder  # noqa: E402

QUERIES = 200
RECALL_QUERIES = 100
TOP = 100
CHUNK = 100_000


def query_texts() -> list[str]:
    """Titles and 12-word abstract openings of the shared snapshot (seed 0), like search_speed's mixed queries."""
    with gzip.open(SHARED_SNAPSHOT, "rt") as lines:
        records = [json.loads(line) for _, line in zip(range(20_000), lines, strict=False)]
    picked = random.Random(0).sample(records, QUERIES)
    half = QUERIES // 2
    titles = [" ".join(r["title"].split()) for r in picked[:half]]
    return titles + [" ".join((r["abstract"] or r["title"]).split()[:12]) for r in picked[half:]]


def load(connection: psycopg.Connection, records: int) -> tuple[np.ndarray, float]:
    """Copy N stand-in vectors in (binary COPY), returning them for the exact search, and the seconds it took."""
    vectors = np.empty((records, 384), dtype=np.float32)
    statement = "COPY embeddings (paper_id, vector) FROM STDIN WITH (FORMAT BINARY)"
    ids = range(1, records + 1)
    seconds = copy_stand_ins(connection, statement, ["int8", "vector"], ids, lambda key, v: (key, v), into=vectors)
    return vectors, seconds


def copy_stand_ins(
    connection: psycopg.Connection,
    statement: str,
    types: list[str],
    keys: Sequence[Any],
    row: Callable[[Any, np.ndarray], Sequence[Any]],
    into: np.ndarray | None = None,
) -> float:
    """Binary-COPY one stand-in vector per key (``row`` makes its table row), CHUNK at a time with progress, then
    commit; the vectors also go ``into`` an array when one is given. Returns the seconds it took."""
    generator = np.random.default_rng(0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            vectors = synthetic_vectors(len(chunk), generator)
            if into is not None:
                into[start : start + len(chunk)] = vectors
            with cursor.copy(statement) as copy:
                copy.set_types(types)
                for key, vector in zip(chunk, vectors, strict=True):
                    copy.write_row(row(key, vector))
            print(f"  vectors loaded: {start + len(chunk):,}", file=sys.stderr, flush=True)
    connection.commit()
    return time.perf_counter() - started


def build(
    connection: psycopg.Connection, workers: int, table: str = "embeddings", name: str = "embeddings_hnsw"
) -> float:
    """Build the HNSW index over a loaded table (m and ef_construction as migration 0004); returns seconds."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The whole graph in memory: a graph that outgrows maintenance_work_mem is built far more slowly on disk.
        cursor.execute("SET maintenance_work_mem = '10GB'")
        cursor.execute(f"SET max_parallel_maintenance_workers = {workers}")
        cursor.execute(
            f"CREATE INDEX {name} ON {table} USING hnsw (vector vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
    connection.commit()
    return time.perf_counter() - started


def search(connection: psycopg.Connection, vector: np.ndarray, ef_search: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
        rows = cursor.execute(
            "SELECT paper_id FROM embeddings ORDER BY vector <=> %s LIMIT %s", (vector, TOP)
        ).fetchall()
        cursor.execute("COMMIT")
    return [paper_id for (paper_id,) in rows]


def timed_queries(
    connection: psycopg.Connection, vectors: np.ndarray, query_vectors: np.ndarray, ef_search: int
) -> str:
    """Latency of the real query vectors; recall of held-out stand-ins. Real queries lie outside the stand-ins'
    subspace, where every stand-in is about as far as any other, so their "exact top 100" is noise that no graph
    can find (recall 0.2–0.5 at 2.7M in the first run); queries drawn like the corpus have real neighbours."""
    samples = []
    for vector in query_vectors:
        started = time.perf_counter()
        search(connection, vector, ef_search)
        samples.append(time.perf_counter() - started)
    p50, p99 = percentiles(samples)
    held_out = synthetic_vectors(RECALL_QUERIES, np.random.default_rng(1))
    recall = np.mean([len(set(search(connection, v, ef_search)) & exact_top(vectors, v)) / TOP for v in held_out])
    return f"top {TOP}, ef_search {ef_search}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, recall@{TOP} {recall:.3f}"


def exact_top(vectors: np.ndarray, query: np.ndarray) -> set[int]:
    scores = vectors @ query
    return {int(i) + 1 for i in np.argpartition(-scores, TOP)[:TOP]}  # paper ids start at 1


def wait_for(pid: int) -> None:
    print(f"  waiting for process {pid} to end before timing queries", file=sys.stderr, flush=True)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(10)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the PostgreSQL it started
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2_700_000)
    parser.add_argument("--build-workers", type=int, default=1, help="parallel maintenance workers for the build")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[100, 200, 400], help="hnsw.ef_search values")
    parser.add_argument("--after-pid", type=int, help="time the queries only after this process has ended")
    args = parser.parse_args()
    embedder = load_embedder()
    query_vectors = embedder.encode(query_texts())
    cluster = PostgresCluster.start()
    rows = [f"### pgvector {args.records:,} vectors (384 dimensions), build workers {args.build_workers}"]
    try:
        with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql")) as connection:
            connection.execute("CREATE EXTENSION vector")
            register_vector(connection)
            connection.execute("CREATE TABLE embeddings (paper_id bigint PRIMARY KEY, vector vector(384) NOT NULL)")
            connection.commit()
            vectors, load_seconds = load(connection, args.records)
            rows.append(f"load (binary COPY): {load_seconds:.0f} s")
            print(rows[-1], file=sys.stderr, flush=True)
            build_seconds = build(connection, args.build_workers)
            sizes = connection.execute(
                "SELECT pg_total_relation_size('embeddings') - pg_relation_size('embeddings_hnsw'), "
                "pg_relation_size('embeddings_hnsw')"
            ).fetchone()
            assert sizes is not None
            table_gb, index_gb = sizes[0] / 1e9, sizes[1] / 1e9
            rows.append(f"HNSW build: {build_seconds:.0f} s; table {table_gb:.2f} GB, index {index_gb:.2f} GB")
            print(rows[-1], file=sys.stderr, flush=True)
            if args.after_pid:
                wait_for(args.after_pid)
            for vector in query_vectors:
                search(connection, vector, max(args.ef_search))  # read the index into the cache before timing
            for ef_search in args.ef_search:
                rows.append(timed_queries(connection, vectors, query_vectors, ef_search))
                print(rows[-1], file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    print("\n".join(rows))


if __name__ == "__main__":
    main()
