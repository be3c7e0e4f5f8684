"""Fusion variants replayed on every benchmark of bench/search_quality.py (issue 17, item 3): which way of merging
the keyword and semantic lists wins on CACM, known item by title, and the described papers over the hf-daily rows
and over the full shared corpus, all in one table.

Each query's keyword hits (tantivy re-ranked by proximity, top 1,000; also at other proximity weights, 0 being
plain BM25) and semantic hits (the vector file, top 400) are collected once through ``SearchEngine``'s own
retrievers on search_quality's databases, with the cosine of every paper in either list; each variant then re-fuses
those lists. The default row is papertide's own ``Fusion.fuse`` with the default settings, so it matches the
bench's "papertide default hybrid" row. The last row is not a method: it picks, per query, the best of keyword
shares 0.3-0.9 (with or without the title-only discount): an upper bound of what a
query-dependent share could reach.

Every corpus must be embedded (run search_quality.py first; its vector cache makes this a few minutes):

    .venv/bin/python bench/fusion_variants.py            # collects to bench/out/fusion/, then replays
    .venv/bin/python bench/fusion_variants.py --samples 300
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import track
from sqlalchemy import and_, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search_quality as sq  # noqa: E402
from papertide.config import Settings  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.search.engine import CANDIDATES, SearchEngine, SearchOptions, filter_clause, merged  # noqa: E402
from papertide.search.fusion import Fusion, convex_fusion  # noqa: E402
from papertide.search.proximity import ProximityRanking  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.retrieval import Hit  # noqa: E402

OUT = sq.ROOT / "bench" / "out" / "fusion"
DEPTH = 400  # semantic hits collected; variants use the first 100-400
PROXIMITY_WEIGHTS = (0.0, 0.25, 1.0)  # keyword lists also collected at these proximity weights (0: plain BM25)
FEEDBACK_POOL = 200  # keyword hits whose vectors are kept (with every semantic hit's) for the feedback variants
Scored = list[tuple[int, float]]


@dataclass
class Collected:
    """One query's lists: what is wanted, the keyword and semantic hits, every listed paper's cosine, and the
    vectors of the papers dense feedback may re-score."""

    text: str
    relevant: set[str]
    keyword: Scored
    keyword_at: dict[float, Scored]  # the keyword hits at each of PROXIMITY_WEIGHTS
    semantic: Scored
    cosine: dict[int, float]
    query_vector: np.ndarray
    vectors: dict[int, np.ndarray]


@dataclass
class Benchmark:
    name: str
    arxiv_ids: dict[int, str]
    has_abstract: set[int]
    queries: list[Collected]

    def metric(self, ranked: list[str], relevant: set[str]) -> float:
        """nDCG@10 on CACM (graded lists of relevant documents), MRR@10 on the known-item benchmarks."""
        return sq.ndcg(ranked, relevant) if self.name == "cacm" else sq.reciprocal_rank(ranked, next(iter(relevant)))


def items(name: str, samples: int) -> list[tuple[str, set[str]]]:
    if name == "cacm":
        _, ids = sq.cacm_records()
        by_doc = {doc: arxiv_id for arxiv_id, doc in ids.items()}
        return [(text, {by_doc[doc] for doc in relevant}) for text, relevant in sq.cacm_queries()]
    if name == "known-item":
        _, titles = sq.known_item_records()
        return [(titles[a], {a}) for a in sq.known_item_sample(titles, samples)]
    return [(q["query"], {q["arxiv_id"]}) for q in sq.described_queries()]


CORPORA = {
    "cacm": lambda: sq.upserted(sq.cacm_records()[0]),
    "known-item": lambda: sq.upserted(sq.known_item_records()[0]),
    "hf-daily": lambda: sq.daily_papers,
    "shared": lambda: sq.shared_corpus,
}


def collect(name: str, samples: int) -> Benchmark:
    corpus = sq.open_corpus(name, CORPORA[name](), cached_only=True)
    if not corpus.embedded:
        raise SystemExit(f"{name}: not every paper has a vector; run bench/search_quality.py first")
    engine, semantic = SearchEngine.of(corpus.semantic.settings, corpus.semantic), corpus.semantic
    assert isinstance(engine.keyword, ProximityRanking)
    inner = engine.keyword.inner

    def reranked(weight: float) -> ProximityRanking:
        return ProximityRanking(inner, weight)

    with corpus.database.read_session() as session:
        rows = session.execute(select(Paper.id, Paper.arxiv_id, Paper.abstract.is_not(None))).all()
    collected = []
    for text, relevant in track(items(name, samples), description=f"{name}: collecting hit lists"):
        query = merged(parse_query(text), SearchOptions())
        where = filter_clause(query)
        with corpus.database.read_session() as session:
            keyword = engine.keyword.search(session, query, where, CANDIDATES)
            keyword_at = {
                weight: [(h.paper_id, h.score) for h in reranked(weight).search(session, query, where, CANDIDATES)]
                for weight in PROXIMITY_WEIGHTS
            }
            vector = semantic.embed_query(query.natural_text)
            near = semantic.search(session, vector, and_(where, engine.keyword.constraint(session, query)), DEPTH)
            stored = semantic.vectors_of(session, {h.paper_id for h in keyword + near})
        cosine = {p: float(np.asarray(v, dtype=np.float32) @ vector) for p, v in stored.items()}
        pool = {h.paper_id for h in keyword[:FEEDBACK_POOL] + near}
        vectors = {p: np.asarray(v, dtype=np.float16) for p, v in stored.items() if p in pool}
        hits = [(h.paper_id, h.score) for h in keyword]
        near_hits = [(h.paper_id, h.score) for h in near]
        collected.append(Collected(text, relevant, hits, keyword_at, near_hits, cosine, vector, vectors))
    return Benchmark(name, {r.id: r.arxiv_id for r in rows}, {r.id for r in rows if r[2]}, collected)


@dataclass(frozen=True)
class Variant:
    """A convex fusion of the two lists, and the ways it can depart from the default."""

    share: float | Callable[[Scored, Scored], float] = 0.7
    title_only: float = 0.7
    depth: int = 200
    full_semantic: bool = False  # keyword hits outside the semantic list get their own cosine, not 0
    feedback: int = 0  # dense pseudo-relevance feedback: the fused top N's mean vector joins the query's
    feedback_weight: float = 0.5

    def rank(self, bench: Benchmark, q: Collected) -> list[int]:
        keyword, semantic = q.keyword, q.semantic[: self.depth]
        fused = self._fuse(bench, q, keyword, semantic)
        if not self.feedback:
            return fused
        top = [p for p in fused[: self.feedback] if p in q.vectors]
        moved = q.query_vector + self.feedback_weight * np.mean([q.vectors[p].astype(np.float32) for p in top], 0)
        moved /= np.linalg.norm(moved)
        pool = list(q.vectors)
        scores = np.stack([q.vectors[p].astype(np.float32) for p in pool]) @ moved
        order = np.argsort(-scores)[: self.depth]
        return self._fuse(bench, q, keyword, [(pool[i], float(scores[i])) for i in order])

    def _fuse(self, bench: Benchmark, q: Collected, keyword: Scored, semantic: Scored) -> list[int]:
        share = self.share(keyword, semantic) if callable(self.share) else self.share
        near = dict(semantic)
        if self.full_semantic and near:
            floor = min(near.values())
            near |= {p: max(floor, q.cosine[p]) for p, _ in keyword if p not in near and p in q.cosine}
        ranked = {"keyword": [Hit(p, s) for p, s in keyword], "semantic": [Hit(p, s) for p, s in near.items()]}
        discounted = {"semantic": dict.fromkeys(set(near) - bench.has_abstract, self.title_only)}
        fused, _ = convex_fusion(ranked, {"keyword": share, "semantic": 1 - share}, discounted)
        return [hit.paper_id for hit in fused[: sq.TOP]]


def keyword_peak(low: float, high: float) -> Callable[[Scored, Scored], float]:
    """A keyword share from how far the keyword list's first hit stands above its tenth (1.2x -> low, 2x -> high):
    a pasted title stands out, a description's words match many papers about equally."""

    def share(keyword: Scored, semantic: Scored) -> float:
        if len(keyword) < 10:
            return high
        ratio = keyword[0][1] / keyword[9][1]
        return low + (high - low) * min(1.0, max(0.0, (ratio - 1.2) / 0.8))

    return share


