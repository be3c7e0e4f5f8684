"""``papertide topics build``'s model stages (issue 31), timed and measured for peak memory at a given number of
papers: grouping (mini-batch k-means + agglomeration), the 2-D layout (t-SNE over group centroids) and the
c-TF-IDF labels, the work that grows with the corpus. The vectors are synthetic, of the real shape (384-d unit
float32, MiniLM's), drawn around ``--clusters`` centres; each paper gets three keyphrases of its cluster and two
shared ones. The database's part (reading vectors, writing each paper's topic) is not in these figures.

Each size runs in a process of its own so its peak RSS is its own:

    .venv/bin/python bench/topics_build.py --papers 13000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def run_one(papers: int, clusters: int) -> dict[str, float]:
    from papertide.services import topic_model

    rng = np.random.default_rng(31)
    centres = topic_model.unit(rng.normal(size=(clusters, 384)).astype(np.float32))
    of = rng.integers(0, clusters, size=papers)
    vectors = np.empty((papers, 384), dtype=np.float32)
    for start in range(0, papers, 50_000):  # in slices: the noise of a million papers at once would double memory
        stop = min(papers, start + 50_000)
        noise = rng.normal(size=(stop - start, 384)).astype(np.float32) * np.float32(0.6 / np.sqrt(384))
        vectors[start:stop] = topic_model.unit(centres[of[start:stop]] + noise)
    phrases = [[f"c{c} a", f"c{c} b", f"c{c} c", "model", "data"] for c in of]
    figures: dict[str, float] = {"papers": papers}
    started = time.perf_counter()
    grouping = topic_model.group(vectors)
    figures["group_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    topic_model.layout(vectors, grouping)
    figures["layout_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    topic_model.label_words(phrases, grouping.topic_of, len(grouping.centroids))
    figures["label_s"] = time.perf_counter() - mark
    figures["total_s"] = time.perf_counter() - started
    figures["topics"] = len(grouping.centroids)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, nargs="+", default=[13_000, 100_000])
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.clusters)))
        return
    print(f"cores {os.cpu_count()}; load {os.getloadavg()[0]:.1f}")
    print("| papers | topics | group s | layout s | label s | total s | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for papers in args.papers:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(papers), "--clusters", str(args.clusters)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        f = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {papers:,} | {f['topics']:.0f} | {f['group_s']:.1f} | {f['layout_s']:.1f} | {f['label_s']:.1f} | "
            f"{f['total_s']:.1f} | {f['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
