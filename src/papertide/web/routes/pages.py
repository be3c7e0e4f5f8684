"""HTML pages and their JSON twins. For now the front page: the papers the database holds, newest first."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from papertide.queries import query_recent_papers, query_totals
from papertide.web.deps import DbSession, templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: DbSession) -> HTMLResponse:
    papers = query_recent_papers(session)
    totals = query_totals(session)
    return templates.TemplateResponse(request, "index.html", {"papers": papers, "totals": totals})


@router.get("/index.json")
def index_json(session: DbSession) -> dict[str, Any]:
    return {
        "totals": asdict(query_totals(session)),
        "papers": [asdict(paper) for paper in query_recent_papers(session)],
    }