def list_confidence(base: float, strength: float) -> Callable[[Scored, Scored], float]:
    """Each list's weight grows with its first hit's lead over its second, as a share of the list's range."""

    def lead(hits: Scored) -> float:
        spread = hits[0][1] - hits[-1][1] if len(hits) > 1 else 0.0
        return (hits[0][1] - hits[1][1]) / spread if spread > 0 else 1.0

    def share(keyword: Scored, semantic: Scored) -> float:
        weight_keyword = base * (1 + strength * lead(keyword))
        weight_semantic = (1 - base) * (1 + strength * lead(semantic))
        return weight_keyword / (weight_keyword + weight_semantic)

    return share


VARIANTS: dict[str, Variant] = {
    "keyword share 0.6": Variant(share=0.6),
    "keyword share 0.65, 300 neighbours": Variant(share=0.65, depth=300),
    "no title-only discount": Variant(title_only=1.0),
    "400 neighbours": Variant(depth=400),
    "keyword hits keep their cosine (full semantic scores)": Variant(full_semantic=True),
    "the same, keyword share 0.6": Variant(share=0.6, full_semantic=True),
    "the same, share 0.65, no discount": Variant(share=0.65, title_only=1.0, full_semantic=True),
    "share from the keyword list's peak, 0.6-0.8": Variant(share=keyword_peak(0.6, 0.8)),
    "share from the keyword list's peak, 0.5-0.8": Variant(share=keyword_peak(0.5, 0.8)),
    "share from each list's lead, base 0.7, strength 1": Variant(share=list_confidence(0.7, 1.0)),
    "share from each list's lead, base 0.65, strength 4": Variant(share=list_confidence(0.65, 4.0)),
    "dense feedback, fused top 5, weight 0.5": Variant(feedback=5),
    "dense feedback, fused top 10, weight 1": Variant(feedback=10, feedback_weight=1.0),
}


