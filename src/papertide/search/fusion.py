"""Fusing ranked :class:`Hit` lists (keyword, semantic) into one. Two methods, both returning the fused list and
which lists each paper came from:

* ``convex`` (the default): each list's scores min-max normalised to [0, 1], then a weighted sum; a paper missing
  from a list gets 0 from it. Scores keep how far ahead a hit is, so a clear keyword winner (a pasted title)
  stays first while semantic neighbours fill in (Bruch et al., 2023, "An Analysis of Fusion Functions for Hybrid
  Retrieval").
* ``rrf``, reciprocal rank fusion: sum over lists of weight / (k + rank), rank from 1 (Cormack et al., 2009;
  k = 60). Rank alone, so every list's first hit counts the same however weak it is.

Both take per-paper factors on one list's contribution: a paper known only by its title keeps
``title_only_weight`` of its semantic score, since a title's vector sits close to any short query on its topic
(on the described-paper benchmark, 55 % of the featured papers have no abstract). Neither that discount nor a
missing abstract's missing score buries a paper one list leads: a title-only paper first in a list, as that list
counts it (the semantic list after the discount), keeps at least second place (``FIRST_KEPT_AT``), since its title
is its whole text and a missing abstract is no evidence against it. A title-only paper first on the semantic list
only before the discount is first by the closeness the discount corrects, and keeping it up undid the discount: on
CACM, where 1,617 of 3,204 documents are titles alone, nDCG@10 fell from 0.588 to 0.575 (bench/RESULTS.md).

bench/search_quality.py measures both; bench/RESULTS.md has the figures that chose the default. :class:`Fusion`
holds the settings that choose the method and weights, read once when the search engine is built.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from papertide.config import Settings
from papertide.search.retrieval import Hit

FusionMethod = Literal["convex", "rrf"]
FIRST_KEPT_AT = 2  # the lowest fused place (from 1) of a title-only paper a list ranks first
Fused = tuple[list[Hit], dict[int, tuple[str, ...]]]
Factors = Mapping[str, Mapping[int, float]]  # list name -> paper id -> multiplier of that list's contribution


@dataclass(frozen=True, slots=True)
class Fusion:
    """How a hybrid search merges its keyword and semantic lists, and how many semantic neighbours join."""

    method: FusionMethod
    keyword_weight: float  # the keyword list's share; the semantic list gets the rest
    rrf_k: int
    vector_candidates: int
    title_only_weight: float = 1.0  # the share of its semantic score a paper without an abstract keeps

    @classmethod
    def of(cls, settings: Settings) -> Fusion:
        return cls(
            settings.search_fusion,
            settings.search_keyword_weight,
            settings.search_rrf_k,
            settings.vector_candidates,
            settings.search_title_only_weight,
        )

    def fuse(self, keyword: Sequence[Hit], semantic: Sequence[Hit], title_only: Collection[int] = ()) -> Fused:
        """``title_only``: the hits known by their title alone (a paper's semantic score is then discounted)."""
        weights = {"keyword": self.keyword_weight, "semantic": 1.0 - self.keyword_weight}
        factors = {"semantic": dict.fromkeys(title_only, self.title_only_weight)}
        hits, sources = fuse(
            {"keyword": keyword, "semantic": semantic}, self.method, weights, k=self.rrf_k, factors=factors
        )
        for ranked, factor in ((keyword, {}), (semantic, factors["semantic"])):
            leader = _leader(ranked, factor)
            if leader is not None and leader in title_only:
                hits = kept_up(hits, leader, FIRST_KEPT_AT)
        return hits, sources


def _leader(ranked: Sequence[Hit], factor: Mapping[int, float]) -> int | None:
    """The paper ``ranked`` puts first once each hit's score is scaled by its factor (above the list's lowest
    score, as convex fusion normalises it); the first of the list when none is scaled."""
    if not ranked:
        return None
    low = min(hit.score for hit in ranked)
    return max(ranked, key=lambda hit: (hit.score - low) * factor.get(hit.paper_id, 1.0)).paper_id


def kept_up(hits: list[Hit], paper_id: int, place: int) -> list[Hit]:
    """``hits`` with ``paper_id`` moved up to ``place`` (from 1) when it fell below, scored as the hit it passes."""
    position = next((i for i, hit in enumerate(hits) if hit.paper_id == paper_id), None)
    if position is None or position < place:
        return hits
    moved = Hit(paper_id, hits[place - 1].score)
    return [*hits[: place - 1], moved, *(hit for hit in hits[place - 1 :] if hit.paper_id != paper_id)]


def fuse(
    ranked: Mapping[str, Sequence[Hit]],
    method: FusionMethod,
    weights: Mapping[str, float],
    k: int = 60,
    factors: Factors | None = None,
) -> Fused:
    if method == "rrf":
        return reciprocal_rank_fusion(ranked, k, weights, factors)
    return convex_fusion(ranked, weights, factors)


def convex_fusion(
    ranked: Mapping[str, Sequence[Hit]], weights: Mapping[str, float] | None = None, factors: Factors | None = None
) -> Fused:
    scores: dict[int, float] = {}
    for name, hits in ranked.items():
        if not hits:
            continue
        weight, factor = (weights or {}).get(name, 1.0), (factors or {}).get(name, {})
        low, high = min(h.score for h in hits), max(h.score for h in hits)
        for hit in hits:
            normalised = (hit.score - low) / (high - low) if high > low else 1.0
            contribution = weight * factor.get(hit.paper_id, 1.0) * normalised
            scores[hit.paper_id] = scores.get(hit.paper_id, 0.0) + contribution
    return _ordered(ranked, scores)


def _ordered(ranked: Mapping[str, Sequence[Hit]], scores: dict[int, float]) -> Fused:
    sources: dict[int, list[str]] = {}
    for name, hits in ranked.items():
        for hit in hits:
            sources.setdefault(hit.paper_id, []).append(name)
    order = sorted(scores, key=lambda paper_id: scores[paper_id], reverse=True)
    return [Hit(paper_id, scores[paper_id]) for paper_id in order], {
        paper_id: tuple(names) for paper_id, names in sources.items()
    }


def reciprocal_rank_fusion(
    ranked: Mapping[str, Sequence[Hit]],
    k: int = 60,
    weights: Mapping[str, float] | None = None,
    factors: Factors | None = None,
) -> Fused:
    """The fused list, best first (ties by first appearance), and which named lists each paper came from."""
    scores: dict[int, float] = {}
    for name, hits in ranked.items():
        weight, factor = (weights or {}).get(name, 1.0), (factors or {}).get(name, {})
        for rank, hit in enumerate(hits, start=1):
            contribution = weight * factor.get(hit.paper_id, 1.0) / (k + rank)
            scores[hit.paper_id] = scores.get(hit.paper_id, 0.0) + contribution
    return _ordered(ranked, scores)
