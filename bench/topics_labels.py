"""Topic labels on real papers (issue 31): a build's model stages (``services/topic_model.py``) over the Daily
Papers papers of the shared master file that have an abstract, with the bundled MiniLM's vectors and papertide's
own keyphrases (``services/keyphrases.py``), then, for each topic of at least 10 papers, the share of its 10
papers nearest its centroid whose title or abstract holds at least one of the label's words (the label is the
top 3 keyphrases; a keyphrase's words, lower case, stop words aside). The strongest simple baseline beside it:
labels from the topic's most frequent keyphrases (no TF-IDF weighting).

    .venv/bin/python bench/topics_labels.py --papers 1500
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import time
from collections import Counter
from pathlib import Path

import numpy as np

from papertide.search.embedder import load_embedder, paper_text
from papertide.search.query import fold_keyphrase
from papertide.services import topic_model
from papertide.services.keyphrases import keyphrases

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"of", "for", "the", "and", "in", "on", "with", "a", "an", "to", "via", "by", "from"}


def hf_daily_papers(count: int) -> list[dict[str, str]]:
    found = []
    with gzip.open(SHARED / "papers.jsonl.gz", "rt") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("in_hf_daily") and row["abstract"]:
                found.append(row)
    step = max(1, len(found) // count)
    return found[::step][:count]


def coverage(
    papers: list[dict[str, str]], vectors: np.ndarray, grouping: topic_model.Grouping, labels: list[list[str]]
) -> list[float]:
    shares = []
    for topic, words in enumerate(labels):
        members = np.flatnonzero(grouping.topic_of == topic)
        if len(members) < 10 or not words:
            continue
        nearest = members[np.argsort(-(vectors[members] @ grouping.centroids[topic]))[:10]]
        label_words = {w for phrase in words[:3] for w in _WORD.findall(phrase)} - _STOP
        hits = sum(
            bool(label_words & set(_WORD.findall(f"{papers[p]['title']} {papers[p]['abstract']}".lower())))
            for p in nearest
        )
        shares.append(hits / len(nearest))
    return shares


def frequent_labels(phrases: list[list[str]], topic_of: np.ndarray, topics: int) -> list[list[str]]:
    counts = [Counter[str]() for _ in range(topics)]
    for own, topic in zip(phrases, topic_of, strict=True):
        counts[int(topic)].update(set(own))
    return [[phrase for phrase, _ in counter.most_common(3)] for counter in counts]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=1500)
    parser.add_argument("--merge-distance", type=float, nargs="+", default=[topic_model.MERGE_DISTANCE])
    parser.add_argument("--cache", type=Path, help="keep the vectors here (.npy) and reuse them on the next run")
    args = parser.parse_args()
    papers = hf_daily_papers(args.papers)
    started = time.perf_counter()
    if args.cache and args.cache.exists():
        vectors = np.load(args.cache)
    else:
        vectors = topic_model.unit(load_embedder().encode([paper_text(p["title"], p["abstract"]) for p in papers]))
        if args.cache:
            np.save(args.cache, vectors)
    embedded = time.perf_counter() - started
    phrases = [[fold_keyphrase(k) for k in keyphrases(p["title"], p["abstract"])] for p in papers]
    print(
        f"{len(papers)} Daily Papers papers with abstracts; vectors in {embedded:.0f} s; load {os.getloadavg()[0]:.1f}"
    )
    print(
        "| merge distance | topics | labels | topics scored | mean share of top-10 holding a label word | at ≥ 50 % |"
    )
    print("|---:|---:|---|---:|---:|---:|")
    for distance in args.merge_distance:
        score(papers, vectors, phrases, distance)


def score(papers: list[dict[str, str]], vectors: np.ndarray, phrases: list[list[str]], distance: float) -> None:
    grouping = topic_model.group(vectors, distance)
    count = len(grouping.centroids)
    ctfidf = topic_model.label_words(phrases, grouping.topic_of, count)
    for name, labels in (
        ("c-TF-IDF (papertide)", ctfidf),
        ("most frequent keyphrases", frequent_labels(phrases, grouping.topic_of, count)),
    ):
        shares = coverage(papers, vectors, grouping, labels)
        mean = statistics.mean(shares) if shares else float("nan")
        good = sum(s >= 0.5 for s in shares) / len(shares) if shares else float("nan")
        print(f"| {distance} | {count} | {name} | {len(shares)} | {mean:.2f} | {good:.0%} |")
    print(f"labels at {distance}:", "; ".join(" · ".join(words[:3]) for words in ctfidf[:8]))


if __name__ == "__main__":
    main()
