"""Keyphrases (issue 31): which local extractor papertide uses, measured. Three candidates on the same papers:

- yake (statistical, one document at a time, no model): papertide's choice (``services/keyphrases.py``);
- the bundled MiniLM with maximal marginal relevance (KeyBERT's method: 1–3-word candidates without stop words at
  their edges, each embedded, picked by MMR with diversity 0.5 against the abstract's vector);
- TF-IDF over 1–3-grams fitted on the same corpus (the strongest simple baseline).

References: the author keywords of CACM's articles with an abstract (``ir/cacm``, 1,006 of 3,204) and hf.co's
``ai_keywords`` where the shared data has them (the one recorded Daily Papers answer in ``fixtures/hf``). A
predicted phrase matches a reference phrase when their Porter-stemmed words are equal; F1@5 and F1@10 per paper,
averaged. Throughput is papers per second on one process.

    .venv/bin/python bench/keyphrases.py --papers 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer

from papertide.search.embedder import load_embedder
from papertide.services.keyphrases import keyphrases

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
_WORD = re.compile(r"[a-z0-9]+")


def _stem(phrase: str) -> tuple[str, ...]:
    from Stemmer import Stemmer  # PyStemmer, a test extra

    stemmer = _stem.__dict__.setdefault("stemmer", Stemmer("porter"))
    return tuple(stemmer.stemWords(_WORD.findall(phrase.lower())))


def cacm(limit: int) -> list[tuple[str, str, list[str]]]:
    papers = []
    for line in (SHARED / "ir" / "cacm" / "corpus.jsonl").open():
        record = json.loads(line)
        keywords = (record.get("metadata") or {}).get("keywords") or ""
        keywords = keywords.split(" .C")[0]  # the CR classification codes follow
        if record["text"] and keywords:
            papers.append((record["title"], record["text"], [k.strip() for k in keywords.split(",") if k.strip()]))
    return papers[:limit]


def hf_keywords() -> list[tuple[str, str, list[str]]]:
    answer = json.loads((SHARED / "fixtures" / "hf" / "hf_daily_papers_2026-07-09.json").read_text())
    papers = []
    for item in answer:
        paper = item["paper"]
        words = [k for k in paper.get("ai_keywords") or [] if k.strip()]
        if words and paper.get("summary"):
            papers.append((paper["title"], paper["summary"], words))
    return papers


def f1_at(predicted: list[str], reference: list[str], k: int) -> float:
    wanted = {_stem(p) for p in reference}
    got = [_stem(p) for p in predicted[:k]]
    hits = len({g for g in got if g in wanted})
    if not hits:
        return 0.0
    precision, recall = hits / max(1, len(got)), hits / len(wanted)
    return 2 * precision * recall / (precision + recall)


def mmr_keyphrases(embedder: object, title: str, abstract: str, top: int = 10, diversity: float = 0.5) -> list[str]:
    text = f"{title}. {abstract}"
    vectorizer = CountVectorizer(ngram_range=(1, 3), stop_words="english").fit([text])
    candidates = list(vectorizer.get_feature_names_out())
    vectors = embedder.encode([text, *candidates])  # type: ignore[attr-defined]
    document, phrases = vectors[0], vectors[1:]
    relevance = phrases @ document
    chosen = [int(np.argmax(relevance))]
    while len(chosen) < min(top, len(candidates)):
        redundancy = (phrases @ phrases[chosen].T).max(axis=1)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return [candidates[i] for i in chosen]


def tfidf_method(papers: list[tuple[str, str, list[str]]]) -> list[list[str]]:
    texts = [f"{t}. {a}" for t, a, _ in papers]
    vectorizer = TfidfVectorizer(ngram_range=(1, 3), stop_words=list(ENGLISH_STOP_WORDS), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    names = vectorizer.get_feature_names_out()
    out = []
    for row in range(matrix.shape[0]):
        values = matrix.getrow(row).toarray().ravel()
        out.append([names[i] for i in np.argsort(-values)[:10] if values[i] > 0])
    return out


def evaluate(name: str, papers: list[tuple[str, str, list[str]]], method: object) -> dict[str, float]:
    started = time.perf_counter()
    predicted = method(papers)  # type: ignore[operator]
    seconds = time.perf_counter() - started
    return {
        "method": name,
        "F1@5": statistics.fmean(f1_at(p, ref, 5) for p, (_, _, ref) in zip(predicted, papers, strict=True)),
        "F1@10": statistics.fmean(f1_at(p, ref, 10) for p, (_, _, ref) in zip(predicted, papers, strict=True)),
        "papers/s": len(papers) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=300, help="CACM articles to score (of 1,006)")
    args = parser.parse_args()
    embedder = load_embedder()
    embedder.encode(["warm up"])
    methods = {
        "yake (papertide)": lambda ps: [keyphrases(t, a) for t, a, _ in ps],
        "MiniLM + MMR 0.5": lambda ps: [mmr_keyphrases(embedder, t, a) for t, a, _ in ps],
        "TF-IDF 1-3-grams": tfidf_method,
    }
    print(f"load {os.getloadavg()[0]:.1f}")
    for corpus, papers in (("CACM author keywords", cacm(args.papers)), ("hf.co ai_keywords", hf_keywords())):
        print(f"\n{corpus}: {len(papers)} papers")
        print("| method | F1@5 | F1@10 | papers/s |\n|---|---:|---:|---:|")
        for name, method in methods.items():
            row = evaluate(name, papers, method)
            print(f"| {name} | {row['F1@5']:.3f} | {row['F1@10']:.3f} | {row['papers/s']:.1f} |")


if __name__ == "__main__":
    main()
