"""Trend and topic page latency at scale (issue 31): ``/trends`` (one series, and two: a category and a keyphrase
over 26 weeks), ``/trends.json``, ``/topics`` and ``/topics/{slug}`` answered in process (TestClient, the whole
app: middleware, database, templates) over a database of N synthetic papers listed over two years, 1 % of them
with the keyphrase, every paper in one of 300 topics with two years of weekly counts. One more series,
``cat:cs.CL -qqq``, takes the path that counts a series from its papers (an exclusion is not a single filter), as
every series did before the counts kept by day (migration 0019); series of several filters (a keyphrase and a
category, two categories, a category and votes) and one of votes alone are counted from their papers too.
``--words`` also builds the tantivy keyword index (untimed) and times word series: "diffusion" (in 2 % of the
titles) and "learning" (10 %).

The rows go in through the database's own inserts, so its triggers append to ``facet_days`` as ingest would (a
row per paper and category); the one-filter series are timed again once ``fold_facet_days`` folded them to a row
a day, as the weekly topics job does.
``--backend postgresql`` starts a throwaway PostgreSQL (tests/helpers/postgres.py).

    .venv/bin/python bench/field_pages.py --papers 100000 [--backend postgresql]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, insert

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import connect, upgrade
from papertide.models import Paper, PaperCategory, PaperKeyphrase, Topic, TopicBuild, TopicPaper, TopicWeek
from papertide.search.tantivy_keyword.sync import sync_keyword_index
from papertide.services.trends import fold_facet_days

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._backends import database_url  # noqa: E402

TOPICS = 300
FIRST = date(2024, 7, 1)
DAYS = 730
REQUESTS = 30
BATCH = 20_000
CATEGORIES = ("cs.CL", "cs.CV", "cs.LG", "cs.AI", "stat.ML")
# Words for the word series: "diffusion" in 2 % of the titles, "learning" in 10 % (with --words).
_TOPIC_WORDS = {0: " on diffusion learning"} | dict.fromkeys((10, 20, 30, 40), " on learning")


def fill(connection: Connection, papers: int) -> None:
    rng = random.Random(31)
    connection.execute(insert(TopicBuild), [{"id": 1, "papers": papers, "topics": TOPICS, "method": "bench"}])
    connection.execute(
        insert(Topic),
        [
            {
                "id": t,
                "slug": f"topic-{t}",
                "label": f"topic {t}",
                "words": [],
                "size": papers // TOPICS,
                "x": rng.random(),
                "y": rng.random(),
                "centroid": bytes(384 * 4),
            }
            for t in range(1, TOPICS + 1)
        ],
    )
    for start in range(1, papers + 1, BATCH):
        _fill_batch(connection, rng, range(start, min(papers, start + BATCH - 1) + 1))
    weeks = [FIRST + timedelta(weeks=w) for w in range(DAYS // 7)]
    connection.execute(
        insert(TopicWeek),
        [
            {"topic_id": t, "week": w, "papers": papers // TOPICS // len(weeks), "upvotes": 0}
            for t in range(1, TOPICS + 1)
            for w in weeks
        ],
    )


def _fill_batch(connection: Connection, rng: random.Random, numbers: range) -> None:
    rows: list[dict[str, Any]] = []
    for n in numbers:
        day = FIRST + timedelta(days=rng.randrange(DAYS))
        cat = rng.choice(CATEGORIES)
        rows.append(
            {
                "id": n,
                "arxiv_id": f"29{n:08d}",
                "title": f"Paper {n}{_TOPIC_WORDS.get(n % 50, '')}",
                "abstract": "An abstract.",
                "authors": [],
                "author_names": "",
                "primary_category": cat,
                "categories": [cat],
                "versions": [],
                "announced_on": day,
                "published_on": day,  # the effective date trends and search count by
                "content_hash": "h",
                "hf_upvotes": rng.randrange(30),
            }
        )
    connection.execute(insert(Paper), rows)
    connection.execute(
        insert(PaperCategory),
        [{"paper_id": r["id"], "category": r["primary_category"], "is_primary": True} for r in rows],
    )
    connection.execute(
        insert(PaperKeyphrase),
        [{"phrase": "graph neural networks", "paper_id": r["id"]} for r in rows if r["id"] % 100 == 0],
    )
    connection.execute(
        insert(TopicPaper),
        [{"paper_id": r["id"], "topic_id": 1 + r["id"] % TOPICS, "x": rng.random(), "y": rng.random()} for r in rows],
    )


def p50(client: TestClient, path: str) -> tuple[float, float]:
    assert client.get(path).status_code == 200, path  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--words", action="store_true", help="build the keyword index and time word series")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, database_url(args.backend, Path(workdir), "field") as url:
        settings = Settings(
            database_url=url,
            data_dir=Path(workdir),
            semantic_search=False,
            page_cache_seconds=0.0,
            jobs_interval_seconds=0.0,
            keyword_engine="tantivy",
        )  # type: ignore[call-arg]
        database = connect(settings)
        upgrade(database)
        started = time.perf_counter()
        with database.engine.begin() as connection:
            fill(connection, args.papers)
        settle(database.engine, args.backend)
        filled = time.perf_counter() - started
        print(f"{args.backend}: {args.papers:,} papers filled in {filled:.0f} s; load {os.getloadavg()[0]:.1f}")
        words: tuple[str, ...] = ()
        if args.words:
            started = time.perf_counter()
            sync_keyword_index(database, settings)
            print(f"keyword index built in {time.perf_counter() - started:.0f} s", flush=True)
            words = tuple(f"/trends.json?q={word}&weeks=26&until=2026-W26" for word in ("diffusion", "learning"))
        until = "2026-W26"
        kept = (
            f"/trends?q=cat%3Acs.CL&weeks=26&until={until}",
            f"/trends?q=cat%3Acs.CL&q=kw%3A%22graph+neural+networks%22&weeks=26&until={until}",
            f"/trends.json?q=cat%3Acs.CL&weeks=26&until={until}",
        )
        # Series of several filters: counted from their papers, read through their narrowest facet.
        combined = tuple(
            f"/trends.json?q={q}&weeks=26&until={until}"
            for q in (
                "kw%3A%22graph+neural+networks%22+cat%3Acs.CL",
                "cat%3Acs.CL+cat%3Acs.LG",
                "cat%3Acs.CL+upvotes%3A%3E20",
            )
        )
        others = (
            f"/trends.json?q=cat%3Acs.CL+-qqq&weeks=26&until={until}",
            *combined,
            f"/trends.json?q=upvotes%3A%3E20&weeks=26&until={until}",
            "/topics",
            "/topics/topic-7",
            *words,
        )
        timed(settings, "counts as appended (a row per paper and category)", kept + others)
        with database.write_session() as session:
            started = time.perf_counter()
            removed = fold_facet_days(session)
        print(f"folded {removed:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
        settle(database.engine, args.backend)
        database.dispose()
        timed(settings, "counts folded (a row a day)", kept)


def settle(engine: Engine, backend: str) -> None:
    """The planner's statistics after a bulk load; on PostgreSQL also the visibility map, as autovacuum sets it
    soon after a load (an index-only scan reads the rows of pages not yet marked all-visible)."""
    if backend == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")  # VACUUM cannot run inside a transaction


def timed(settings: Settings, state: str, paths: tuple[str, ...]) -> None:
    print(f"{state}:", flush=True)
    with TestClient(create_app(settings)) as client:
        for path in paths:
            median, p95 = p50(client, path)
            print(f"| `{path}` | {median:.0f} ms | {p95:.0f} ms | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
