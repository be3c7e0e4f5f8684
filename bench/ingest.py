"""Snapshot ingest throughput and peak memory, on SQLite and PostgreSQL (issue: foundation).

Runs the real command, ``papertide ingest snapshot FILE``, in a fresh database per run and reports records/s and
the peak RSS of the ingest process. Corpora: the shared 75,639 real snapshot records, and N records (default
1,000,000) made by resampling the real lines with fresh, valid new-style ids.

    .venv/bin/python bench/ingest.py                 # both corpora, both backends
    .venv/bin/python bench/ingest.py --records 200000 --backends sqlite
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
SHARED_SNAPSHOT = ROOT.parent / "shared" / "data" / "arxiv-snapshot.jsonl.gz"
sys.path.insert(0, str(ROOT))

from bench._process import high_water_kb  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402


def resampled_snapshot(target: Path, records: int) -> Path:
    """Write ``records`` real lines cycled from the shared file, each with a fresh id (3001.00000 onwards)."""
    with gzip.open(SHARED_SNAPSHOT, "rt") as source:
        lines = [json.loads(line) for line in source]
    with target.open("w") as out:
        for index in range(records):
            record = dict(lines[index % len(lines)])
            month, number = divmod(index, 100_000)
            record["id"] = f"{30 + month // 12:02d}{month % 12 + 1:02d}.{number:05d}"
            out.write(json.dumps(record) + "\n")
    return target


def run_ingest(database_url: str, path: Path, data_dir: Path) -> tuple[float, int, str]:
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": database_url, "PAPERTIDE_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "papertide", "db", "upgrade"], env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "papertide", "ingest", "snapshot", str(path)]
    return run_measured(command, env, data_dir / "ingest.log")


def run_measured(command: list[str], env: dict[str, str], log_path: Path) -> tuple[float, int, str]:
    """Run a command: seconds, its peak RSS in MB and the last line it wrote to stderr (its summary)."""
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, high_water_kb(process.pid))
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    stderr = log_path.read_text()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{stderr}")
    return elapsed, peak_kb // 1024, stderr.strip().splitlines()[-1]


@contextmanager
def database(
    backend: str, workdir: Path, cluster: PostgresCluster | None, name: str, keep: bool = False
) -> Iterator[str]:
    """A fresh database for one run, removed afterwards unless ``keep``."""
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        yield f"sqlite:///{path}"
        if not keep:
            path.unlink(missing_ok=True)
        return
    assert cluster is not None
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield cluster.url(name)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="size of the resampled corpus")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="papertide-bench-") as tmp:
        workdir = Path(tmp)
        print(f"writing {args.records:,} resampled records…", file=sys.stderr)
        corpora = [
            ("shared 75,639 (gz)", SHARED_SNAPSHOT, 75_639),
            (f"resampled {args.records:,}", resampled_snapshot(workdir / "big.jsonl", args.records), args.records),
        ]
        cluster = PostgresCluster.start() if "postgresql" in args.backends else None
        rows = []
        try:
            for backend in args.backends:
                for index, (label, path, count) in enumerate(corpora):
                    with database(backend, workdir, cluster, f"bench_{index}") as url:
                        elapsed, peak_mb, summary = run_ingest(url, path, workdir)
                    rows.append((backend, label, elapsed, count / elapsed, peak_mb, summary))
                    print(f"{backend:10} {label:22} {elapsed:8.1f} s", file=sys.stderr)
        finally:
            if cluster is not None:
                cluster.stop()
    print("| backend | corpus | time (s) | records/s | peak RSS (MB) | summary |")
    print("|---|---|---:|---:|---:|---|")
    for backend, label, elapsed, rate, peak_mb, summary in rows:
        print(f"| {backend} | {label} | {elapsed:.1f} | {rate:,.0f} | {peak_mb} | {summary} |")


if __name__ == "__main__":
    main()
