"""The trends page ``/trends?q=A&q=B`` (weekly papers and upvotes of up to five searches, drawn as SVG), its JSON
twin ``/trends.json`` in the shape docs/trends-and-topics.md gives, and ``/trends.csv``; built by
``web/viewmodels/trends.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from papertide.web.deps import AppSearch, ReadSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.templating import templates
from papertide.web.viewmodels.trends import TrendsPage, trends_csv, trends_json, trends_page

router = APIRouter()


def _page(
    session: ReadSession,
    engine: AppSearch,
    q: Annotated[list[str], Query(max_length=1_000)] = [],  # noqa: B006 (FastAPI copies a default list)
    weeks: Annotated[str | None, Query(max_length=8)] = None,
    until: Annotated[str | None, Query(max_length=16)] = None,
) -> TrendsPage:
    return trends_page(session, engine, q, weeks, until, datetime.now(UTC).date())


TrendsView = Annotated[TrendsPage, Depends(_page)]


@router.get("/trends")
def trends(request: Request, page: TrendsView) -> Response:
    return mark_public(templates.TemplateResponse(request, "trends.html", {"page": page}), request)


@router.get("/trends.json")
def trends_as_json(request: Request, page: TrendsView) -> Response:
    return mark_public(JSONResponse(trends_json(page)), request)


@router.get("/trends.csv")
def trends_as_csv(request: Request, page: TrendsView) -> Response:
    headers = {"Content-Disposition": 'attachment; filename="papertide-trends.csv"'}
    return mark_public(Response(trends_csv(page), media_type="text/csv; charset=utf-8", headers=headers), request)
