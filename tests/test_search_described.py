"""Search for a described paper (issue 17): a description in other words finds its paper on real records with the
real model, and a paper known only by its title has its vector discounted in fusion."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.fusion import Fusion
from papertide.search.query import parse_query
from papertide.search.retrieval import Hit
from papertide.search.semantic import Semantic

UNDERWATER = "2503.11893"  # "UStyle: Waterbody Style Transfer of Underwater Scenes by Depth-Guided Feature Synthesis"
LAZY = "2503.12450"  # "LazyMAR: Accelerating Masked Autoregressive Models via Feature Caching"


def top(db: Database, engine: SearchEngine, text: str, limit: int = 3) -> list[str]:
    with db.read_session() as session:
        return [row.arxiv_id for row in engine.search(session, parse_query(text), SearchOptions(limit=limit)).rows]


def test_a_described_paper_is_found(embedded_corpus: Database, settings: Settings, semantic: Semantic) -> None:
    engine = SearchEngine.of(settings, semantic)
    assert UNDERWATER in top(
        embedded_corpus, engine, "give underwater photos the look of another body of water, guided by depth"
    )
    assert LAZY in top(
        embedded_corpus, engine, "reusing cached features to speed up masked autoregressive image generation"
    )


def test_a_title_only_paper_counts_for_less(embedded_corpus: Database, settings: Settings, semantic: Semantic) -> None:
    with embedded_corpus.write_session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == UNDERWATER).values(abstract=None))
    text = "changing the look of water in underwater pictures"

    def score(weight: float) -> float:
        engine = SearchEngine.of(settings.model_copy(update={"search_title_only_weight": weight}), semantic)
        with embedded_corpus.read_session() as session:
            results = engine.search(session, parse_query(text), SearchOptions(limit=50))
        return {row.arxiv_id: results.scores[row.id] for row in results.rows}[UNDERWATER]

    assert score(0.5) < score(1.0)


@pytest.mark.parametrize("method", ["convex", "rrf"])
def test_fusion_discounts_title_only_vectors(method: str) -> None:
    fusion = Fusion(method, 0.7, 60, 200, title_only_weight=0.5)  # type: ignore[arg-type]
    semantic = [Hit(10, 0.9), Hit(11, 0.9), Hit(12, 0.1)]
    plain, _ = Fusion(method, 0.7, 60, 200).fuse([], semantic)  # type: ignore[arg-type]
    discounted, sources = fusion.fuse([], semantic, title_only={10})
    order, discounted_order = [h.paper_id for h in plain], [h.paper_id for h in discounted]
    assert order.index(10) < order.index(11) and discounted_order.index(11) < discounted_order.index(10)
    assert sources[10] == ("semantic",)
