"""Proximity in keyword ranking: which neighbouring query words make pairs, when a paper holds a pair close, how a
pair is weighed among the papers re-ranked, and the re-ranking through ``SearchEngine`` on both backends."""

from __future__ import annotations

import time

from papertide.config import Settings
from papertide.db import Database
from papertide.search.engine import SearchEngine, SearchOptions, keyword_retriever
from papertide.search.proximity import HEAD, closeness_bonus, word_pairs
from papertide.search.query import parse_query
from papertide.search.tantivy_keyword.retriever import TantivyRetriever
from papertide.services.papers import upsert_papers
from tests.helpers.factories import make_paper_record


def pairs(text: str) -> list[tuple[str, str]]:
    return word_pairs(parse_query(text))


def test_pairs_join_neighbouring_content_words_as_stems() -> None:
    # Function words drop out and their neighbours pair up, as "cost of pruning" holds "cost" and "pruning".
    assert pairs("the cost of pruning large models") == [("cost", "prune"), ("prune", "larg"), ("larg", "model")]
    assert pairs("fine-tuning") == []  # a compound alone is a phrase, strict: no pair to reward (issue 27)
    assert ("fine", "tune") in pairs("we study how fine-tuning changes what large language models know")
    assert pairs("model's weights") == [("model", "weight")]
    assert pairs("transformers") == [] and pairs("the of and") == [] and pairs("") == []


def test_pairs_stop_at_clauses_and_at_strict_terms() -> None:
    assert pairs("graphs, neural networks") == [("neural", "network")]
    assert pairs("speech (audio) models. Vision transformers") == [("vision", "transform")]
    for strict in ('"exact phrase"', "title:word", "prefix*", "-excluded"):
        assert pairs(f"alpha {strict} beta") == [], strict
    assert pairs("loss loss function loss function") == [("loss", "function"), ("function", "loss")]


def test_a_pair_is_held_in_order_with_at_most_one_word_between() -> None:
    texts = {
        1: "We train a value network.",
        2: "A value-based network.",  # the hyphen splits the words as the index does
        3: "Value of the network.",  # two words between
        4: "The network's value.",  # reversed
        5: "Values. Networks!",  # punctuation between is no gap, as in the index
        6: "No such words here.",
    }
    bonus = closeness_bonus([("valu", "network")], texts)
    assert set(bonus) == {1, 2, 5}


def test_a_pair_most_papers_hold_weighs_less_than_a_rare_one() -> None:
    texts = {i: f"a language model, paper {i}" for i in range(9)}
    texts[9] = "a language model with a value network"
    bonus = closeness_bonus([("languag", "model"), ("valu", "network")], texts)
    common, rare = bonus[0], bonus[9] - bonus[0]
    assert 0 < common < rare


def test_words_are_matched_by_stem_not_spelling() -> None:
    bonus = closeness_bonus([("studi", "show")], {1: "Several Studies showed it", 2: "studying shows", 3: "studs"})
    assert set(bonus) == {1, 2}
    assert pairs("Fréchet distances") == [("frechet", "distanc")]
    folded = {1: "the Fréchet distance", 2: "Frechet's distance"}
    assert set(closeness_bonus(pairs("frechet distance"), folded)) == {1, 2}


def test_unusual_text_is_harmless() -> None:
    hostile = {1: "", 2: "\x00\u202e" * 50, 3: "é" * 5_000, 4: "value " * 2_000 + "network", 5: "Ünïcödé value network"}
    bonus = closeness_bonus([("valu", "network")], hostile)
    assert set(bonus) == {4, 5}
    # Thousands of both words, never close: each word is checked against the few that follow it, not all of them.
    started = time.perf_counter()
    assert closeness_bonus([("valu", "network")], {1: "network x y z value x y z " * 6_000}) == {}
    assert time.perf_counter() - started < 2
    assert pairs("x" * 900 + " beta gamma") == [("beta", "gamma")]  # a word too long to index pairs with none


def _search(db: Database, settings: Settings, text: str) -> list[str]:
    engine = SearchEngine.of(settings)
    with db.read_session() as session:
        results = engine.search(session, parse_query(text), SearchOptions(limit=10, semantic=False))
    return [row.arxiv_id for row in results.rows]


def test_a_paper_holding_the_described_words_together_ranks_first(db: Database, settings: Settings) -> None:
    """Without proximity BM25 prefers the paper that repeats the words apart; with it, the paper that says them
    together wins, on tantivy (SQLite) and on PostgreSQL's full text alike."""
    filler = "The rest of this abstract describes experiments, datasets, baselines and limitations at length."
    apart = make_paper_record(  # every word twice, never two of them in the query's order side by side
        title="A study of training signals",
        abstract="Answers were kept apart from optimisation entirely. The network was never sampled by design. "
        "A policy carries value alone. Answers, again, come before optimisation here; the network is what gets "
        "sampled, then policy and value last.",
    )
    together = make_paper_record(
        title="Another study of training signals",
        abstract=f"We study value network policy optimisation with sampled answers. {filler} {filler}",
    )
    others = [make_paper_record(abstract=f"A policy {i} with a value, and answers elsewhere.") for i in range(12)]
    with db.write_session() as session:
        upsert_papers(session, [apart, together, *others])
    query = "value network policy optimisation sampled answers"
    plain = settings.model_copy(update={"search_proximity_weight": 0.0})
    assert _search(db, plain, query)[0] == apart.arxiv_id
    assert _search(db, settings, query)[0] == together.arxiv_id
    assert len(others) + 2 <= HEAD  # every matching paper was re-ranked


def test_the_engine_keeps_its_retriever_inside(settings: Settings) -> None:
    retriever = keyword_retriever(settings)
    assert retriever.weight == settings.search_proximity_weight
    assert isinstance(retriever.inner, TantivyRetriever) == settings.is_sqlite
