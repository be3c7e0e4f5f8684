"""What the in-corpus citation count (``papers.name_mentions``, issue 27) costs: the bulk loads that defer it to one
recount, the recount pass itself, migration 0018's fill and the incremental hook of single arrivals.

1. The corpora built from nothing, as ``bench/search_quality.py`` builds them, into fresh SQLite files: hf-daily
   (``ingest_daily`` of the 822 day files: a bulk load, which defers the count and recounts once at its end) and
   the shared corpus (the arXiv snapshot, then the day files: two bulk loads; the first recounts every paper, the
   second counts its own changes). Each total beside the time the counts at the loads' ends took (the load's own
   ``finish_mentions``, timed where the load calls it).
2. Over a copy of the shared corpus that ``bench/search_quality.py --benchmarks sets-shared`` built
   (bench/out/quality/shared): the recount pass (every paper's title and abstract read once), migration 0018's
   fill (down to 0017 and up), and one listing day taken out and upserted back with the incremental hook and
   deferred (the upsert's own cost), each on its own fresh copy, for the newest listing day (the daily case) and
   the oldest (a backfill of old papers one batch at a time, what bulk loads no longer do).

    .venv/bin/python bench/name_mentions.py [--skip-builds]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import delete, func, select

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SOURCE = ROOT / "bench" / "out" / "quality" / "shared" / "papertide.db"
sys.path.insert(0, str(ROOT / "src"))

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, alembic_config, connect, upgrade  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.records import PaperRecord  # noqa: E402
from papertide.services import ingest  # noqa: E402
from papertide.services.ingest import ingest_daily, ingest_snapshot  # noqa: E402
from papertide.services.name_mentions import (  # noqa: E402
    DeferredMentions,
    RecountProgress,
    finish_mentions,
    recount_mentions,
)
from papertide.services.papers import upsert_papers  # noqa: E402


def opened(folder: Path) -> Database:
    return connect(Settings(data_dir=folder, page_cache_seconds=0, jobs_interval_seconds=0))


def copied(folder: Path) -> Database:
    """A fresh copy of the shared corpus's database, opened."""
    shutil.copy(SOURCE, folder / "papertide.db")
    return opened(folder)


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def build_lines(label: str, loads: list[Callable[[Database], object]]) -> list[str]:
    """A corpus built into a fresh file by ``loads``, with the time its recounts took."""
    recounts: list[float] = []

    def finish(database: Database, recount: RecountProgress, deferred: DeferredMentions | None) -> None:
        recounts.append(timed(lambda: finish_mentions(database, recount, deferred)))

    ingest.finish_mentions = finish  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            database = opened(Path(scratch))
            upgrade(database)
            total = sum(timed(lambda load=load: load(database)) for load in loads)  # type: ignore[misc]
            with database.read_session() as session:
                papers = session.execute(select(func.count(Paper.id))).scalar_one()
            database.dispose()
    finally:
        ingest.finish_mentions = finish_mentions
    spent = " + ".join(f"{seconds:.1f}" for seconds in recounts)
    return [
        f"| build {label} ({papers:,} papers): bulk loads with their recounts | {total:.1f} |",
        f"| of which the recounts at the loads' ends | {spent} |",
    ]


def migration_seconds(folder: Path) -> float:
    database = copied(folder)
    with database.engine.begin() as connection:
        config = alembic_config(str(database.engine.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
        seconds = timed(lambda: command.upgrade(config, "head"))
    database.dispose()
    return seconds


def taken_out(database: Database, pick: Callable[[Any], Any]) -> list[PaperRecord]:
    """The papers of one listing day, as records, deleted from the database."""
    with database.write_session() as session:
        day = session.execute(select(pick(Paper.announced_on))).scalar_one()
        rows = session.execute(select(Paper).where(Paper.announced_on == day)).scalars().all()
        records = [
            PaperRecord(row.arxiv_id, title=row.title, abstract=row.abstract, version=row.version, announced_on=day)
            for row in rows
        ]
        session.execute(delete(Paper).where(Paper.announced_on == day))
    return records


def upsert_seconds(folder: Path, pick: Callable[[Any], Any], deferred: bool) -> tuple[int, float]:
    database = copied(folder)
    records = taken_out(database, pick)

    def upsert() -> None:
        with database.write_session() as session:
            upsert_papers(session, records, defer_mentions=DeferredMentions() if deferred else None)

    seconds = timed(upsert)
    database.dispose()
    return len(records), seconds


def shared_copy_lines() -> list[str]:
    with opened(SOURCE.parent).read_session() as session:
        total = session.execute(select(func.count(Paper.id))).scalar_one()
    lines = [f"| over a copy of the shared corpus ({total:,} papers) | |"]
    with tempfile.TemporaryDirectory() as scratch:
        database = copied(Path(scratch))
        lines.append(f"| the recount pass | {timed(lambda: recount_mentions(database)):.1f} |")
        database.dispose()
    with tempfile.TemporaryDirectory() as scratch:
        lines.append(f"| migration 0018's fill (down to 0017, up) | {migration_seconds(Path(scratch)):.1f} |")
    for label, pick in (("newest listing day", func.max), ("oldest listing day (a backfill)", func.min)):
        for deferred in (True, False):
            with tempfile.TemporaryDirectory() as scratch:
                count, seconds = upsert_seconds(Path(scratch), pick, deferred)
            what = "deferred (the upsert alone)" if deferred else "with the incremental hook"
            lines.append(f"| upsert of the {label}, {count} papers, {what} | {seconds:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-builds", action="store_true", help="Only the measurements over the shared copy.")
    args = parser.parse_args()
    lines = ["| name mentions, SQLite | seconds |", "|---|---|"]
    if not args.skip_builds:
        daily = SHARED / "hf-daily"
        lines += build_lines("hf-daily", [lambda database: ingest_daily(database, daily)])
        snapshot = SHARED / "arxiv-snapshot.jsonl.gz"
        lines += build_lines(
            "the shared corpus",
            [lambda database: ingest_snapshot(database, snapshot), lambda database: ingest_daily(database, daily)],
        )
    copies = shared_copy_lines() if SOURCE.exists() else [f"| (no {SOURCE}: build it with search_quality.py) | |"]
    print("\n".join(lines + copies), flush=True)


if __name__ == "__main__":
    main()
