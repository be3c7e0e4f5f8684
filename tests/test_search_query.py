"""The search box parser: every string becomes a query object (or a warning), never an exception."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from papertide.search.query import MAX_QUERY_CHARS, MAX_TERMS, SearchQuery, Term, parse_query


def test_words_phrases_and_exclusions() -> None:
    query = parse_query('diffusion "video generation" -survey -"large language"')
    assert query.terms == (
        Term("diffusion"),
        Term("video generation", phrase=True),
        Term("survey", negated=True),
        Term("large language", phrase=True, negated=True),
    )
    assert query.natural_text == "diffusion video generation"


def test_quotes_in_a_sentence_are_emphasis_not_a_requirement() -> None:
    sentence = parse_query(
        'when is a synchronization between two processes "type correct" in a message system -"survey"'
    )
    assert Term("type") in sentence.terms and Term("correct") in sentence.terms
    assert not any(t.phrase and not t.negated for t in sentence.terms)
    assert Term("survey", phrase=True, negated=True) in sentence.terms  # exclusions stay hard
    fielded = parse_query('one two three four five six seven eight title:"type correct"')
    assert Term("type correct", "title", phrase=True) in fielded.terms  # so do field phrases
    short = parse_query('sparse "mixture of experts" routing')
    assert Term("mixture of experts", phrase=True) in short.terms  # a few words and a phrase: still required


def test_field_prefixes() -> None:
    query = parse_query('title:pruner author:"Ada Lovelace" abs:sparsity ti:"vision transformer"')
    assert query.terms == (
        Term("pruner", "title"),
        Term("Ada Lovelace", "author", phrase=True),
        Term("sparsity", "abstract"),
        Term("vision transformer", "title", phrase=True),
    )


def test_filters() -> None:
    query = parse_query("llm cat:cs.cl cat:stat.ML org:meta-ai after:2024-01-01 before:2024-06-30 upvotes:>10 has:code")
    assert query.categories == ("cs.CL", "stat.ML") and query.organizations == ("meta-ai",)
    assert (query.after, query.before) == (date(2024, 1, 1), date(2024, 6, 30))
    assert query.min_upvotes == 11 and query.has_code and query.terms == (Term("llm"),)
    year = parse_query("year:2025 upvotes:<=5")
    assert (year.after, year.before, year.max_upvotes) == (date(2025, 1, 1), date(2025, 12, 31), 5)
    assert parse_query("upvotes:7").min_upvotes == parse_query("upvotes:7").max_upvotes == 7


def test_bad_filter_values_become_warnings() -> None:
    query = parse_query("after:yesterday year:12 upvotes:lots has:pdf cat:not/a/cat transformers")
    assert query.after is None and query.min_upvotes is None and not query.has_code and not query.categories
    assert len(query.warnings) == 5 and query.terms == (Term("transformers"),)


def test_arxiv_ids_and_urls_jump_to_the_paper() -> None:
    for text in (
        "2503.24322",
        "2503.24322v2",
        " https://arxiv.org/abs/2503.24322v2 ",
        "arXiv:2503.24322",
        "https://arxiv.org/pdf/2503.24322.pdf",
        "hep-th/9901001",
    ):
        assert parse_query(text).arxiv_id in ("2503.24322", "hep-th/9901001"), text
    assert parse_query("2503.24322 pruning").arxiv_id is None


def test_fts_syntax_is_just_text() -> None:
    query = parse_query('NEAR(a b) title:* OR "unbalanced AND ^ col:umn {x} (y)')
    assert all('"' not in term.text and "*" not in term.text and "(" not in term.text for term in query.terms)
    assert Term("NEAR") in query.terms and Term("OR") in query.terms
    assert not any(term.phrase for term in query.terms) and query.terms[-1].text == "y"  # issue 27: words
    assert any("no closing quote" in warning for warning in query.warnings)


def test_other_scripts_and_diacritics_are_words() -> None:
    query = parse_query("Týr-the-Pruner 深度学习 трансформер 🚀 l'attention")
    assert [t.text for t in query.terms] == ["Týr-the-Pruner", "深度学习", "трансформер", "l'attention"]


def test_huge_queries_are_cut_with_a_warning() -> None:
    query = parse_query("word " * 5_000)
    assert len(query.terms) == MAX_TERMS and len(query.warnings) == 2
    assert parse_query("x" * 10_000).terms[0].text == "x" * MAX_QUERY_CHARS


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_an_exception(text: str) -> None:
    query = parse_query(text)
    assert isinstance(query, SearchQuery)
    for term in query.terms:
        assert term.text and term.text == term.text.strip() and '"' not in term.text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "-",
                ":",
                "title:",
                "cat:",
                "after:",
                "upvotes:>",
                "*",
                "(",
                ")",
                "AND",
                "x",
                " ",
                "2503.24322",
                "é",
                "\x00",
            ]
        ),
        max_size=40,
    )
)
def test_syntax_soup_parses_without_an_exception(parts: list[str]) -> None:
    assert isinstance(parse_query("".join(parts)), SearchQuery)
