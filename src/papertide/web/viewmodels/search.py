"""The search page's view-model (``/search`` and ``/search.json``): the results as cards with their highlights,
scores and what matched, the facets, sorts, filters and pager, and a message when the query finds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from papertide.queries.papers import query_votes_of
from papertide.search.engine import SEARCH_SORTS, SearchEngine, SearchOptions, SearchResults, SearchSort
from papertide.search.query import SearchQuery
from papertide.services.accounts import Identity
from papertide.web.viewmodels.cards import Card, Link, card, query_string
from papertide.web.viewmodels.highlight import highlight, snippet

PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class SearchForm:
    """What the search form and the page's links carry besides the query."""

    q: str
    category: str | None = None
    org: str | None = None
    after: date | None = None
    before: date | None = None
    featured: bool = False
    code: bool = False
    sort: SearchSort = "relevance"
    page: int = 1

    def options(self) -> SearchOptions:
        return SearchOptions(
            category=self.category,
            organization=self.org,
            after=self.after,
            before=self.before,
            featured_only=self.featured,
            has_code=self.code,
            sort=self.sort,
            limit=PAGE_SIZE,
            offset=(self.page - 1) * PAGE_SIZE,
        )

    def filters(self) -> dict[str, str | None]:
        return {
            "q": self.q,
            "category": self.category,
            "org": self.org,
            "after": self.after.isoformat() if self.after else None,
            "before": self.before.isoformat() if self.before else None,
            "featured": "1" if self.featured else None,
            "code": "1" if self.code else None,
        }


@dataclass(slots=True)
class SearchPage:
    q: str
    total: int
    count: str  # what ``total`` counts, in words ("12 matching papers", "the 1,000 best matches")
    cards: list[Card]
    highlights: dict[str, dict[str, Markup]]
    scores: dict[str, float]
    matched_by: dict[str, list[str]]
    warnings: list[str]
    facets: list[Link]
    sorts: list[Link]
    filters: dict[str, Any]
    previous: str | None = None
    next: str | None = None
    message: str | None = None
    json_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def search_page(
    session: Session, engine: SearchEngine, query: SearchQuery, form: SearchForm, viewer: Identity | None
) -> SearchPage:
    results = engine.search(session, query, form.options())
    voted = query_votes_of(session, viewer.id if viewer else None, [row.id for row in results.rows])
    filters = form.filters()
    base = {k: v for k, v in filters.items() if v}
    return SearchPage(
        q=form.q,
        total=results.total,
        count=_count(results),
        cards=[card(row, voted) for row in results.rows],
        highlights=_highlights(results),
        scores={row.arxiv_id: round(results.scores.get(row.id, 0.0), 6) for row in results.rows},
        matched_by={row.arxiv_id: list(results.matched_by.get(row.id, ())) for row in results.rows},
        warnings=[*results.query.warnings, *results.notices],
        facets=[
            Link(f"{name} · {count}", "/search" + query_string(**{**base, "category": name}), name == form.category)
            for name, count in results.facets
        ],
        sorts=[
            Link(s.capitalize(), "/search" + query_string(**{**base, "sort": s}), s == form.sort) for s in SEARCH_SORTS
        ],
        filters=filters,
        previous=_page_link(base, form, form.page - 1) if form.page > 1 else None,
        next=_page_link(base, form, form.page + 1) if results.total > form.page * PAGE_SIZE else None,
        message=_message(form.q, results.total, query.is_empty),
        json_url="/search.json" + query_string(**{**base, "sort": None if form.sort == "relevance" else form.sort}),
        extra={"arxiv_id": query.arxiv_id} if query.arxiv_id else {},
    )


def _highlights(results: SearchResults) -> dict[str, dict[str, Markup]]:
    return {
        row.arxiv_id: {
            "title": highlight(row.title, results.query),
            "excerpt": highlight(snippet(row.abstract, results.query), results.query),
        }
        for row in results.rows
    }


def _count(results: SearchResults) -> str:
    """The count line's words: how many papers match, or, when more match than search ranks, that these are the
    best of them (a bare "1000+" read as a count of papers that contain the words)."""
    if results.capped:
        return f"The {results.total:,} best matches (more papers match; add words or filters to narrow them)"
    return f"{results.total:,} matching paper" + ("" if results.total == 1 else "s")


def _page_link(base: dict[str, str], form: SearchForm, page: int) -> str:
    return "/search" + query_string(**{**base, "sort": form.sort, "page": str(page)})


def _message(q: str, total: int, empty: bool) -> str | None:
    if not q.strip():
        return None
    if empty:
        return "That query has nothing to search for: type some words, a filter such as cat:cs.CL, or an arXiv id."
    if total == 0:
        return "No papers match. Try fewer words, remove a filter, or check the spelling."
    return None
