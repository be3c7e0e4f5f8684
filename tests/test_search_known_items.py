"""Finding the paper you mean (issue 27), on both backends (SQLite with tantivy, PostgreSQL with its own full text):
the exact title, the coined name and a long prefix put the paper first among its follow-ups, namesakes go by the
popularity prior, a title-only paper is found by its title, undated papers are dated for sorts, filters, alerts
and citation years, search's votes are hf.co's and this instance's added, and filters that cannot match say why.

One small corpus per backend, built once for the module: the originals are title-only Daily Papers items, their
follow-ups repeat the name in title and abstract (which is what made them outrank the originals on words)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database, connect
from papertide.models import Paper
from papertide.queries.papers import BOTH_UPVOTES
from papertide.search.engine import SearchEngine, SearchOptions, SearchResults
from papertide.search.fusion import Fusion, fuse
from papertide.search.query import parse_query
from papertide.search.retrieval import Hit
from papertide.search.tantivy_keyword.sync import sync_keyword_index
from papertide.services.alerts import search_candidates
from papertide.services.citations import (
    csl_item,
    highwire_tags,
    query_citables,
    ris_reference,
    scholarly_article,
    to_bibtex,
)
from papertide.services.papers import feature_papers, upsert_papers
from tests.helpers.databases import BACKENDS, fresh_database
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import make_settings

FEATURED_DAY = date(2026, 8, 10)  # after every listing date below, as July-August 2026 is in the shared data


def _undated(arxiv_id: str, title: str, abstract: str | None = None):  # type: ignore[no-untyped-def]
    """A paper as a Daily Papers item knows it: no listing or version date."""
    return make_paper_record(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        versions=(),
        submitted_at=None,
        updated_at=None,
        announced_on=None,
    )


def _listed(arxiv_id: str, title: str, abstract: str):  # type: ignore[no-untyped-def]
    return make_paper_record(arxiv_id=arxiv_id, title=title, abstract=abstract)


FOLLOW_UP = "We study {name}. Unlike {name}, our method improves on {name} and {name} reasoning with language models."
FEATURED = [  # (record, hf.co upvotes): the originals are title-only and featured
    (_undated("2501.12948", "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning"), 96),
    (_undated("2401.10020", "Self-Rewarding Language Models"), 40),
    # The popular namesake has the longer title, which BM25's length normalisation holds against it.
    (_undated("2402.15391", "Genie: Generative Interactive Environments"), 5),
    (_undated("2401.14367", "Genie: Achieving Human Parity in Content-Grounded Datasets Generation"), 80),
    (_undated("2502.13189", "MoBA: Mixture of Block Attention for Long-Context LLMs"), 8),
    (_undated("2410.13757", "MobA: A Two-Level Agent System for Efficient Mobile Task Automation"), 29),
]
LISTED = [
    _listed("2502.12659", "o3-mini vs DeepSeek-R1: Which One is Safer?", FOLLOW_UP.format(name="DeepSeek-R1")),
    _listed("2504.07128", "DeepSeek-R1 Thoughtology: Let's think about LLM Reasoning", FOLLOW_UP.format(name="R1")),
    _listed(
        "2407.19594",
        "Meta-Rewarding Language Models: Self-Improving Alignment with LLM-as-a-Meta-Judge",
        FOLLOW_UP.format(name="Self-Rewarding Language Models"),
    ),
    _listed(
        "2503.03746",
        "Process-based Self-Rewarding Language Models",
        FOLLOW_UP.format(name="self-rewarding language models"),
    ),
    *(make_paper_record(abstract="The model for the reasoning of language from a corpus.") for _ in range(12)),
]
UNLISTED = _undated("2608.01234", "A Paper Known Only By Its Identifier")  # neither listed nor featured


@dataclass
class Corpus:
    db: Database
    settings: Settings

    def search(self, text: str, **options: object) -> SearchResults:
        with self.db.read_session() as session:
            engine = SearchEngine.of(self.settings)
            return engine.search(session, parse_query(text), SearchOptions(limit=20, **options))  # type: ignore[arg-type]

    def ids(self, text: str, **options: object) -> list[str]:
        return [row.arxiv_id for row in self.search(text, **options).rows]


@pytest.fixture(scope="module")
def corpora(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Corpus]]:
    directory = tmp_path_factory.mktemp("known-items")
    with ExitStack() as stack:
        built = {}
        for backend in BACKENDS:
            settings = make_settings(stack.enter_context(fresh_database(request, backend, directory)), directory)
            settings = settings.model_copy(update={"data_dir": directory / backend})
            database = connect(settings)
            stack.callback(database.dispose)
            with database.write_session() as session:
                upsert_papers(session, [*LISTED, UNLISTED])
                items = [make_featured_record(paper=p, upvotes=v, featured_on=FEATURED_DAY) for p, v in FEATURED]
                feature_papers(session, items)
            if settings.keyword_index_path is not None:
                sync_keyword_index(database, settings)
            built[backend] = Corpus(database, settings)
        yield built


@pytest.fixture(params=BACKENDS)
def corpus(request: pytest.FixtureRequest, corpora: dict[str, Corpus]) -> Corpus:
    return corpora[request.param]


def test_the_exact_title_comes_first_among_follow_ups(corpus: Corpus) -> None:
    assert corpus.ids("Self-Rewarding Language Models")[0] == "2401.10020"
    assert corpus.ids("self rewarding language models.")[0] == "2401.10020"  # case and punctuation aside
    pasted = "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning"
    assert corpus.ids(pasted)[0] == "2501.12948"


def test_the_coined_name_and_a_long_prefix_name_the_paper(corpus: Corpus) -> None:
    assert corpus.ids("DeepSeek-R1")[0] == "2501.12948"
    assert corpus.ids("deepseek r1")[0] == "2501.12948"
    assert corpus.ids("DeepSeek-R1: Incentivizing")[0] == "2501.12948"
    assert corpus.ids("Process-based Self-Rewarding")[0] == "2503.03746"
    # Two words are a topic, not a prefix: the follow-ups stay where their words put them.
    assert "2407.19594" in corpus.ids("language models")


def test_namesakes_go_by_the_popularity_prior(corpus: Corpus) -> None:
    assert corpus.ids("Genie")[:2] == ["2401.14367", "2402.15391"]  # 80 hf.co upvotes against 5


def test_the_name_spelled_as_typed_goes_before_the_prior(corpus: Corpus) -> None:
    assert corpus.ids("MoBA")[0] == "2502.13189"
    assert corpus.ids("MobA")[0] == "2410.13757"
    assert corpus.ids("moba")[0] == "2410.13757"  # no capitals typed: the prior decides


def test_a_title_only_paper_is_found_by_its_title_words(corpus: Corpus) -> None:
    assert corpus.ids("incentivizing reasoning capability")[0] == "2501.12948"
    assert corpus.ids("generative interactive environments")[0] == "2402.15391"


def test_known_items_obey_filters(corpus: Corpus) -> None:
    assert "2401.10020" not in corpus.ids("Self-Rewarding Language Models before:2026-01-01")


def test_undated_papers_are_dated_in_sorts_filters_and_alerts(corpus: Corpus) -> None:
    newest = corpus.ids("reasoning", sort="date")
    assert newest[0] == "2501.12948"  # dated by its featured day, after every listing
    after = set(corpus.ids("after:2026-08-01"))
    assert after == {"2608.01234", *(arxiv_id for arxiv_id, _ in _featured_ids())}
    with corpus.db.read_session() as session:
        dated = {arxiv_id: day for arxiv_id, day in session.execute(select(Paper.arxiv_id, Paper.published_on))}
        alert = search_candidates(session, SearchEngine.of(corpus.settings), "reasoning", FEATURED_DAY)
    assert dated["2501.12948"] == FEATURED_DAY and dated["2608.01234"] == date(2026, 8, 1)
    assert "2501.12948" in [row.arxiv_id for row in alert]


def _featured_ids() -> list[tuple[str, int]]:
    return [(record.arxiv_id, votes) for record, votes in FEATURED]


def test_undated_papers_are_cited_by_their_effective_year(corpus: Corpus) -> None:
    with corpus.db.read_session() as session:
        paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == "2501.12948"))
        assert paper_id is not None
        [citable] = query_citables(session, [paper_id])
    assert citable.year == 2026
    assert "year = {2026}" in to_bibtex([citable])
    assert ris_reference(citable, "guo2026")["year"] == "2026"
    assert csl_item(citable, "guo2026")["issued"] == {"date-parts": [[2026]]}
    assert ("citation_date", "2026") in highwire_tags(citable, "https://papers.example/papers/2501.12948")
    assert scholarly_article(citable, "https://papers.example/papers/2501.12948")["datePublished"] == "2026"


def test_votes_are_both_figures_in_the_sort_and_the_filter(corpus: Corpus) -> None:
    assert set(corpus.ids("upvotes:>50")) == {"2501.12948", "2401.14367"}
    by_votes = corpus.ids("genie deepseek rewarding", sort="upvotes")
    with corpus.db.read_session() as session:
        votes = {arxiv_id: count for arxiv_id, count in session.execute(select(Paper.arxiv_id, BOTH_UPVOTES))}
    assert by_votes[:2] == ["2501.12948", "2401.14367"]
    assert [votes[a] for a in by_votes] == sorted((votes[a] for a in by_votes), reverse=True)


def test_filters_that_cannot_match_say_why(corpus: Corpus) -> None:
    assert corpus.search("reasoning cat:cs.CL").notices == [
        "cat:cs.CL matches nothing here: no paper on this instance lists that category."
    ]
    [late] = corpus.search("reasoning after:2030-01-01").notices
    assert "newest is dated 2026-08-10" in late
    [many] = corpus.search("upvotes:>500").notices
    assert "the most any has is 96" in many
    assert corpus.search("reasoning").notices == []


def _semantic_lead(lead: float) -> tuple[list[Hit], list[Hit]]:
    """A keyword list without paper 99 and a semantic list that ranks it first with ``lead`` over the next hit."""
    keyword = [Hit(paper_id, 10.0 - paper_id) for paper_id in range(1, 8)]
    semantic = [Hit(99, 0.8 + lead), *(Hit(paper_id, 0.8 - paper_id / 10) for paper_id in range(1, 7))]
    return keyword, semantic


def test_fusion_never_buries_a_title_only_paper_that_leads_the_semantic_list_after_its_discount() -> None:
    fusion = Fusion("convex", keyword_weight=0.5, rrf_k=60, vector_candidates=10, title_only_weight=0.7)
    keyword, semantic = _semantic_lead(0.4)  # normalised 1.0 x 0.7 against the next hit's 0.5: first after it too
    raw, _ = fuse(
        {"keyword": keyword, "semantic": semantic},
        "convex",
        {"keyword": 0.5, "semantic": 0.5},
        factors={"semantic": {99: 0.7}},
    )
    assert [hit.paper_id for hit in raw].index(99) > 2  # what the keyword list's silence alone did
    hits, _ = fusion.fuse(keyword, semantic, title_only={99})
    assert [hit.paper_id for hit in hits[:2]] == [1, 99]


def test_a_title_only_paper_first_only_before_the_discount_is_not_kept_up() -> None:
    """Its lead is the closeness of a title's vector to any query on its topic, which the discount corrects:
    keeping it up undid the discount (CACM, half of whose documents are titles alone, fell from 0.588 to 0.575)."""
    fusion = Fusion("convex", keyword_weight=0.5, rrf_k=60, vector_candidates=10, title_only_weight=0.7)
    keyword, semantic = _semantic_lead(0.05)  # normalised 1.0 x 0.7 against the next hit's 0.83
    hits, _ = fusion.fuse(keyword, semantic, title_only={99})
    assert [hit.paper_id for hit in hits].index(99) > 2


def test_fusion_never_buries_a_title_only_first_keyword_hit() -> None:
    fusion = Fusion("convex", keyword_weight=0.3, rrf_k=60, vector_candidates=10, title_only_weight=0.1)
    keyword = [Hit(77, 9.0), *(Hit(paper_id, 8.0 - paper_id) for paper_id in range(1, 6))]
    semantic = [Hit(paper_id, 0.9 - paper_id / 20) for paper_id in range(1, 6)]  # no vector near paper 77's title
    raw, _ = fusion.fuse(keyword, semantic)  # 77 not known as title-only: fused on its scores alone
    assert [hit.paper_id for hit in raw].index(77) > 1
    hits, _ = fusion.fuse(keyword, semantic, title_only={77})
    assert [hit.paper_id for hit in hits].index(77) == 1
