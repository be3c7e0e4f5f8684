"""The search page ``/search?q=`` and its JSON twin ``/search.json``: query language, filters, facets, sorting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from papertide.queries.papers import query_votes_of
from papertide.search.engine import SEARCH_SORTS, SearchOptions, SearchSort
from papertide.search.query import parse_query
from papertide.web.deps import AppSearch, ReadSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.highlight import highlight
from papertide.web.rendering.templating import is_json_twin, templates
from papertide.web.security import CurrentUser
from papertide.web.viewmodels.cards import Card, Link, card, excerpt, paper_url, query_string

router = APIRouter()
PAGE_SIZE = 20


@dataclass(slots=True)
class SearchPage:
    q: str
    total: int
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


@router.get("/search")
@router.get("/search.json")
def search(
    request: Request,
    session: ReadSession,
    user: CurrentUser,
    engine: AppSearch,
    q: Annotated[str, Query(max_length=20_000)] = "",
    category: Annotated[str | None, Query(max_length=32)] = None,
    org: Annotated[str | None, Query(max_length=96)] = None,
    after: date | None = None,
    before: date | None = None,
    featured: bool = False,
    code: bool = False,
    sort: SearchSort = "relevance",
    page: Annotated[int, Query(ge=1, le=50)] = 1,
) -> Response:
    as_json = is_json_twin(request.url.path)
    query = parse_query(q)
    if query.arxiv_id and not as_json:
        return RedirectResponse(paper_url(query.arxiv_id), status_code=303)
    options = SearchOptions(
        category=category,
        organization=org,
        after=after,
        before=before,
        featured_only=featured,
        has_code=code,
        sort=sort,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    results = engine.search(session, query, options)
    voted = query_votes_of(session, user.id if user else None, [row.id for row in results.rows])
    filters = {
        "q": q,
        "category": category,
        "org": org,
        "after": after.isoformat() if after else None,
        "before": before.isoformat() if before else None,
        "featured": "1" if featured else None,
        "code": "1" if code else None,
    }
    base = {k: v for k, v in filters.items() if v}
    view = SearchPage(
        q=q,
        total=results.total,
        cards=[card(row, voted) for row in results.rows],
        highlights={
            row.arxiv_id: {
                "title": highlight(row.title, results.query),
                "excerpt": highlight(excerpt(row.abstract), results.query),
            }
            for row in results.rows
        },
        scores={row.arxiv_id: round(results.scores.get(row.id, 0.0), 6) for row in results.rows},
        matched_by={row.arxiv_id: list(results.matched_by.get(row.id, ())) for row in results.rows},
        warnings=list(results.query.warnings),
        facets=[
            Link(f"{name} · {count}", "/search" + query_string(**{**base, "category": name}), name == category)
            for name, count in results.facets
        ],
        sorts=[Link(s.capitalize(), "/search" + query_string(**{**base, "sort": s}), s == sort) for s in SEARCH_SORTS],
        filters=filters,
        previous="/search" + query_string(**{**base, "sort": sort, "page": str(page - 1)}) if page > 1 else None,
        next=(
            "/search" + query_string(**{**base, "sort": sort, "page": str(page + 1)})
            if results.total > page * PAGE_SIZE
            else None
        ),
        message=_message(q, results.total, query.is_empty),
        json_url="/search.json" + query_string(**{**base, "sort": None if sort == "relevance" else sort}),
        extra={"arxiv_id": query.arxiv_id} if query.arxiv_id else {},
    )
    if as_json:
        return mark_public(JSONResponse(asdict(view)), request)
    context = {"page": view, "marked": view.highlights}
    return mark_public(templates.TemplateResponse(request, "search.html", context), request)


def _message(q: str, total: int, empty: bool) -> str | None:
    if not q.strip():
        return None
    if empty:
        return "That query has nothing to search for: type some words, a filter such as cat:cs.CL, or an arXiv id."
    if total == 0:
        return "No papers match. Try fewer words, remove a filter, or check the spelling."
    return None
