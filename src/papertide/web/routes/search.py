"""The search page ``/search?q=`` and its JSON twin ``/search.json``: query language, filters, facets, sorting; the
page is built by ``web/viewmodels/search.py``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from papertide.search.engine import SearchSort
from papertide.search.query import parse_query
from papertide.web.deps import AppSearch, ReadSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.feeds import category_feeds, search_feeds
from papertide.web.rendering.templating import is_json_twin, templates
from papertide.web.security import CurrentUser
from papertide.web.viewmodels.cards import paper_url
from papertide.web.viewmodels.search import SearchForm, search_page

router = APIRouter()


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
    form = SearchForm(q, category, org, after, before, featured, code, sort, page)
    view = search_page(session, engine, query, form, user)
    if as_json:
        return mark_public(JSONResponse(asdict(view)), request)
    context = {"page": view, "marked": view.highlights, "feeds": search_feeds(q) + category_feeds(category)}
    return mark_public(templates.TemplateResponse(request, "search.html", context), request)
