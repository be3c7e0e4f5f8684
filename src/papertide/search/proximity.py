"""Term proximity in keyword ranking: :class:`ProximityRanking` wraps any keyword retriever and re-ranks the first
``HEAD`` hits of BM25 by which of the query's neighbouring words each paper holds side by side.

BM25 scores words independently, so a description ("dropped the value network from PPO") ranks a paper that says
"value" in one sentence and "network" in another like one that says "value network". Like the sequential
dependence model (Metzler & Croft, 2005), each pair of neighbouring content words of the query is evidence of its
own when a paper holds the two words in order with at most one word between them ("cost of pruning" holds "cost"
and "pruning"). Pairs never span a clause break of the query ("local networks, network systems" has no pair
"networks network"), nor a phrase, field term, prefix or exclusion, which the retrievers already treat strictly.

A pair's weight is its inverse document frequency among the ``HEAD`` papers re-ranked: a pair most of them hold
("language model" for a query about LLMs) tells them apart little, a pair few hold a lot. The bonus, ``weight``
times the sum over the pairs a paper holds, is added to its BM25 score, so the fused list and every caller see one
keyword score. Measured on every benchmark of bench/search_quality.py (bench/RESULTS.md), it lifted the keyword
side and the hybrid on all four. It reads the ``HEAD`` papers' title and abstract once per search (4 ms at p50 at
1M papers); phrase queries inside tantivy cost 0.6-6 ms per pair even restricted to the candidates, and scoring
them among the alternatives stopped block-max WAND from skipping papers (four times the search time at 2.7M).

Stems are the keyword index's (Snowball English, as ``tantivy_keyword`` analyses; text lowercased and diacritics
folded first); words are found in the text by their stem's first letters and stemmed once per query, so the whole
of an abstract is never analysed.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from papertide.db import among
from papertide.models import Paper
from papertide.search.query import SearchQuery
from papertide.search.retrieval import Hit, KeywordRetriever, is_function_word, word_parts
from papertide.search.tantivy_keyword.schema import STEMMED
from papertide.text import without_diacritics

HEAD = 100  # BM25's first hits re-ranked; deeper hits rarely reach a page (bench/RESULTS.md)
MAX_BETWEEN = 1  # words allowed between a pair's two words
_WORD = re.compile(r"[^\W_]+")
_SPAN = 40  # characters between a pair's words past which the one allowed word cannot fit
_PREFIX = 4  # a word's first letters that its Snowball stem keeps ("studies" -> "studi", "value" -> "valu")
Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ProximityRanking:
    """A :class:`KeywordRetriever` whose first hits are re-ranked by proximity; ``weight`` 0 leaves them alone."""

    inner: KeywordRetriever
    weight: float

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        return self._reranked(session, query, self.inner.search(session, query, where, limit))

    def search_exact(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        return self._reranked(session, query, self.inner.search_exact(session, query, where, limit))

    def constraint(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        return self.inner.constraint(session, query)

    def matching(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        return self.inner.matching(session, query)

    def narrowing(self, session: Session, query: SearchQuery, most: int) -> ColumnElement[bool] | None:
        return self.inner.narrowing(session, query, most)

    def _reranked(self, session: Session, query: SearchQuery, hits: list[Hit]) -> list[Hit]:
        pairs = word_pairs(query)
        if not self.weight or not pairs or len(hits) < 2:
            return hits
        head = hits[:HEAD]
        rows = session.execute(
            select(Paper.id, Paper.title, Paper.abstract).where(among(session, Paper.id, [h.paper_id for h in head]))
        )
        bonus = closeness_bonus(pairs, {paper_id: f"{title}\n{abstract or ''}" for paper_id, title, abstract in rows})
        rescored = [Hit(h.paper_id, h.score + self.weight * bonus.get(h.paper_id, 0.0)) for h in head]
        rescored.sort(key=lambda hit: hit.score, reverse=True)  # stable: ties keep BM25's order
        return rescored + hits[HEAD:]


def word_pairs(query: SearchQuery) -> list[Pair]:
    """The query's neighbouring content words as pairs of index stems, in order, each pair once."""
    pairs: list[Pair] = []
    previous: str | None = None
    for term in query.terms:
        if term.phrase or term.field is not None or term.prefix or term.negated:
            previous = None
            continue
        for part in word_parts(term.text):
            if is_function_word(part):
                continue
            stem = _index_stem(part)
            if previous is not None and stem and stem != previous and (previous, stem) not in pairs:
                pairs.append((previous, stem))
            previous = stem or previous
        if term.clause_end:
            previous = None
    return pairs


def closeness_bonus(pairs: Iterable[Pair], texts: Mapping[int, str]) -> dict[int, float]:
    """Per paper (id -> its text), the summed weights of the pairs it holds close; papers holding none are left out.
    A pair's weight is its inverse document frequency among ``texts``: log(1 + (N - n + 0.5) / (n + 0.5))."""
    pairs = list(pairs)
    stems = {word for pair in pairs for word in pair}
    finder = _Finder(stems)
    held: dict[Pair, list[int]] = {pair: [] for pair in pairs}
    for paper_id, text in texts.items():
        low = without_diacritics(text.lower())  # as the index folds words before stemming them
        spots = finder.spots(low)
        for pair in pairs:
            if _close(low, spots.get(pair[0]), spots.get(pair[1])):
                held[pair].append(paper_id)
    total = len(texts)
    bonus: dict[int, float] = {}
    for holders in held.values():
        weight = math.log(1 + (total - len(holders) + 0.5) / (len(holders) + 0.5))
        for paper_id in holders:
            bonus[paper_id] = bonus.get(paper_id, 0.0) + weight
    return bonus


Spots = dict[str, list[tuple[int, int]]]  # stem -> (start, end) of each word with that stem, in text order


class _Finder:
    """Finds the words of a lowercased text that stem to one of ``stems``, looking only where a word starts with a
    stem's first letters and stemming each distinct word once."""

    def __init__(self, stems: set[str]) -> None:
        self.stems = stems
        self.prefixes = sorted({stem[:_PREFIX] for stem in stems})
        self.known: dict[str, str] = {}

    def spots(self, low: str) -> Spots:
        found: Spots = {}
        for prefix in self.prefixes:
            start = low.find(prefix)
            while start >= 0:
                word = _WORD.match(low, start)  # a stem's letters are word characters: it always matches
                if word and (start == 0 or not low[start - 1].isalnum()):
                    spelled = word.group()
                    stem = self.known.get(spelled)
                    if stem is None:
                        stem = self.known[spelled] = _index_stem(spelled)
                    if stem in self.stems:
                        found.setdefault(stem, []).append(word.span())
                start = low.find(prefix, start + 1)
        for places in found.values():
            places.sort()
        return found


def _close(low: str, first: list[tuple[int, int]] | None, second: list[tuple[int, int]] | None) -> bool:
    """Whether a word of ``first`` is followed by one of ``second`` with at most ``MAX_BETWEEN`` words between."""
    if not first or not second:
        return False
    starts = [start for start, _ in second]
    for _, end in first:
        index = bisect_left(starts, end)  # the first word of ``second`` after this one
        while index < len(starts) and starts[index] <= end + _SPAN:
            if len(_WORD.findall(low, end, starts[index])) <= MAX_BETWEEN:
                return True
            index += 1
    return False


def _index_stem(word: str) -> str:
    tokens = STEMMED.analyze(word)
    return tokens[0] if tokens else ""
