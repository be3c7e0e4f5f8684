"""Scale: papertide at the size of all of arXiv (issue 7). A corpus of N papers (default 2,700,000: the shared real
snapshot records resampled with fresh ids) plus the 822 real Daily Papers days, on SQLite and/or PostgreSQL.

Reports ingest time, database and index sizes, search p50/p99 (keyword, vector, hybrid; 200 mixed queries, in
process, as bench/search_speed.py measures them), daily page latency over HTTP, and the peak RSS of a web process
(`papertide serve`, one process) after it served pages and hybrid searches.

Vectors are synthetic stand-ins (low-rank, normalised, like real embeddings): embedding 2.7M abstracts takes ~40 h
on these 2 cores. On SQLite they are folded into the usearch file (half precision), which the web process maps. On
PostgreSQL they are bulk-loaded as docs/deployment.md advises for a first backfill (HNSW index dropped, binary
COPY, index built again in memory, ~45 minutes at 2.7M), and keyword search uses tantivy (PostgreSQL's own full
text runs past 10 s a query at this size; `--no-vectors` samples it). PostgreSQL runs with shared_buffers 8 GB.
Latency depends on what the caches hold: after a restart, run `--existing` twice and keep the second.

    .venv/bin/python bench/scale.py --backends sqlite
    .venv/bin/python bench/scale.py --backends postgresql --workdir /big/disk/scale --keep   # leave it running
    .venv/bin/python bench/scale.py --existing /path/to/scale.db   # search and web figures on a kept SQLite run
    .venv/bin/python bench/scale.py --existing postgresql+psycopg://postgres@127.0.0.1:PORT/scale --workdir DIR
    .venv/bin/python bench/scale.py --records 1000000 --backends postgresql --no-vectors
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from pgvector.psycopg import register_vector
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._process import high_water_kb  # noqa: E402
from bench.ingest import database, resampled_snapshot, run_ingest, run_measured  # noqa: E402
from bench.pgvector_scale import build, copy_stand_ins  # noqa: E402
from bench.search_speed import latency, measure, mixed_queries, timed  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402
from tests.helpers.servers import free_port  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect  # noqa: E402
from papertide.search.engine import SearchEngine, SearchOptions  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.semantic import model_name, open_semantic  # noqa: E402
from papertide.search.tantivy_keyword.sync import sync_keyword_index  # noqa: E402

DAILY_DIR = ROOT.parent / "shared" / "data" / "hf-daily"
PAGE_REQUESTS = 200
SLOW_QUERIES = 10  # PostgreSQL's own full text takes seconds a query at this size: a sample, not all 200
SLOW_QUERY_TIMEOUT_MS = 10_000
# docs/deployment.md: PostgreSQL's own cache holds the 5.6 GB HNSW index at 2.7M papers (with 4 GB, a hybrid search
# took 55 ms at p50 instead of 43-48).
SHARED_BUFFERS = "8GB"


def directory_bytes(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def sizes(settings: Settings) -> str:
    if settings.is_sqlite:
        db_file = Path(settings.resolved_database_url.split(":///", 1)[1])
        return (
            f"database {directory_bytes(db_file) / 1e9:.2f} GB, vector index "
            f"{directory_bytes(settings.vector_index_path) / 1e9:.2f} GB, keyword index "
            f"{directory_bytes(settings.keyword_index_path) / 1e9:.2f} GB"
        )
    db = connect(settings)
    with db.read_session() as session:
        total = session.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        parts = session.execute(
            text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
                "('papers', 'paper_embeddings', 'ix_paper_embeddings_vector_hnsw', 'ix_papers_search_tsv')"
            )
        ).all()
    db.dispose()
    return f"database {total / 1e9:.2f} GB (" + ", ".join(f"{name} {size / 1e9:.2f} GB" for name, size in parts) + ")"


def resident_split(pid: int) -> str:
    """A process's resident memory now: its own (anonymous) pages against mapped files' pages, which are page
    cache shared with every process mapping the same file (SQLite's vector file, tantivy's segments)."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {
        key: int(value.split()[0])
        for key, value in (line.split(":", 1) for line in status.splitlines())
        if key.startswith("Rss")
    }
    return f"now {kb['RssAnon'] // 1024} MB own memory + {kb['RssFile'] // 1024} MB of mapped files"


