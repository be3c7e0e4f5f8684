"""Embedding throughput by database batch (issue 26: a stop waits for at most one batch): ``embed_pending`` over the
same real abstracts with batches of 32 papers (one model call, today's ``embed_new_papers``) and of 128 (four
calls, before), alternated in one process so that a loaded box slows both alike.

    .venv/bin/python bench/embed_batches.py --papers 512 --rounds 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))

from papertide.config import Settings  # noqa: E402
from papertide.db import connect, upgrade  # noqa: E402
from papertide.search.embedder import load_embedder  # noqa: E402
from papertide.services.embeddings import embed_pending  # noqa: E402
from papertide.services.ingest import ingest_snapshot  # noqa: E402


def snapshot_with_abstracts(target: Path, count: int) -> Path:
    with gzip.open(SHARED / "arxiv-snapshot.jsonl.gz", "rt") as lines, target.open("w") as out:
        kept = 0
        for line in lines:
            if kept == count:
                break
            if json.loads(line).get("abstract"):
                out.write(line)
                kept += 1
    return target


def timed_run(snapshot: Path, batch: int, folder: Path) -> float:
    """Papers per second embedding ``snapshot`` into a fresh SQLite database in batches of ``batch``."""
    folder.mkdir()
    settings = Settings(database_url=f"sqlite:///{folder / 'bench.db'}", data_dir=folder)  # type: ignore[call-arg]
    database = connect(settings)
    upgrade(database)
    count = ingest_snapshot(database, snapshot).added
    embedder = load_embedder()
    embedder.encode(["warm up"])
    started = time.perf_counter()
    embed_pending(database, embedder, batch_size=batch)
    seconds = time.perf_counter() - started
    database.dispose()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        snapshot = snapshot_with_abstracts(Path(scratch) / "subset.jsonl", args.papers)
        rates: dict[int, list[float]] = {32: [], 128: []}
        for round_ in range(args.rounds):
            for batch in (32, 128) if round_ % 2 == 0 else (128, 32):
                rates[batch].append(timed_run(snapshot, batch, Path(scratch) / f"{batch}-{round_}"))
    for batch, values in rates.items():
        shown = ", ".join(f"{value:.1f}" for value in values)
        print(f"| {batch} papers per batch | median {statistics.median(values):.1f} papers/s ({shown}) |")


if __name__ == "__main__":
    main()
