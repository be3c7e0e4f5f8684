"""``papertide topics build`` at a given number of papers (issue 31), timed and measured for peak memory.

Two measures, each size in a process of its own so its peak RSS is its own:

- ``stages`` (the default): the model stages that grow with the corpus: grouping (mini-batch k-means on a sample,
  every paper assigned in slices, agglomeration), the 2-D layout (t-SNE over group centroids) and the c-TF-IDF
  labels. The vectors are held as the build holds them (float16 unit vectors, 384-d, MiniLM's shape), drawn around
  ``--clusters`` centres; each paper carries three keyphrases of its cluster and two shared ones, handed over
  phrase by phrase as the build streams them.
- ``build``: the whole ``build_topics`` over a SQLite file (or, with ``--backend postgresql``, a throwaway
  PostgreSQL: tests/helpers/postgres.py) filled first with the same papers (a vector and five keyphrases each,
  listed over two years): reading the vectors in slices, the stages, the labels streamed from the database,
  storing every paper's topic and the weekly counts. The fill is not timed; the peak is the build process's (the
  PostgreSQL server's memory is its own).

    .venv/bin/python bench/topics_build.py --papers 13000 100000 1000000 [--measure build [--backend postgresql]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._backends import database_url  # noqa: E402

FIRST = date(2024, 7, 1)
FILL_BATCH = 10_000


def synthetic(papers: int, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """(each paper's cluster, float16 unit vectors), made a slice at a time so no float32 copy of all exists."""
    from papertide.services import topic_model

    rng = np.random.default_rng(31)
    centres = topic_model.unit(rng.normal(size=(clusters, 384)).astype(np.float32))
    of = rng.integers(0, clusters, size=papers)
    vectors = np.empty((papers, 384), dtype=np.float16)
    for start in range(0, papers, 50_000):
        stop = min(papers, start + 50_000)
        noise = rng.normal(size=(stop - start, 384)).astype(np.float32) * np.float32(0.6 / np.sqrt(384))
        vectors[start:stop] = topic_model.unit(centres[of[start:stop]] + noise)
    return of, vectors


def phrases_of(cluster: int) -> list[str]:
    return [f"c{cluster} a", f"c{cluster} b", f"c{cluster} c", "model", "data"]


def carriers(of: np.ndarray, topic_of: np.ndarray, clusters: int) -> Iterator[tuple[str, np.ndarray]]:
    """Each phrase and the topics of the papers that carry it, as the build streams them from the database."""
    for phrase in ("model", "data"):
        yield phrase, topic_of
    for cluster in range(clusters):
        members = topic_of[of == cluster]
        for phrase in phrases_of(cluster)[:3]:
            yield phrase, members


def run_stages(papers: int, clusters: int) -> dict[str, float]:
    from papertide.services import topic_model

    of, vectors = synthetic(papers, clusters)
    figures: dict[str, float] = {"papers": papers}
    started = time.perf_counter()
    grouping = topic_model.group(vectors)
    figures["group_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    topic_model.layout(vectors, grouping)
    figures["layout_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    topic_model.label_topics(carriers(of, grouping.topic_of, clusters), len(grouping.centroids))
    figures["label_s"] = time.perf_counter() - mark
    figures["total_s"] = time.perf_counter() - started
    figures["topics"] = len(grouping.centroids)
    figures["purity"] = purity(of, grouping.topic_of)
    return figures


def purity(of: np.ndarray, topic_of: np.ndarray) -> float:
    """The share of papers in their topic's most common cluster: 1.0 when no topic mixes clusters."""
    pairs = np.unique(topic_of.astype(np.int64) * (int(of.max()) + 1) + of, return_counts=True)
    best: dict[int, int] = {}
    for pair, count in zip(*pairs, strict=True):
        topic = int(pair) // (int(of.max()) + 1)
        best[topic] = max(best.get(topic, 0), int(count))
    return sum(best.values()) / len(of)


def fill(url: str, papers: int, clusters: int) -> None:
    """A migrated database with ``papers`` papers, their vectors and keyphrases, through the database's inserts.

    On PostgreSQL the vectors' HNSW index is dropped first: the build reads vectors by paper, never through it, and
    keeping it up costs the fill an index insert per paper (370,000 papers in 28 minutes at 1M).
    """
    from sqlalchemy import insert, text

    from papertide.models import Paper, PaperEmbedding, PaperKeyphrase

    of, vectors = synthetic(papers, clusters)
    database = _database(url)
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_paper_embeddings_vector_hnsw"))
    for start in range(0, papers, FILL_BATCH):
        numbers = range(start, min(papers, start + FILL_BATCH))
        rows: list[dict[str, Any]] = [_paper(n + 1) for n in numbers]
        with database.engine.begin() as connection:
            connection.execute(insert(Paper), rows)
            connection.execute(
                insert(PaperEmbedding),
                [
                    {"paper_id": n + 1, "model": "bench", "text_hash": "", "paper_hash": "", "vector": vectors[n]}
                    for n in numbers
                ],
            )
            keyphrases = [{"phrase": p, "paper_id": n + 1} for n in numbers for p in phrases_of(int(of[n]))]
            connection.execute(insert(PaperKeyphrase), keyphrases)
    database.dispose()


def _paper(number: int) -> dict[str, Any]:
    day = FIRST + timedelta(days=number % 730)
    return {
        "id": number,
        "arxiv_id": f"29{number:08d}",
        "title": f"Paper {number}",
        "abstract": "An abstract.",
        "authors": [],
        "author_names": "",
        "primary_category": "cs.LG",
        "categories": ["cs.LG"],
        "versions": [],
        "announced_on": day,
        "published_on": day,
        "content_hash": "h",
    }


def _database(url: str) -> Any:
    from papertide.config import Settings
    from papertide.db import connect, upgrade

    settings = Settings(database_url=url, data_dir=Path(tempfile.gettempdir()))  # type: ignore[call-arg]
    database = connect(settings)
    upgrade(database)
    return database


def run_build(url: str, papers: int) -> dict[str, float]:
    from papertide.services.topics import build_topics

    phases: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        if done == total:
            phases[f"{phase}_s"] = time.perf_counter() - started - sum(phases.values())

    report = build_topics(_database(url), "bench", date(2026, 7, 1), progress)
    return {"papers": papers, "topics": report.topics, "total_s": time.perf_counter() - started, **phases}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, nargs="+", default=[13_000, 100_000])
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--measure", choices=("stages", "build"), default="stages")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="where --measure build")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--fill", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:  # in a process of its own too, so the build's peak is not the fill's
        fill(args.fill, args.one, args.clusters)
        return
    if args.one:
        figures = run_build(args.url, args.one) if args.url else run_stages(args.one, args.clusters)
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    print(f"cores {os.cpu_count()}; load {os.getloadavg()[0]:.1f}; {args.measure} ({args.backend})", flush=True)
    for papers in args.papers:
        with tempfile.TemporaryDirectory() as workdir, database_url(args.backend, Path(workdir), "topics") as url:
            command = [sys.executable, __file__, "--one", str(papers), "--clusters", str(args.clusters)]
            if args.measure == "build":
                started = time.perf_counter()
                subprocess.run([*command, "--fill", url], check=True)
                print(f"{papers:,} papers filled in {time.perf_counter() - started:.0f} s", flush=True)
                command += ["--url", url]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        shown = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        print(f"{shown}; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
