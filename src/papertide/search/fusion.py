"""Reciprocal rank fusion: several ranked :class:`Hit` lists into one, by rank alone (scores of different
retrievers are not comparable, ranks are).

score(paper) = sum over lists of weight / (k + rank), rank counted from 1; a paper missing from a list gets
nothing from it. k = 60 is the constant of Cormack et al. (2009); ``PAPERTIDE_SEARCH_RRF_K`` changes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from papertide.search.keyword import Hit


def reciprocal_rank_fusion(
    ranked: Mapping[str, Sequence[Hit]], k: int = 60, weights: Mapping[str, float] | None = None
) -> tuple[list[Hit], dict[int, tuple[str, ...]]]:
    """The fused list, best first (ties by first appearance), and which named lists each paper came from."""
    scores: dict[int, float] = {}
    sources: dict[int, list[str]] = {}
    for name, hits in ranked.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, hit in enumerate(hits, start=1):
            scores[hit.paper_id] = scores.get(hit.paper_id, 0.0) + weight / (k + rank)
            sources.setdefault(hit.paper_id, []).append(name)
    order = sorted(scores, key=lambda paper_id: scores[paper_id], reverse=True)
    return [Hit(paper_id, scores[paper_id]) for paper_id in order], {
        paper_id: tuple(names) for paper_id, names in sources.items()
    }