def default_rank(fusion: Fusion, proximity: float | None = None) -> Callable[[Benchmark, Collected], list[int]]:
    """papertide's own fusion, as a search runs it; over the keyword hits at another proximity weight if given."""

    def rank(bench: Benchmark, q: Collected) -> list[int]:
        semantic = [Hit(p, s) for p, s in q.semantic[: fusion.vector_candidates]]
        title_only = {h.paper_id for h in semantic} - bench.has_abstract
        keyword = q.keyword if proximity is None else q.keyword_at[proximity]
        fused, _ = fusion.fuse([Hit(p, s) for p, s in keyword], semantic, title_only)
        return [h.paper_id for h in fused[: sq.TOP]]

    return rank


def score(bench: Benchmark, rank: Callable[[Benchmark, Collected], list[int]]) -> float:
    return sq.mean([bench.metric([bench.arxiv_ids[p] for p in rank(bench, q)], q.relevant) for q in bench.queries])


def oracle(bench: Benchmark) -> float:
    shares = [Variant(share=s, title_only=t) for s in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9) for t in (0.7, 1.0)]
    best = [
        max(bench.metric([bench.arxiv_ids[p] for p in v.rank(bench, q)], q.relevant) for v in shares)
        for q in bench.queries
    ]
    return sq.mean(best)


def single(bench: Benchmark, which: str, proximity: float | None = None) -> float:
    def rank(_: Benchmark, q: Collected) -> list[int]:
        keyword = q.keyword if proximity is None else q.keyword_at[proximity]
        return [p for p, _ in (keyword if which == "keyword" else q.semantic)][: sq.TOP]

    return score(bench, rank)


def load(name: str, samples: int, fresh: bool) -> Benchmark:
    path = OUT / f"{name}-{samples}.pickle"
    if path.exists() and not fresh:
        with path.open("rb") as file:
            bench: Benchmark = pickle.load(file)
        return bench
    bench = collect(name, samples)
    OUT.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        pickle.dump(bench, file)
    return bench


def table(benches: Sequence[Benchmark]) -> list[str]:
    header = " | ".join(f"{b.name} ({len(b.queries)})" for b in benches)
    lines = [f"| fusion (nDCG@10 on CACM, MRR@10 elsewhere) | {header} |", "|---" * (len(benches) + 1) + "|"]

    def row(label: str, values: Sequence[float]) -> None:
        lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in values) + " |")

    fusion = Fusion.of(Settings())
    row("keyword alone (tantivy, proximity 0.5)", [single(b, "keyword") for b in benches])
    for weight in PROXIMITY_WEIGHTS:
        row(f"keyword alone, proximity {weight}", [single(b, "keyword", weight) for b in benches])
    row("semantic alone (HNSW)", [single(b, "semantic") for b in benches])
    default = "**papertide default** (proximity 0.5; convex 0.7, 200 neighbours, title-only 0.7)"
    row(default, [score(b, default_rank(fusion)) for b in benches])
    for weight in PROXIMITY_WEIGHTS:
        row(f"the default fusion, proximity {weight}", [score(b, default_rank(fusion, weight)) for b in benches])
    for label, variant in VARIANTS.items():
        row(label, [score(b, variant.rank) for b in benches])
    row("per-query best share (an upper bound, not a method)", [oracle(b) for b in benches])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--samples", type=int, default=1000, help="known-item queries (seed 0, as search_quality)")
    parser.add_argument("--fresh", action="store_true", help="collect the hit lists again")
    args = parser.parse_args()
    benches = [load(name, args.samples, args.fresh) for name in args.benchmarks]
    print("\n".join(table(benches)))


if __name__ == "__main__":
    main()
