"""Citation files of collections and searches: ``/users/{u}/collections/{slug}.bib`` (``.ris``, ``.csl.json``),
``/orgs/{org}/collections/{slug}.bib`` (likewise) and ``/search.bib?q=…`` (likewise), for citation managers. A
paper's own files are in ``routes/paper.py``.

A collection's files are for whoever may see its page (``queries/collections.can_see``; 404 for everyone else).
A search export is paged, :data:`EXPORT_PAGE` papers a page up to :data:`MAX_PAGE`, with a ``Link: rel="next"``
header while there is more. The app registers this router before the collection pages, whose ``{slug}``
would take ``x.bib``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from papertide.queries.collections import (
    CollectionRow,
    can_see,
    query_collection,
    query_collection_items,
    query_organization_collection,
)
from papertide.queries.papers import query_visible_paper
from papertide.search.engine import SearchOptions, SearchSort
from papertide.search.query import parse_query
from papertide.services.citations import FORMATS, LABELS, SUFFIXES, query_citables
from papertide.web.deps import AppSearch, ReadSession
from papertide.web.rendering.formats import citation_response
from papertide.web.security import CurrentUser
from papertide.web.viewmodels.cards import query_string

router = APIRouter(tags=["citations"])
EXPORT_PAGE = 100
MAX_PAGE = 10


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """A search export's parameters: the search box's query, a few of the search page's filters, the page."""

    q: str
    category: str | None
    after: date | None
    before: date | None
    sort: SearchSort
    page: int

    def next_page(self) -> str:
        return query_string(
            q=self.q,
            category=self.category,
            after=self.after.isoformat() if self.after else None,
            before=self.before.isoformat() if self.before else None,
            sort=None if self.sort == "relevance" else self.sort,
            page=str(self.page + 1),
        )


def export_query(
    q: Annotated[str, Query(max_length=2_000)] = "",
    category: Annotated[str | None, Query(max_length=32)] = None,
    after: date | None = None,
    before: date | None = None,
    sort: SearchSort = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> ExportQuery:
    return ExportQuery(q, category, after, before, sort, page)


def _collection_export(
    request: Request, collection: CollectionRow | None, session: ReadSession, user: CurrentUser, format_name: str
) -> Response:
    if collection is None or not can_see(session, collection, user.id if user else None):
        raise HTTPException(404, "There is no such collection, or it is private.")
    paper_ids = [row.id for row, _ in query_collection_items(session, collection.id)]
    name = f"{collection.owner}-{collection.slug}"
    return citation_response(request, query_citables(session, paper_ids), format_name, name)


def _search_export(
    request: Request, session: ReadSession, engine: AppSearch, params: ExportQuery, format_name: str
) -> Response:
    query = parse_query(params.q)
    if query.is_empty:
        raise HTTPException(400, "Give a search: /search.bib?q=speculative+decoding (the search box's syntax).")
    options = SearchOptions(
        category=params.category,
        after=params.after,
        before=params.before,
        sort=params.sort,
        limit=EXPORT_PAGE,
        offset=(params.page - 1) * EXPORT_PAGE,
        semantic=False,  # a citation list holds the papers that match, not related ones
    )
    if query.arxiv_id:  # the search box jumps to a paper named by its id; its export is that paper's file
        known = query_visible_paper(session, query.arxiv_id)
        return citation_response(request, query_citables(session, [known[0]] if known else []), format_name, "search")
    results = engine.search(session, query, options)
    citables = query_citables(session, [row.id for row in results.rows])
    response = citation_response(request, citables, format_name, f"search-{params.page}")
    if results.total > params.page * EXPORT_PAGE and params.page < MAX_PAGE:
        response.headers["Link"] = f'</search{SUFFIXES[format_name]}{params.next_page()}>; rel="next"'
    return response


def _register(format_name: str) -> None:
    suffix, label = SUFFIXES[format_name], LABELS[format_name]

    @router.get(f"/users/{{username}}/collections/{{slug}}{suffix}", summary=f"A collection as {label}")
    def collection_export(
        request: Request, username: str, slug: str, session: ReadSession, user: CurrentUser
    ) -> Response:
        return _collection_export(request, query_collection(session, username, slug), session, user, format_name)

    @router.get(f"/orgs/{{name}}/collections/{{slug}}{suffix}", summary=f"An organization's collection as {label}")
    def organization_collection_export(
        request: Request, name: str, slug: str, session: ReadSession, user: CurrentUser
    ) -> Response:
        found = query_organization_collection(session, name, slug)
        return _collection_export(request, found, session, user, format_name)

    @router.get(f"/search{suffix}", summary=f"Search results as {label}, {EXPORT_PAGE} a page")
    def search_export(
        request: Request, session: ReadSession, engine: AppSearch, params: Annotated[ExportQuery, Depends(export_query)]
    ) -> Response:
        return _search_export(request, session, engine, params, format_name)


for _format in FORMATS:
    _register(_format)
