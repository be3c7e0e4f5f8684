"""Search quality on real judgements (issue: search): papertide's keyword retriever, its vector retriever and its
hybrid (the default search), beside two outside baselines run on the same rows, on four benchmarks.

1. CACM (../shared/data/ir/cacm): 3,204 documents, 52 judged queries; nDCG@10, MAP@100, R@100.
2. Known item by title: the featured papers of ../shared/data/papers.jsonl.gz that have an abstract, indexed
   WITHOUT their titles; 1,000 of them sampled (seed 0) and queried by title; MRR@10 and R@10.
3. Described known item (bench/descriptive_queries.jsonl): paraphrased descriptions of papers, each written to
   avoid its title's distinctive words, queried over the rows ``papertide ingest daily ../shared/data/hf-daily``
   produces (13,193 featured papers, 5,954 with abstracts); MRR@10 and R@10, also split by whether the target has
   an abstract in that corpus.
4. The same descriptions over the full shared corpus (the arXiv snapshot, then the Daily Papers days: ~86,000
   papers).
5. Issue 27's query sets (bench/QUERY_SETS.md): known items (bench/known_item_queries.jsonl: famous papers by
   their names, titles, coined names, title prefixes, pasted titles) and paraphrases
   (bench/paraphrase_queries.jsonl), over the hf-daily corpus (``sets``) and the full shared corpus
   (``sets-shared``); MRR@10 on each split ("tune" chose the weights, "report" is what the figures claim), and on
   the report split per kind and for title-only targets.
6. Known-item search's namesake prior (``namesakes``, ``namesakes-shared``): the known-item set through the
   keyword search under each ordering of true namesakes' equal votes (age alone; the in-corpus citation count
   ``papers.name_mentions`` as a count, as a rate per paper that could have named it: ``search/namesakes.py``),
   on the whole set and on its namesake-sensitive queries (the target shares its name or a 3-word title prefix
   with another paper of the corpus).

Baselines beside papertide's own retrievers, on the same rows: bm25s (BM25, Snowball English stems, English stop
words, one field of title + authors + abstract) and exact cosine similarity over papertide's stored MiniLM
vectors (numpy, no index).

Each corpus goes through papertide itself: records upserted (or ingested by the same service functions the CLI
calls) into a SQLite database, embedded by the embed job, searched with ``SearchEngine.search``; the keyword side is
the default engine for a SQLite file (tantivy). Databases live in bench/out/quality/<corpus>/. Vectors are cached
by text hash in bench/out/vectors/<model>/ and shared by every corpus, so a rebuilt database (delete its folder,
as a schema change needs) re-embeds nothing the cache holds. ``--embed cached`` never runs the model: papers the
cache lacks stay without vectors, and a corpus with any such paper is measured by its keyword retrievers only.

    .venv/bin/python bench/search_quality.py
    .venv/bin/python bench/search_quality.py --benchmarks cacm descriptive --embed cached
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "quality"
VECTORS = ROOT / "bench" / "out" / "vectors"
QUERIES = ROOT / "bench" / "descriptive_queries.jsonl"
QUERY_SETS = {
    "known items": ROOT / "bench" / "known_item_queries.jsonl",
    "paraphrases": ROOT / "bench" / "paraphrase_queries.jsonl",
}
sys.path.insert(0, str(ROOT / "src"))

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect, upgrade  # noqa: E402
from papertide.models import Paper, PaperEmbedding  # noqa: E402
from papertide.records import AuthorRecord, PaperRecord  # noqa: E402
from papertide.search import known_items, namesakes  # noqa: E402
from papertide.search.embedder import Embedder, paper_text, text_hash  # noqa: E402
from papertide.search.engine import SearchEngine, SearchOptions  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.semantic import Semantic, open_semantic  # noqa: E402
from papertide.search.tantivy_keyword.sync import sync_keyword_index  # noqa: E402
from papertide.services.embeddings import embed_pending, embedding_status  # noqa: E402
from papertide.services.ingest import ingest_daily, ingest_snapshot  # noqa: E402
from papertide.services.papers import upsert_papers  # noqa: E402

TOP = 100
Ranker = Callable[[str], list[str]]
VECTORS_FROM: str | None = None  # --vectors-from: read another model's cached vectors (see --help)


class VectorCache:
    """Vectors by text hash, in append-only shards (a killed run loses at most the shard being written)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, np.ndarray] = {}
        for shard in sorted(folder.glob("shard-*.npz")):
            if ".tmp" not in shard.name:
                data = np.load(shard)
                self.vectors.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))

    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        number = len(list(self.folder.glob("shard-*.npz")))
        while (self.folder / f"shard-{number:05d}.npz").exists():
            number += 1
        partial = self.folder / f"shard-{number:05d}.tmp.npz"
        np.savez(partial, hashes=np.array(hashes), vectors=vectors.astype(np.float32))
        partial.rename(self.folder / f"shard-{number:05d}.npz")
        self.vectors.update(zip(hashes, vectors, strict=True))


