"""Trend and topic page latency at scale (issue 31): ``/trends`` (two series: a category and a keyphrase over 26
weeks), ``/topics`` and ``/topics/{slug}`` answered in process (TestClient, the whole app: middleware, database,
templates) over a SQLite file of N synthetic papers listed over two years, 1 % of them with the keyphrase, every
paper in one of 300 topics with two years of weekly counts. Word queries are left out: they need the keyword
index built over N papers first (bench/scale.py measures search itself).

    .venv/bin/python bench/field_pages.py --papers 100000
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import connect, upgrade

TOPICS = 300
FIRST = date(2024, 7, 1)
DAYS = 730
REQUESTS = 30


def fill(path: Path, papers: int) -> None:
    rng = random.Random(31)
    sql = sqlite3.connect(path)
    rows, cats, phrases, placed = [], [], [], []
    for n in range(1, papers + 1):
        day = FIRST + timedelta(days=rng.randrange(DAYS))
        cat = rng.choice(("cs.CL", "cs.CV", "cs.LG", "cs.AI", "stat.ML"))
        rows.append(
            (
                n,
                f"29{n:08d}",
                f"Paper {n}",
                "An abstract.",
                "[]",
                "",
                cat,
                f'["{cat}"]',
                "[]",
                day,
                "h",
                0,
                0,
                0,
                rng.randrange(30),
                "2026-01-01",
                "2026-01-01",
            )
        )
        cats.append((n, cat, 1))
        if n % 100 == 0:
            phrases.append(("graph neural networks", n))
        placed.append((n, 1 + n % TOPICS, rng.random(), rng.random()))
    sql.executemany(
        "INSERT INTO papers (id, arxiv_id, title, abstract, authors, author_names, primary_category, categories, "
        "versions, announced_on, content_hash, upvote_count, comment_count, hidden, hf_upvotes, created_at, "
        "modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    sql.executemany("INSERT INTO paper_categories (paper_id, category, is_primary) VALUES (?,?,?)", cats)
    sql.executemany("INSERT INTO paper_keyphrases (phrase, paper_id) VALUES (?,?)", phrases)
    sql.execute(
        "INSERT INTO topic_builds (id, built_at, papers, topics, seconds, method) "
        "VALUES (1, '2026-01-01', ?, ?, 0, 'bench')",
        (papers, TOPICS),
    )
    centroid = bytes(384 * 4)
    sql.executemany(
        "INSERT INTO topics (id, slug, label, words, status, size, growth, x, y, centroid) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (t, f"topic-{t}", f"topic {t}", "[]", "live", papers // TOPICS, 0.0, rng.random(), rng.random(), centroid)
            for t in range(1, TOPICS + 1)
        ],
    )
    sql.executemany("INSERT INTO topic_papers (paper_id, topic_id, x, y) VALUES (?,?,?,?)", placed)
    weeks = [FIRST + timedelta(weeks=w) for w in range(DAYS // 7)]
    sql.executemany(
        "INSERT INTO topic_weeks (topic_id, week, papers, upvotes) VALUES (?,?,?,?)",
        [(t, w, papers // TOPICS // len(weeks), 0) for t in range(1, TOPICS + 1) for w in weeks],
    )
    sql.commit()
    sql.execute("ANALYZE")
    sql.close()


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "field.db"
        settings = Settings(
            database_url=f"sqlite:///{path}",
            data_dir=Path(workdir),
            semantic_search=False,
            page_cache_seconds=0.0,
            jobs_interval_seconds=0.0,
        )  # type: ignore[call-arg]
        database = connect(settings)
        upgrade(database)
        database.dispose()
        started = time.perf_counter()
        fill(path, args.papers)
        print(f"{args.papers:,} papers filled in {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}")
        with TestClient(create_app(settings)) as client:
            until = "2026-W26"
            for path_ in (
                f"/trends?q=cat%3Acs.CL&q=kw%3A%22graph+neural+networks%22&weeks=26&until={until}",
                f"/trends.json?q=cat%3Acs.CL&weeks=26&until={until}",
                "/topics",
                "/topics/topic-7",
            ):
                median, p95 = p50(client, path_)
                print(f"| `{path_}` | {median:.0f} ms | {p95:.0f} ms |")


if __name__ == "__main__":
    main()
