"""Search quality on real judgements (issue: search): arxiv-sanity-lite's scoring, papertide's keyword retriever
(BM25), its vector retriever and its hybrid (the default search), on two benchmarks.

1. CACM (../shared/data/ir/cacm): 3,204 documents, 52 judged queries; nDCG@10, MAP@100, R@100.
2. Known item: the featured papers of ../shared/data/papers.jsonl.gz that have an abstract, indexed WITHOUT their
   titles; 1,000 of them sampled (seed 0) and queried by title; MRR@10 and R@10.

Each corpus goes through papertide itself: records upserted into a SQLite database, embedded by the embed job
(the real model), searched with ``SearchEngine.search``; the keyword side is the default engine for a SQLite file
(tantivy, its index built by ``sync_keyword_index``; ``--keyword-engine database`` measures FTS5 instead). The
databases are kept in bench/out/quality/ so reruns skip the embedding (delete the folder to start over).

    .venv/bin/python bench/search_quality.py
    .venv/bin/python bench/search_quality.py --benchmarks cacm
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "quality"
sys.path.insert(0, str(ROOT / "src"))

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect, upgrade  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.records import AuthorRecord, PaperRecord  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.semantic import Semantic, open_semantic  # noqa: E402
from papertide.search.service import SearchEngine, SearchOptions  # noqa: E402
from papertide.search.tantivy_keyword import sync_keyword_index  # noqa: E402
from papertide.services.embeddings import embed_pending, embedding_status  # noqa: E402
from papertide.services.papers import upsert_papers  # noqa: E402

TOP = 100
Ranker = Callable[[str], list[str]]


KEYWORD_ENGINE = "auto"


def open_corpus(name: str, records: Iterable[PaperRecord]) -> tuple[Database, Semantic]:
    folder = OUT / name
    settings = Settings(data_dir=folder, page_cache_seconds=0, jobs_interval_seconds=0, keyword_engine=KEYWORD_ENGINE)
    database = connect(settings)
    upgrade(database)
    with database.read_session() as session:
        known = session.scalar(select(Paper.id).limit(1))
    if known is None:
        with database.write_session() as session:
            upsert_papers(session, records)
    semantic = open_semantic(settings)
    assert semantic is not None
    with database.read_session() as session:
        pending = embedding_status(session, semantic.model).pending
    if pending:
        started = time.perf_counter()
        done = embed_pending(database, semantic.embedder, on_batch=lambda b: print(".", end="", flush=True))
        print(f"\n{name}: embedded {done} papers in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    if indexed := sync_keyword_index(database, settings):
        print(f"{name}: keyword index of {indexed} papers built in {time.perf_counter() - started:.1f} s")
    return database, semantic


def cacm_records() -> tuple[list[PaperRecord], dict[str, str]]:
    """CACM documents as papers under made-up valid arXiv ids; returns them and the id -> document id map."""
    records, ids = [], {}
    for line in (SHARED / "ir" / "cacm" / "corpus.jsonl").open():
        doc = json.loads(line)
        arxiv_id = f"1501.{int(doc['_id']):05d}"
        ids[arxiv_id] = doc["_id"]
        authors = tuple(AuthorRecord(name) for name in doc["metadata"].get("authors", []) if name.strip())
        records.append(PaperRecord(arxiv_id, title=doc["title"], abstract=doc["text"] or None, authors=authors))
    return records, ids


def known_item_records() -> tuple[list[PaperRecord], dict[str, str]]:
    """Featured papers with abstracts, titles replaced by one placeholder; returns them and id -> real title."""
    records, titles = [], {}
    with gzip.open(SHARED / "papers.jsonl.gz", "rt") as lines:
        for line in lines:
            paper = json.loads(line)
            if not paper.get("in_hf_daily") or not paper.get("abstract"):
                continue
            titles[paper["arxiv_id"]] = paper["title"]
            authors = tuple(AuthorRecord(name) for name in paper.get("authors") or [] if name.strip())
            records.append(
                PaperRecord(paper["arxiv_id"], title="untitled", abstract=paper["abstract"], authors=authors)
            )
    return records, titles


def rankers(database: Database, semantic: Semantic) -> dict[str, Ranker]:
    with database.read_session() as session:
        papers = [
            (row.arxiv_id, row.title.lower(), row.author_names.lower(), (row.abstract or "").lower())
            for row in session.execute(select(Paper.arxiv_id, Paper.title, Paper.author_names, Paper.abstract))
        ]

    def arxiv_sanity(query: str) -> list[str]:
        # arxiv-sanity-lite serve.py search_rank: 20 per query word in the title, 10 in the authors, and up to
        # 3 per word for its occurrences in the abstract; a Python scan of every paper.
        words = query.lower().strip().split()
        scored = []
        for arxiv_id, title, authors, abstract in papers:
            score = 20.0 * sum(w in title for w in words) + 10.0 * sum(w in authors for w in words)
            score += sum(min(3, abstract.count(w)) for w in words)
            if score > 0:
                scored.append((score, arxiv_id))
        scored.sort(reverse=True)
        return [arxiv_id for _, arxiv_id in scored[:TOP]]

    default = SearchEngine.of(semantic.settings, semantic)
    keyword = SearchEngine(default.keyword)
    rrf = SearchEngine.of(
        semantic.settings.model_copy(update={"search_fusion": "rrf", "search_keyword_weight": 0.5}), semantic
    )

    def papertide(query: str, engine: SearchEngine) -> list[str]:
        with database.read_session() as session:
            results = engine.search(session, parse_query(query), SearchOptions(limit=TOP))
        return [row.arxiv_id for row in results.rows]

    def vector(query: str) -> list[str]:
        with database.read_session() as session:
            hits = semantic.search(session, semantic.embed_query(query), Paper.hidden.is_(False), TOP)
            wanted = select(Paper.id, Paper.arxiv_id).where(Paper.id.in_([h.paper_id for h in hits]))
            ids = {paper_id: arxiv_id for paper_id, arxiv_id in session.execute(wanted)}
        return [ids[hit.paper_id] for hit in hits]

    return {
        "arxiv-sanity-lite scoring": arxiv_sanity,
        "BM25 (papertide keyword)": lambda q: papertide(q, keyword),
        "vector (MiniLM, HNSW)": vector,
        "hybrid RRF, k 60, equal weights": lambda q: papertide(q, rrf),
        f"hybrid {semantic.settings.search_fusion}, keyword share {semantic.settings.search_keyword_weight} "
        "(papertide default)": lambda q: papertide(q, default),
    }


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    gain = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


def average_precision(ranked: list[str], relevant: set[str], k: int = 100) -> float:
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / len(relevant) if relevant else 0.0


def run_cacm() -> list[tuple[str, str, float, float, float, float]]:
    records, ids = cacm_records()
    database, semantic = open_corpus("cacm", records)
    queries = {q["_id"]: q["text"] for q in map(json.loads, (SHARED / "ir" / "cacm" / "queries.jsonl").open())}
    judged: dict[str, set[str]] = {}
    for line in list((SHARED / "ir" / "cacm" / "qrels" / "test.tsv").open())[1:]:
        query_id, doc_id, score = line.split()
        if int(score) > 0:
            judged.setdefault(query_id, set()).add(doc_id)
    rows = []
    for name, rank in rankers(database, semantic).items():
        started = time.perf_counter()
        n, m, r = [], [], []
        for query_id, relevant in judged.items():
            ranked = [ids[a] for a in rank(queries[query_id])]
            n.append(ndcg(ranked, relevant))
            m.append(average_precision(ranked, relevant))
            r.append(len(set(ranked[:TOP]) & relevant) / len(relevant))
        per_query = (time.perf_counter() - started) / len(judged) * 1000
        rows.append(("CACM", name, sum(n) / len(n), sum(m) / len(m), sum(r) / len(r), per_query))
    return rows


def run_known_item(samples: int) -> list[tuple[str, str, float, float, float]]:
    records, titles = known_item_records()
    database, semantic = open_corpus("known-item", records)
    sampled = random.Random(0).sample(sorted(titles), samples)
    rows = []
    for name, rank in rankers(database, semantic).items():
        started = time.perf_counter()
        reciprocal, found = [], []
        for arxiv_id in sampled:
            ranked = rank(titles[arxiv_id])[:10]
            reciprocal.append(1 / (ranked.index(arxiv_id) + 1) if arxiv_id in ranked else 0.0)
            found.append(arxiv_id in ranked)
        per_query = (time.perf_counter() - started) / samples * 1000
        rows.append(
            (f"known item ({len(records):,} papers)", name, sum(reciprocal) / samples, sum(found) / samples, per_query)
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=["cacm", "known-item"], choices=["cacm", "known-item"])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--keyword-engine", choices=["auto", "database"], default="auto")
    args = parser.parse_args()
    global KEYWORD_ENGINE
    KEYWORD_ENGINE = args.keyword_engine
    if "cacm" in args.benchmarks:
        print("| benchmark | method | nDCG@10 | MAP@100 | R@100 | ms/query |\n|---|---|---|---|---|---|")
        for bench, name, n, m, r, ms in run_cacm():
            print(f"| {bench} | {name} | {n:.3f} | {m:.3f} | {r:.3f} | {ms:.0f} |")
    if "known-item" in args.benchmarks:
        print("\n| benchmark | method | MRR@10 | R@10 | ms/query |\n|---|---|---|---|---|")
        for bench, name, mrr, recall, ms in run_known_item(args.samples):
            print(f"| {bench} | {name} | {mrr:.3f} | {recall:.3f} | {ms:.0f} |")


if __name__ == "__main__":
    main()