class CachedEmbedder:
    """The corpus's embedder behind the cache: only texts the cache lacks reach the model."""

    def __init__(self, inner: Embedder, cache: VectorCache) -> None:
        self.name, self.dimensions = inner.name, inner.dimensions
        self.inner, self.cache = inner, cache

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(text) for text in texts]
        missing = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in self.cache.vectors}.items())
        if missing:
            self.cache.add([h for h, _ in missing], self.inner.encode([t for _, t in missing]))
        return np.stack([self.cache.vectors[h] for h in hashes])


@dataclass
class Corpus:
    name: str
    database: Database
    semantic: Semantic
    embedded: bool  # every paper has a vector: the dense retrievers are measured


def open_corpus(name: str, fill: Callable[[Database], None], cached_only: bool) -> Corpus:
    folder = OUT / name
    settings = Settings(data_dir=folder, page_cache_seconds=0, jobs_interval_seconds=0)
    database = connect(settings)
    upgrade(database)
    with database.read_session() as session:
        known = session.scalar(select(Paper.id).limit(1))
    if known is None:
        started = time.perf_counter()
        fill(database)
        print(f"{name}: papers loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    semantic = open_semantic(settings)
    assert semantic is not None
    cache = VectorCache(VECTORS / (VECTORS_FROM or semantic.model).replace("/", "_"))
    with database.read_session() as session:
        pending = embedding_status(session, semantic.model).pending
        texts = session.execute(select(Paper.title, Paper.abstract)).all()
    uncached = sum(text_hash(paper_text(title, abstract)) not in cache.vectors for title, abstract in texts)
    if pending and not (cached_only and uncached):
        started = time.perf_counter()
        embed_pending(database, CachedEmbedder(semantic.embedder, cache))
        semantic.fold_vectors(database)
        print(
            f"{name}: {pending} papers embedded ({uncached} by the model) in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    elif pending:
        print(
            f"{name}: {uncached} of {len(texts)} papers lack a cached vector; dense retrievers skipped", file=sys.stderr
        )
    with database.read_session() as session:
        embedded = embedding_status(session, semantic.model).pending == 0
    sync_keyword_index(database, settings)
    return Corpus(name, database, semantic, embedded)


def upserted(records: Iterable[PaperRecord]) -> Callable[[Database], None]:
    def fill(database: Database) -> None:
        with database.write_session() as session:
            upsert_papers(session, records)

    return fill


def daily_papers(database: Database) -> None:
    ingest_daily(database, SHARED / "hf-daily")


def shared_corpus(database: Database) -> None:
    ingest_snapshot(database, SHARED / "arxiv-snapshot.jsonl.gz")
    ingest_daily(database, SHARED / "hf-daily")


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


def bm25s_ranker(corpus: Corpus) -> Ranker:
    """bm25s 0.3 defaults (Lucene's BM25, k1 1.5, b 0.75) over one field: title, authors, abstract."""
    with corpus.database.read_session() as session:
        rows = session.execute(select(Paper.arxiv_id, Paper.title, Paper.author_names, Paper.abstract)).all()
    ids = [row.arxiv_id for row in rows]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    texts = [f"{row.title} {row.author_names or ''} {row.abstract or ''}" for row in rows]
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)

    def rank(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.ids[0]:
            return []
        found, scores = retriever.retrieve(tokens, k=min(TOP, len(ids)), show_progress=False)
        return [ids[i] for i, score in zip(found[0], scores[0], strict=True) if score > 0]

    return rank


def exact_cosine_ranker(corpus: Corpus) -> Ranker:
    """Every stored vector against the query's, no index: what the vector file approximates."""
    with corpus.database.read_session() as session:
        rows = session.execute(
            select(Paper.arxiv_id, PaperEmbedding.vector).join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
        ).all()
    ids = [row.arxiv_id for row in rows]
    matrix = np.stack([np.asarray(row.vector, dtype=np.float32) for row in rows])

    def rank(query: str) -> list[str]:
        scores = matrix @ corpus.semantic.embed_query(query)
        best = np.argpartition(-scores, TOP)[:TOP] if len(ids) > TOP else np.arange(len(ids))
        return [ids[i] for i in best[np.argsort(-scores[best])]]

    return rank


def rankers(corpus: Corpus) -> dict[str, Ranker]:
    settings, semantic, database = corpus.semantic.settings, corpus.semantic, corpus.database
    default = SearchEngine.of(settings, semantic)

    def papertide(engine: SearchEngine, use_semantic: bool = True) -> Ranker:
        def rank(query: str) -> list[str]:
            options = SearchOptions(limit=TOP, semantic=use_semantic)
            with database.read_session() as session:
                return [row.arxiv_id for row in engine.search(session, parse_query(query), options).rows]

        return rank

    def vector(query: str) -> list[str]:
        with database.read_session() as session:
            hits = semantic.search(session, semantic.embed_query(query), Paper.hidden.is_(False), TOP)
            wanted = select(Paper.id, Paper.arxiv_id).where(Paper.id.in_([h.paper_id for h in hits]))
            ids = {paper_id: arxiv_id for paper_id, arxiv_id in session.execute(wanted)}
        return [ids[hit.paper_id] for hit in hits]

    found: dict[str, Ranker] = {
        "bm25s (Snowball, stop words, one field)": bm25s_ranker(corpus),
        "papertide keyword (tantivy)": papertide(default, use_semantic=False),
    }
    if not corpus.embedded:
        return found
    variants = {
        "hybrid RRF, k 60, equal weights": {"search_fusion": "rrf", "search_keyword_weight": 0.5},
        "hybrid convex 0.7, 100 neighbours, no title-only discount (the default before)": {
            "search_fusion": "convex",
            "search_title_only_weight": 1.0,
            "vector_candidates": 100,
        },
    }
    return found | {
        "exact cosine (MiniLM, numpy)": exact_cosine_ranker(corpus),
        "papertide vector (MiniLM, HNSW)": vector,
        **{name: papertide(SearchEngine.of(settings.model_copy(update=u), semantic)) for name, u in variants.items()},
        f"**papertide default hybrid ({settings.search_fusion})**": papertide(default),
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


def reciprocal_rank(ranked: list[str], wanted: str, k: int = 10) -> float:
    return 1 / (ranked.index(wanted) + 1) if wanted in ranked[:k] else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def cacm_queries() -> list[tuple[str, set[str]]]:
    """CACM's judged queries: each one's text and the ids of the documents judged relevant to it."""
    texts = {q["_id"]: q["text"] for q in map(json.loads, (SHARED / "ir" / "cacm" / "queries.jsonl").open())}
    judged: dict[str, set[str]] = {}
    for line in list((SHARED / "ir" / "cacm" / "qrels" / "test.tsv").open())[1:]:
        query_id, doc_id, score = line.split()
        if int(score) > 0:
            judged.setdefault(query_id, set()).add(doc_id)
    return [(texts[query_id], relevant) for query_id, relevant in judged.items()]


def known_item_sample(titles: dict[str, str], samples: int) -> list[str]:
    """The papers whose titles the known-item benchmark asks for: ``samples`` of them, seed 0."""
    return random.Random(0).sample(sorted(titles), samples)


def described_queries() -> list[dict[str, str]]:
    """bench/descriptive_queries.jsonl: each description (``query``) and the paper it describes (``arxiv_id``)."""
    return [json.loads(line) for line in QUERIES.open()]


def run_cacm(cached_only: bool) -> list[str]:
    records, ids = cacm_records()
    corpus = open_corpus("cacm", upserted(records), cached_only)
    judged = cacm_queries()
    lines = ["| CACM, 3,204 documents, 52 queries | nDCG@10 | MAP@100 | R@100 | ms/query |", "|---|---|---|---|---|"]
    for name, rank in rankers(corpus).items():
        started = time.perf_counter()
        n, m, r = [], [], []
        for text, relevant in judged:
            ranked = [ids[a] for a in rank(text)]
            n.append(ndcg(ranked, relevant))
            m.append(average_precision(ranked, relevant))
            r.append(len(set(ranked[:TOP]) & relevant) / len(relevant))
        per_query = (time.perf_counter() - started) / len(judged) * 1000
        lines.append(f"| {name} | {mean(n):.3f} | {mean(m):.3f} | {mean(r):.3f} | {per_query:.0f} |")
    return lines


def run_known_item(samples: int, cached_only: bool) -> list[str]:
    records, titles = known_item_records()
    corpus = open_corpus("known-item", upserted(records), cached_only)
    sampled = known_item_sample(titles, samples)
    lines = [f"| known item by title, {len(records):,} papers | MRR@10 | R@10 | ms/query |", "|---|---|---|---|"]
    for name, rank in rankers(corpus).items():
        started = time.perf_counter()
        reciprocal = [reciprocal_rank(rank(titles[arxiv_id]), arxiv_id) for arxiv_id in sampled]
        per_query = (time.perf_counter() - started) / samples * 1000
        found = mean([r > 0 for r in reciprocal])
        lines.append(f"| {name} | {mean(reciprocal):.3f} | {found:.3f} | {per_query:.0f} |")
    return lines


def run_descriptive(name: str, fill: Callable[[Database], None], cached_only: bool) -> list[str]:
    corpus = open_corpus(name, fill, cached_only)
    queries = described_queries()
    with corpus.database.read_session() as session:
        stored = dict(session.execute(select(Paper.arxiv_id, Paper.abstract.is_not(None))).all())
    missing = [q["arxiv_id"] for q in queries if q["arxiv_id"] not in stored]
    if missing:
        raise SystemExit(f"{QUERIES.name}: papers not in the {name} corpus: {missing}")
    described = sum(stored[q["arxiv_id"]] for q in queries)
    total = len(stored)
    lines = [
        f"| described, {name} corpus ({total:,} papers), {len(queries)} queries "
        f"| MRR@10 | R@10 | MRR@10, {described} with abstract | MRR@10, {len(queries) - described} title-only "
        "| ms/query |",
        "|---|---|---|---|---|---|",
    ]
    for label, rank in rankers(corpus).items():
        started = time.perf_counter()
        reciprocal = [reciprocal_rank(rank(q["query"]), q["arxiv_id"]) for q in queries]
        per_query = (time.perf_counter() - started) / len(queries) * 1000
        with_abstract = [r for r, q in zip(reciprocal, queries, strict=True) if stored[q["arxiv_id"]]]
        title_only = [r for r, q in zip(reciprocal, queries, strict=True) if not stored[q["arxiv_id"]]]
        lines.append(
            f"| {label} | {mean(reciprocal):.3f} | {mean([r > 0 for r in reciprocal]):.3f} "
            f"| {mean(with_abstract):.3f} | {mean(title_only):.3f} | {per_query:.0f} |"
        )
    if not corpus.embedded:
        lines.append(f"\n({name}: some papers have no vector yet; dense retrievers not measured, see --embed)")
    return lines


def run_query_sets(name: str, fill: Callable[[Database], None], cached_only: bool) -> list[str]:
    """Issue 27's sets over one corpus: a table per set, a row per ranker (each ranker built once)."""
    corpus = open_corpus(name, fill, cached_only)
    sets = {label: [json.loads(line) for line in path.open()] for label, path in QUERY_SETS.items()}
    with corpus.database.read_session() as session:
        stored = set(session.execute(select(Paper.arxiv_id)).scalars())
    for label, queries in sets.items():
        missing = [q["arxiv_id"] for q in queries if q["arxiv_id"] not in stored]
        if missing:
            raise SystemExit(f"{label}: papers not in the {name} corpus: {missing}")
    scored: dict[str, dict[str, list[float]]] = {label: {} for label in sets}
    timing: dict[str, float] = {}
    for ranker, rank in rankers(corpus).items():
        started, count = time.perf_counter(), 0
        for label, queries in sets.items():
            scored[label][ranker] = [reciprocal_rank(rank(q["query"]), q["arxiv_id"]) for q in queries]
            count += len(queries)
        timing[ranker] = (time.perf_counter() - started) / count * 1000
    lines: list[str] = []
    for label, queries in sets.items():
        lines += query_set_table(f"{label}, {name} corpus ({len(stored):,} papers)", queries, scored[label], timing)
        lines.append("")
    if not corpus.embedded:
        lines.append(f"({name}: some papers have no vector yet; dense retrievers not measured, see --embed)")
    return lines


def query_set_table(
    title: str, queries: list[dict[str, object]], scored: dict[str, list[float]], timing: dict[str, float]
) -> list[str]:
    """MRR@10 per split, then on the report split per kind and for title-only targets."""
    report = [i for i, q in enumerate(queries) if q["split"] == "report"]
    tune = [i for i, q in enumerate(queries) if q["split"] == "tune"]
    kinds = sorted({str(queries[i]["kind"]) for i in report})
    groups = {f"report: {kind} ({sum(queries[i]['kind'] == kind for i in report)})": kind for kind in kinds}
    title_only = [i for i in report if queries[i]["title_only"]]
    header = (
        [f"tune ({len(tune)})", f"**report ({len(report)})**"]
        if len(kinds) == 1
        else [
            f"tune ({len(tune)})",
            f"**report ({len(report)})**",
            *groups,
        ]
    )
    header.append(f"report: title-only ({len(title_only)})")
    lines = [f"| {title} | " + " | ".join(header) + " | ms/query |", "|---" * (len(header) + 2) + "|"]
    for ranker, values in scored.items():
        cells = [mean([values[i] for i in tune]), mean([values[i] for i in report])]
        if len(kinds) > 1:
            cells += [mean([values[i] for i in report if queries[i]["kind"] == kind]) for kind in groups.values()]
        cells.append(mean([values[i] for i in title_only]))
        lines.append(f"| {ranker} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {timing[ranker]:.0f} |")
    return lines


Reorder = Callable[[Any, list[namesakes.Candidate], list[Any]], list[namesakes.Candidate]]


def by_count(_session: Any, candidates: list[namesakes.Candidate], _days: list[Any]) -> list[namesakes.Candidate]:
    """Equal votes by the capped count itself (the prior before the rate), then age."""
    capped = {c.paper_id: min(c.mentions, namesakes.MENTIONS_CAP) for c in candidates}
    return sorted(candidates, key=lambda c: (-c.votes, -capped[c.paper_id]))


def unpadded(session: Any, candidates: list[namesakes.Candidate], days: list[Any]) -> list[namesakes.Candidate]:
    padding, namesakes.PADDING = namesakes.PADDING, 0
    try:
        return namesakes.by_mention_rate(session, candidates, days)
    finally:
        namesakes.PADDING = padding


PRIORS: dict[str, Reorder] = {
    "votes, age (no count)": lambda _session, candidates, _days: candidates,
    f"votes, count up to {namesakes.MENTIONS_CAP}, age (the count as first merged)": by_count,
    f"**votes, rate (count up to {namesakes.MENTIONS_CAP} per paper of its window + {namesakes.PADDING}), age**": (
        namesakes.by_mention_rate
    ),
    "votes, rate without the padding, age": unpadded,
}


def namesake_sensitive(corpus: Corpus, queries: list[dict[str, object]]) -> list[bool]:
    """Whether each query's target shares its coined name or its title's first 3 words with another paper."""
    with corpus.database.read_session() as session:
        rows = session.execute(select(Paper.arxiv_id, Paper.name_key, Paper.title_key)).all()
    heads = [" ".join((row.title_key or "").split()[: known_items.PREFIX_WORDS]) for row in rows]
    names = [row.name_key or "" for row in rows]
    count = Counter(key for pair in zip(heads, names, strict=True) for key in set(pair) if key)
    by_id = {row.arxiv_id: (head, name) for row, head, name in zip(rows, heads, names, strict=True)}
    return [any(key and count[key] > 1 for key in by_id[str(q["arxiv_id"])]) for q in queries]


def run_priors(name: str, fill: Callable[[Database], None]) -> list[str]:
    """The known-item set through the keyword search under each ordering of the namesake prior."""
    corpus = open_corpus(name, fill, cached_only=True)
    queries = [json.loads(line) for line in QUERY_SETS["known items"].open()]
    sensitive = namesake_sensitive(corpus, queries)
    rank = rankers(corpus)["papertide keyword (tantivy)"]
    columns = {
        "tune": lambda i: queries[i]["split"] == "tune",
        "**report**": lambda i: queries[i]["split"] == "report",
        "tune, namesakes": lambda i: queries[i]["split"] == "tune" and sensitive[i],
        "**report, namesakes**": lambda i: queries[i]["split"] == "report" and sensitive[i],
    }
    chosen = {label: [i for i in range(len(queries)) if wanted(i)] for label, wanted in columns.items()}
    header = " | ".join(f"{label} ({len(picked)})" for label, picked in chosen.items())
    lines = [f"| namesake prior, {name} corpus, keyword search, MRR@10 | {header} |", "|---" * 5 + "|"]
    try:
        for label, reorder in PRIORS.items():
            known_items.by_mention_rate = reorder  # type: ignore[assignment]
            reciprocal = [reciprocal_rank(rank(str(q["query"])), str(q["arxiv_id"])) for q in queries]
            cells = " | ".join(f"{mean([reciprocal[i] for i in picked]):.3f}" for picked in chosen.values())
            lines.append(f"| {label} | {cells} |")
            lines += [f"|   lost: {q} |" for q in lost_namesakes(queries, reciprocal, sensitive)]
    finally:
        known_items.by_mention_rate = namesakes.by_mention_rate
    return lines


def lost_namesakes(queries: list[dict[str, object]], reciprocal: list[float], sensitive: list[bool]) -> list[str]:
    """The namesake-sensitive queries whose target is not first, with the split and the rank."""
    return [
        f"{q['split']} {q['query']!r} ({q['arxiv_id']}) at 1/{1 / rr:.0f}" if rr else f"{q['split']} {q['query']!r} out"
        for q, rr, named in zip(queries, reciprocal, sensitive, strict=True)
        if named and rr < 1
    ]


BENCHMARKS = (
    "cacm",
    "known-item",
    "descriptive",
    "descriptive-shared",
    "sets",
    "sets-shared",
    "namesakes",
    "namesakes-shared",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS), choices=BENCHMARKS)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--embed", choices=["all", "cached"], default="all", help="run the model for missing vectors")
    parser.add_argument(
        "--vectors-from",
        metavar="MODEL",
        help="store the cached vectors of MODEL (e.g. all-MiniLM-L6-v2, the torch checkpoint, cosine ~0.9995 to "
        "the bundled /w8 weights) as the configured model's instead of embedding (implies --embed cached); query "
        "vectors still come from the configured model",
    )
    args = parser.parse_args()
    global VECTORS_FROM
    VECTORS_FROM = args.vectors_from
    cached_only = args.embed == "cached" or args.vectors_from is not None  # never file new vectors under MODEL
    tables = {
        "cacm": lambda: run_cacm(cached_only),
        "known-item": lambda: run_known_item(args.samples, cached_only),
        "descriptive": lambda: run_descriptive("hf-daily", daily_papers, cached_only),
        "descriptive-shared": lambda: run_descriptive("shared", shared_corpus, cached_only),
        "sets": lambda: run_query_sets("hf-daily", daily_papers, cached_only),
        "sets-shared": lambda: run_query_sets("shared", shared_corpus, cached_only),
        "namesakes": lambda: run_priors("hf-daily", daily_papers),
        "namesakes-shared": lambda: run_priors("shared", shared_corpus),
    }
    for benchmark in args.benchmarks:
        print("\n".join(tables[benchmark]()) + "\n", flush=True)


if __name__ == "__main__":
    main()