def web_process(settings: Settings, workdir: Path, queries: list[str]) -> list[str]:
    """Start `papertide serve`, time daily pages over HTTP, run hybrid searches, report its peak RSS."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAPERTIDE_")},
        "PAPERTIDE_DATABASE_URL": settings.resolved_database_url,
        "PAPERTIDE_DATA_DIR": str(settings.data_dir),
        "PAPERTIDE_PORT": str(port),
        "PAPERTIDE_PAGE_CACHE_SECONDS": "0",
        "PAPERTIDE_JOBS_INTERVAL_SECONDS": "0",
        "PAPERTIDE_SEMANTIC_SEARCH": str(settings.semantic_search).lower(),
        "PAPERTIDE_KEYWORD_ENGINE": settings.keyword_engine,
    }
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "papertide", "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not come up; see {workdir / 'serve.log'}")
            time.sleep(1)
        days = sorted(p.stem for p in DAILY_DIR.glob("*.json"))
        with httpx.Client(base_url=base, timeout=120) as http:
            for name, paths in (
                ("daily page", [f"/papers/date/{days[-1 - (n % 60)]}" for n in range(PAGE_REQUESTS)]),
                ("front page", ["/"] * 50),
                (
                    f"search page ({'hybrid' if settings.semantic_search else 'keyword'})",
                    [f"/search?q={q}" for q in queries],
                ),
            ):
                http.get(paths[0])  # warm (the first search loads the model)
                samples = []
                for path in paths:
                    started = time.perf_counter()
                    response = http.get(path)
                    response.raise_for_status()
                    samples.append(time.perf_counter() - started)
                ordered = sorted(samples)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                rows.append(
                    f"{name} over HTTP: p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
                )
        rows.append(f"web process peak RSS: {high_water_kb(server.pid) // 1024} MB ({resident_split(server.pid)})")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


class Report(list[str]):
    """Rows printed as they are measured, so a run that fails late keeps what it found."""

    def add(self, *rows: str) -> None:
        for row in rows:
            print(row, file=sys.stderr, flush=True)
            self.append(row)


def run_backend(backend: str, url: str, corpus: Path, workdir: Path, records: int, vectors: bool) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report()
    report.add(f"### {backend}: {records:,} resampled records + the 822 Daily Papers days")
    seconds, peak, _ = run_ingest(url, corpus, workdir)
    report.add(f"ingest snapshot: {seconds:.0f} s ({records / seconds:,.0f} records/s), peak RSS {peak} MB")
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": url, "PAPERTIDE_DATA_DIR": str(workdir)}
    command = [sys.executable, "-m", "papertide", "ingest", "daily", str(DAILY_DIR)]
    seconds, peak, _ = run_measured(command, env, workdir / "daily.log")
    report.add(f"ingest daily (822 days, then the keyword index on SQLite): {seconds:.0f} s, peak RSS {peak} MB")
    if not vectors:
        report.extend(keyword_only(backend, url, workdir, records))
        settings = Settings(database_url=url, data_dir=workdir, keyword_engine="tantivy", semantic_search=False)
        report.add(*sizes_and_web(settings, workdir))
        return report
    if backend == "sqlite":
        report.extend(measure(backend, f"{records:,}", url, workdir))  # vectors, indexes, in-process search latency
        settings = Settings(database_url=url, data_dir=workdir, page_cache_seconds=0, jobs_interval_seconds=0)
        report.add(*sizes_and_web(settings, workdir))
        return report
    settings = Settings(
        database_url=url, data_dir=workdir, keyword_engine="tantivy", page_cache_seconds=0, jobs_interval_seconds=0
    )
    report.add(*bulk_vectors(url, model_name(settings)))
    report.add(keyword_index(settings))
    report.extend(search_and_web(settings, workdir))
    return report


def bulk_vectors(url: str, model: str) -> list[str]:
    """A stand-in vector for every paper, loaded as a first backfill should be (docs/deployment.md): the HNSW index
    dropped, binary COPY, the index built again in memory, then VACUUM ANALYZE (visibility map and statistics, so
    the candidate checks can read indexes alone). The stand-ins carry each paper's content hash, so an embed job
    counts them as current."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=False) as connection:
        register_vector(connection)
        papers = connection.execute("SELECT id, content_hash FROM papers ORDER BY id").fetchall()
        connection.execute("DROP INDEX ix_paper_embeddings_vector_hnsw")
        columns = "paper_id, model, text_hash, paper_hash, vector, created_at"
        now = datetime.now(UTC)
        load_seconds = copy_stand_ins(
            connection,
            f"COPY paper_embeddings ({columns}) FROM STDIN WITH (FORMAT BINARY)",
            ["int4", "varchar", "varchar", "varchar", "vector", "timestamptz"],
            papers,
            lambda paper, vector: (paper[0], model, "synthetic", paper[1], vector, now),
        )
        build_seconds = build(connection, 1, "paper_embeddings", "ix_paper_embeddings_vector_hnsw")
        started = time.perf_counter()
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")
        vacuum_seconds = time.perf_counter() - started
    return [
        f"vectors: {len(papers):,} stand-ins by binary COPY in {load_seconds:.0f} s, HNSW index built in "
        f"{build_seconds:.0f} s, VACUUM ANALYZE {vacuum_seconds:.0f} s"
    ]


def keyword_index(settings: Settings) -> str:
    db = connect(settings)
    started = time.perf_counter()
    indexed = sync_keyword_index(db, settings)
    db.dispose()
    size = directory_bytes(settings.keyword_index_path) / 1e9
    return f"tantivy index: {indexed:,} papers in {time.perf_counter() - started:.0f} s, {size:.2f} GB"


