"""What keeping ``facet_days`` by triggers (migration 0019) costs the writers (issue 31): the paper upsert (ingest)
of N papers with three categories each, and votes cast and taken back, timed on two fresh SQLite files, one with
the triggers and one without (dropped after migrating: the alternative of counts that a job recomputes costs the
writers nothing, and is behind search until it runs).

    .venv/bin/python bench/facet_triggers.py --papers 20000
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from papertide.config import Settings
from papertide.db import Database, connect, upgrade
from papertide.models import Paper
from papertide.records import AuthorRecord, PaperRecord, VersionRecord
from papertide.services.accounts import create_user
from papertide.services.papers import upsert_papers
from papertide.services.votes import set_vote

BATCH = 1_000
VOTES = 300


def records(papers: int) -> list[PaperRecord]:
    rng = random.Random(31)
    categories = ("cs.CL", "cs.CV", "cs.LG", "cs.AI", "stat.ML", "cs.RO")
    made = []
    for n in range(papers):
        submitted = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(700))
        made.append(
            PaperRecord(
                arxiv_id=f"{2501 + n // 90_000}.{n % 90_000 + 10_000:05d}",
                title=f"Paper {n}",
                abstract="An abstract of a few words.",
                version=1,
                authors=(AuthorRecord("Ada Lovelace"),),
                categories=tuple(rng.sample(categories, 3)),
                versions=(VersionRecord(1, submitted),),
                submitted_at=submitted,
                updated_at=submitted,
                announced_on=submitted.date() + timedelta(days=1),
            )
        )
    return made


def measure(database: Database, made: list[PaperRecord]) -> tuple[float, float]:
    """(seconds to upsert the papers in batches, milliseconds a vote cast or taken back)."""
    started = time.perf_counter()
    for start in range(0, len(made), BATCH):
        with database.write_session() as session:
            upsert_papers(session, made[start : start + BATCH])
    ingest = time.perf_counter() - started
    with database.write_session() as session:
        voter = create_user(session, username="voter", password="a long enough password")
        ids = list(session.execute(select(Paper.id).limit(VOTES)).scalars())
    started = time.perf_counter()
    for up in (True, False):
        for paper_id in ids:
            with database.write_session() as session:
                set_vote(session, voter.id, paper_id, up=up)
    return ingest, (time.perf_counter() - started) * 1000 / (2 * len(ids))


def fresh(workdir: Path, name: str, triggers: bool) -> Database:
    settings = Settings(database_url=f"sqlite:///{workdir / name}", data_dir=workdir)
    database = connect(settings)
    upgrade(database)
    if not triggers:
        with database.engine.begin() as connection:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'facet_days_%'")
            ).scalars()
            for trigger in list(names):
                connection.execute(text(f"DROP TRIGGER {trigger}"))
    return database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=20_000)
    args = parser.parse_args()
    made = records(args.papers)
    load = os.getloadavg()[0]
    print(f"{args.papers:,} papers, 3 categories each; {VOTES} votes cast and taken back; load {load:.1f}")
    with tempfile.TemporaryDirectory() as workdir:
        for triggers in (True, False) * 3:  # taking turns, so a change of load touches both
            database = fresh(Path(workdir), f"{triggers}-{time.monotonic_ns()}.db", triggers)
            ingest, vote = measure(database, made)
            database.dispose()
            label = "with triggers" if triggers else "without"
            print(f"| {label} | {ingest:.1f} s | {vote:.1f} ms | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
