"""What the in-corpus citation count (``papers.name_mentions``, issue 27) costs at the full shared corpus size.

Over a copy of the shared corpus that ``bench/search_quality.py --benchmarks sets-shared`` builds
(bench/out/quality/shared: the arXiv snapshot then the Daily Papers days, ~86,000 papers, SQLite):

1. Migration 0018's fill: down to 0017 and up again, timed (every paper's text read once, every name counted).
2. The upsert's added cost: one day's papers taken out and upserted back, with the mention hook and with the hook
   off (the baseline: the upsert as it was), each on its own fresh copy; for the newest listing day (the daily
   case: only that day's text is read again) and for the oldest (a backfill: every later paper is read again
   for the names that gain a namesake).

    .venv/bin/python bench/name_mentions.py
"""

from __future__ import annotations

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
SOURCE = ROOT / "bench" / "out" / "quality" / "shared" / "papertide.db"
sys.path.insert(0, str(ROOT / "src"))

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, alembic_config, connect  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.records import PaperRecord  # noqa: E402
from papertide.services import papers  # noqa: E402


def copied(folder: Path) -> Database:
    """A fresh copy of the shared corpus's database, opened."""
    shutil.copy(SOURCE, folder / "papertide.db")
    return connect(Settings(data_dir=folder, page_cache_seconds=0, jobs_interval_seconds=0))


def migration_seconds(folder: Path) -> float:
    database = copied(folder)
    with database.engine.begin() as connection:
        config = alembic_config(str(database.engine.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
        started = time.perf_counter()
        command.upgrade(config, "head")
        seconds = time.perf_counter() - started
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


def upsert_seconds(folder: Path, pick: Callable[[Any], Any], hooked: bool) -> tuple[int, float]:
    database = copied(folder)
    records = taken_out(database, pick)
    original = papers.count_mentions
    if not hooked:
        papers.count_mentions = lambda session, changes: None  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        with database.write_session() as session:
            papers.upsert_papers(session, records)
        seconds = time.perf_counter() - started
    finally:
        papers.count_mentions = original  # type: ignore[assignment]
        database.dispose()
    return len(records), seconds


def main() -> None:
    with connect(Settings(data_dir=SOURCE.parent, page_cache_seconds=0)).read_session() as session:
        total = session.execute(select(func.count(Paper.id))).scalar_one()
    lines = [f"| name mentions, shared corpus ({total:,} papers, SQLite) | seconds |", "|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        lines.append(f"| migration 0018's fill (down to 0017, up) | {migration_seconds(Path(scratch)):.1f} |")
    for label, pick in (("newest listing day", func.max), ("oldest listing day (a backfill)", func.min)):
        for hooked in (False, True):
            with tempfile.TemporaryDirectory() as scratch:
                count, seconds = upsert_seconds(Path(scratch), pick, hooked)
            what = "with the mention hook" if hooked else "without it (the upsert before)"
            lines.append(f"| upsert of the {label}, {count} papers, {what} | {seconds:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
