"""The one-sentence gist (issue 31): which abstract sentence papertide shows, measured. Candidates on the same papers:

- the sentence nearest the abstract's own MiniLM vector (papertide's choice, ``services/keyphrases.gists``);
- the first sentence (the strongest simple baseline: abstracts often open with what the paper does);
- the sentence nearest the abstract's TF-IDF centroid (no model).

References, each with what it can say:
1. hf.co's AI summaries (``ai_summary``) where the shared data has them: none in ``hf-daily/*.json`` nor
   ``papers.jsonl.gz``; the one recorded Daily Papers answer (``fixtures/hf``) has 7. Scored by ROUGE-1 F1 and by
   MiniLM cosine between the gist and the summary.
2. CACM's author keywords (1,006 abstracts): the share of a paper's keyword words (Porter stems) the gist holds.
3. The paper's title on the Daily Papers rows with an abstract (``papers.jsonl.gz``): ROUGE-1 recall of the
   title's content words. The title is the authors' own one-line summary.

Throughput: papers per second for the gist alone on one process.

    .venv/bin/python bench/gist.py --papers 500
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from papertide.search.embedder import load_embedder
from papertide.services.keyphrases import gists, sentences

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
_WORD = re.compile(r"[a-z0-9]+")
Method = Callable[[Sequence[str]], list[str | None]]


def stems(text: str) -> set[str]:
    from Stemmer import Stemmer  # PyStemmer, a test extra

    stemmer = stems.__dict__.setdefault("stemmer", Stemmer("porter"))
    return {w for w in stemmer.stemWords(_WORD.findall(text.lower())) if w not in ENGLISH_STOP_WORDS}


def rouge1_f(candidate: str, reference: str) -> float:
    got, wanted = stems(candidate), stems(reference)
    overlap = len(got & wanted)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(wanted)
    return 2 * precision * recall / (precision + recall)


def first_sentence(abstracts: Sequence[str]) -> list[str | None]:
    return [(sentences(a) or [None])[0] for a in abstracts]


def tfidf_centroid(abstracts: Sequence[str]) -> list[str | None]:
    chosen: list[str | None] = []
    for abstract in abstracts:
        parts = sentences(abstract)
        if len(parts) < 2:
            chosen.append(parts[0] if parts else None)
            continue
        matrix = TfidfVectorizer(stop_words="english").fit_transform(parts)
        centroid = np.asarray(matrix.mean(axis=0)).ravel()
        chosen.append(parts[int(np.argmax(matrix @ centroid))])
    return chosen


def hf_summaries() -> list[tuple[str, str]]:
    answer = json.loads((SHARED / "fixtures" / "hf" / "hf_daily_papers_2026-07-09.json").read_text())
    return [(i["paper"]["summary"], i["paper"]["ai_summary"]) for i in answer if i["paper"].get("ai_summary")]


def cacm(limit: int) -> list[tuple[str, str]]:
    rows = []
    for line in (SHARED / "ir" / "cacm" / "corpus.jsonl").open():
        record = json.loads(line)
        keywords = ((record.get("metadata") or {}).get("keywords") or "").split(" .C")[0]
        if keywords and len(sentences(record["text"])) > 1:
            rows.append((record["text"], keywords))
    return rows[:limit]


def titled(limit: int) -> list[tuple[str, str]]:
    rows = []
    with gzip.open(SHARED / "papers.jsonl.gz", "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("in_hf_daily") and record.get("abstract") and len(sentences(record["abstract"])) > 1:
                rows.append((record["abstract"], record["title"]))
    return rows[:limit]


def keyword_share(gist: str, keywords: str) -> float:
    wanted = stems(keywords)
    return len(stems(gist) & wanted) / len(wanted) if wanted else 0.0


def title_recall(gist: str, title: str) -> float:
    wanted = stems(title)
    return len(stems(gist) & wanted) / len(wanted) if wanted else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=500, help="papers per reference set (CACM, titles)")
    args = parser.parse_args()
    embedder = load_embedder()
    embedder.encode(["warm up"])
    cosine = lambda a, b: float(np.dot(*embedder.encode([a, b])))  # noqa: E731
    methods: dict[str, Method] = {
        "nearest the abstract's MiniLM vector (papertide)": lambda abstracts: gists(embedder, abstracts),
        "first sentence": first_sentence,
        "nearest the TF-IDF centroid": tfidf_centroid,
    }
    hf = hf_summaries()
    sets = {"cacm": cacm(args.papers), "titles": titled(args.papers)}
    print(
        f"load {os.getloadavg()[0]:.1f}; hf.co AI summaries: {len(hf)}; CACM: {len(sets['cacm'])}; "
        f"titles: {len(sets['titles'])}"
    )
    print("| method | hf.co ROUGE-1 F1 | hf.co cosine | CACM keyword share | title recall | papers/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, method in methods.items():
        hf_gists = method([a for a, _ in hf])
        hf_rouge = statistics.fmean(rouge1_f(g or "", s) for g, (_, s) in zip(hf_gists, hf, strict=True))
        hf_cos = statistics.fmean(cosine(g or "", s) for g, (_, s) in zip(hf_gists, hf, strict=True))
        started = time.perf_counter()
        cacm_gists = method([a for a, _ in sets["cacm"]])
        rate = len(sets["cacm"]) / (time.perf_counter() - started)
        share = statistics.fmean(keyword_share(g or "", k) for g, (_, k) in zip(cacm_gists, sets["cacm"], strict=True))
        title_gists = method([a for a, _ in sets["titles"]])
        recall = statistics.fmean(
            title_recall(g or "", t) for g, (_, t) in zip(title_gists, sets["titles"], strict=True)
        )
        print(f"| {name} | {hf_rouge:.3f} | {hf_cos:.3f} | {share:.3f} | {recall:.3f} | {rate:.1f} |")


if __name__ == "__main__":
    main()