def keyword_only(backend: str, url: str, workdir: Path, records: int) -> list[str]:
    """Without vectors (PostgreSQL's HNSW build over 2.7M vectors takes hours on 2 cores): keyword latency with
    the database's own full text (a sample, each query cut at SLOW_QUERY_TIMEOUT_MS), and with tantivy."""
    rows = []
    for engine, count in (("database", SLOW_QUERIES), ("tantivy", None)):
        settings = Settings(
            database_url=url,
            data_dir=workdir,
            semantic_search=False,
            keyword_engine=engine,
            db_statement_timeout_ms=SLOW_QUERY_TIMEOUT_MS,
        )
        db = connect(settings)
        started = time.perf_counter()
        indexed = sync_keyword_index(db, settings)
        if indexed:
            size = directory_bytes(settings.keyword_index_path) / 1e9
            rows.append(f"tantivy index: {indexed:,} papers in {time.perf_counter() - started:.0f} s, {size:.2f} GB")
            print(rows[-1], file=sys.stderr, flush=True)
        queries = mixed_queries(db)
        timeouts: list[str] = []

        searcher = SearchEngine.of(settings)

        def keyword(
            query: str, searcher: SearchEngine = searcher, db: Database = db, timeouts: list[str] = timeouts
        ) -> object:
            try:
                with db.read_session() as session:
                    return searcher.search(session, parse_query(query), SearchOptions())
            except OperationalError as error:
                if "statement timeout" not in str(error):
                    raise
                timeouts.append(query)
                return None

        p50, p99 = timed(keyword, queries[:count])
        db.dispose()
        label = f"keyword ({engine}{f', first {count} queries' if count else ''})"
        if timeouts:
            label += f"; {len(timeouts)} runs cut at the {SLOW_QUERY_TIMEOUT_MS // 1000} s statement timeout"
        rows.append(f"| {backend} | {records:,} | {label} | {p50:.1f} | {p99:.1f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def search_and_web(settings: Settings, workdir: Path) -> list[str]:
    """Search latency in process (keyword, vector, hybrid), sizes, and the web process, on a built database."""
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    db = connect(settings)
    with db.read_session() as session:
        papers = session.execute(text("SELECT count(*) FROM papers")).scalar_one()
    semantic = open_semantic(settings)
    assert semantic is not None
    report = Report()
    report.extend(latency(db, settings, semantic, backend, f"{papers:,}"))  # printed as measured
    db.dispose()
    report.add(*sizes_and_web(settings, workdir))
    return report


def sizes_and_web(settings: Settings, workdir: Path) -> list[str]:
    db = connect(settings)
    queries = mixed_queries(db)
    db.dispose()
    return [sizes(settings), *web_process(settings, workdir, queries)]


def existing(target: str, workdir: Path | None) -> list[str]:
    """Search latency, sizes and the web process again on a database an earlier run kept (a SQLite file with its
    vector file and keyword index beside it, or a PostgreSQL URL with the keyword index under ``workdir``), e.g.
    after a change to search: a rebuild at 2.7M takes hours."""
    if target.startswith("postgresql"):
        if workdir is None:
            raise SystemExit("--existing with a PostgreSQL URL needs --workdir (where its tantivy index lies)")
        url, data_dir, engine = target, workdir, "tantivy"
    else:
        path = Path(target).resolve()
        url, data_dir, engine = f"sqlite:///{path}", path.parent, "auto"
    settings = Settings(
        database_url=url, data_dir=data_dir, keyword_engine=engine, page_cache_seconds=0, jobs_interval_seconds=0
    )
    print(f"### the kept database {target}", file=sys.stderr, flush=True)
    return search_and_web(settings, data_dir)


def tune(cluster: PostgresCluster) -> None:
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"ALTER SYSTEM SET shared_buffers = '{SHARED_BUFFERS}'"))
    admin.dispose()
    cluster.pause()
    cluster.resume()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the PostgreSQL it started
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2_700_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--corpus", type=Path, help="reuse (or write) the resampled corpus here")
    parser.add_argument(
        "--no-vectors", action="store_true", help="keyword search only (and a sample of the database's own full text)"
    )
    parser.add_argument("--workdir", type=Path, help="work here (kept) instead of a temporary directory")
    parser.add_argument(
        "--keep", action="store_true", help="leave the databases (and PostgreSQL, running) in --workdir"
    )
    parser.add_argument("--existing", help="measure search and the web process on this SQLite file or PostgreSQL URL")
    args = parser.parse_args()
    if args.existing:
        print("\n".join(existing(args.existing, args.workdir)))
        return
    if args.keep and args.workdir is None:
        raise SystemExit("--keep needs --workdir")
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="papertide-scale-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        corpus = args.corpus or workdir / "big.jsonl"
        if not corpus.exists():
            resampled_snapshot(corpus, args.records)
        cluster = PostgresCluster.start() if "postgresql" in args.backends else None
        try:
            if cluster is not None:
                tune(cluster)
            for backend in args.backends:
                with database(backend, workdir, cluster, "scale", keep=args.keep) as url:
                    report += run_backend(backend, url, corpus, workdir / backend, args.records, not args.no_vectors)
                    if args.keep:
                        print(
                            f"kept: {url}, data under {workdir / backend}, cluster {cluster and cluster.root}",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            if cluster is not None and not args.keep:
                cluster.stop()
    print("\n".join(report))


if __name__ == "__main__":
    main()
