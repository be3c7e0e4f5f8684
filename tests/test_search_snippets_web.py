"""What a search shows (issue 27): highlights of whole words as the index matches them and never stop words, LaTeX
in snippets rendered as on paper pages, a snippet that shows the matched words, a count that says what it counts,
notices for queries that cannot mean what they say, and both vote figures on the paper page.

Highlighting is pure text work, tested as such; the page is rendered once over SQLite (rendering does not depend on
the backend; tests/test_search_known_items.py runs the notices' queries on both)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.db import connect
from papertide.search.query import parse_query
from papertide.services.papers import feature_papers, upsert_papers
from papertide.web.viewmodels.highlight import highlight, snippet
from tests.helpers.databases import fresh_database
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import make_settings


def marked(text: str, query: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", str(highlight(text, parse_query(query))))


def test_highlights_are_whole_matched_words_never_stop_words() -> None:
    text = "The models rank papers for the reader, from articles that modelled ranking."
    assert marked(text, "the model for ranking from that art") == ["models", "rank", "modelled", "ranking"]
    assert marked("Bézier splatting", "bezier splat") == ["Bézier", "splatting"]  # folded and stemmed as indexed
    assert marked("pruning and pruners", "prun*") == ["pruning", "pruners"]  # a typed prefix marks what it matches


def test_latex_in_snippets_is_rendered_never_raw() -> None:
    shown = str(highlight(r"We align with \textbf{RLHF} and a $\mathcal{L}_{RLHF}$ loss.", parse_query("RLHF loss")))
    assert "\\textbf" not in shown and "<mark>RLHF</mark>" in shown and "<mark>loss</mark>" in shown
    assert r"$\mathcal{L}_{RLHF}$" in shown  # math left whole for KaTeX, never marked inside
    assert "<script>" not in str(highlight("<script>x</script> attack", parse_query("attack")))


def test_a_snippet_shows_the_matched_words() -> None:
    abstract = "Filler sentence about nothing in particular. " * 12 + "Here the hippocampus appears at last."
    shown = snippet(abstract, parse_query("hippocampus"))
    assert shown is not None and shown.startswith("…Here the hippocampus")
    assert snippet(abstract, parse_query("filler")) == snippet(abstract, parse_query("absent"))  # the start


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with fresh_database(request, "sqlite", tmp_path) as url:
        settings = make_settings(url, tmp_path)
        database = connect(settings)
        with database.write_session() as session:
            upsert_papers(
                session, [make_paper_record(arxiv_id="2503.00001", title="Sparse attention for long context")]
            )
            paper = make_paper_record(arxiv_id="2503.00002", title="Dense attention", abstract="Attention is dense.")
            feature_papers(session, [make_featured_record(paper=paper, upvotes=88, featured_on=date(2026, 7, 9))])
        database.dispose()
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            yield client


def test_the_page_counts_matching_papers_and_explains_empty_filters(site: TestClient) -> None:
    page = site.get("/search", params={"q": "attention"}).text
    assert "2 matching papers ·" in page
    assert "1 matching paper ·" in site.get("/search", params={"q": "sparse"}).text
    empty = site.get("/search", params={"q": "attention cat:cs.CL"}).text
    assert "cat:cs.CL matches nothing here: no paper on this instance lists that category." in empty
    unbalanced = site.get("/search", params={"q": 'sparse "long attention'}).text
    assert "The quote before &#39;long attention&#39; has no closing quote" in unbalanced
    assert "2 matching papers ·" in unbalanced  # read as words: a phrase "long attention" would match nothing


def test_a_hyphenated_compound_is_a_phrase(site: TestClient) -> None:
    assert "2 matching papers ·" in site.get("/search", params={"q": "sparse attention"}).text
    assert "1 matching paper ·" in site.get("/search", params={"q": "sparse-attention"}).text
    assert "0 matching papers ·" in site.get("/search", params={"q": "attention-sparse"}).text


def test_the_paper_page_shows_both_vote_figures(site: TestClient) -> None:
    page = site.get("/papers/2503.00002").text
    assert "0 upvotes here" in page and "88 on hf.co" in page
