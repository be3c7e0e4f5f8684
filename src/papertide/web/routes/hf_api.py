"""hf.co's papers endpoints, answered in hf.co's shapes (see ``web/hf_shapes.py``), so ``HfApi(endpoint=…)``
from ``huggingface_hub`` works against papertide: ``list_daily_papers``, ``list_papers``, ``paper_info``,
``read_paper``; the cursor listing ``/api/papers`` and ``/api/arxiv/{id}/repos`` that other hf.co clients call;
plus ``POST /api/papers/index`` to index an arXiv id (a write token).

Pages that have a next one say so as hf.co does, in a ``Link: <…>; rel="next"`` header, an absolute URL on the
configured ``PAPERTIDE_BASE_URL`` (never the request's Host: the page cache hands the answer to everyone); an
unknown paper is hf.co's 404, ``{"error": "…"}``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.periods import InvalidPeriod, Period, parse_period
from papertide.queries.claims import query_claimed_authors
from papertide.queries.listings import (
    FeaturedSort,
    TrendingRules,
    query_featured,
    query_latest_featured_day,
    query_recent_papers,
    query_trending,
)
from papertide.queries.papers import PaperRow, query_paper, query_papers_by_ids
from papertide.search.engine import SearchOptions
from papertide.search.query import parse_query
from papertide.services.ingest import index_from_arxiv
from papertide.services.reading import read_paper_markdown
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.http import SourceUnavailable
from papertide.web.api.hf_shapes import hf_daily_item, hf_paper, hf_repos
from papertide.web.api.schemas import PROBLEMS, decode_cursor, encode_cursor
from papertide.web.deps import (
    AppDatabase,
    AppSearch,
    AppSettings,
    PaperNotFound,
    PaperRef,
    ReadSession,
    SemanticSearch,
    VisiblePaper,
    lookup_paper,
)
from papertide.web.rendering.caching import mark_public
from papertide.web.security import SignedIn, enforce_rate_limit

router = APIRouter(tags=["hf.co compatible"], responses=PROBLEMS)


class HfError(BaseModel):
    error: str


HF_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "hf.co's answer for a paper it does not have, `error` saying which (a path no route takes, "
        "with a line break say, is papertide's problem+json)",
        "model": HfError,
        "content": {"application/problem+json": {}},
    }
}


def _one_period(day: str | None, week: str | None, month: str | None) -> Period | None:
    given = [(kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value]
    if len(given) > 1:
        raise HTTPException(400, "Give at most one of date, week and month.")
    if not given:
        return None
    kind, value = given[0]
    try:
        return parse_period(kind, value)  # type: ignore[arg-type]
    except InvalidPeriod as error:
        raise HTTPException(400, str(error)) from error


@router.get("/api/daily_papers", summary="Featured papers of a day, week or month (hf.co shape)")
def daily_papers(
    request: Request,
    session: ReadSession,
    settings: AppSettings,
    p: Annotated[int, Query(ge=0, le=10_000, description="Page, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=8, description="YYYY-Www")] = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=96)] = None,
    sort: Literal["publishedAt", "trending"] = "publishedAt",
) -> Response:
    period = _one_period(date, week, month)
    offset = p * limit
    wanted = limit + 1  # one more than the page: whether a next page exists
    rows: list[PaperRow]
    if period is None and sort == "trending" and not submitter:
        rows = query_trending(session, TrendingRules.of(settings), now=datetime.now(UTC), limit=offset + wanted)
        rows = rows[offset:]
    else:
        start, end = (period.start, period.end) if period else _everything(session)
        rows = query_featured(
            session,
            start=start,
            end=end,
            sort=_featured_sort(sort, period),
            submitter=submitter,
            limit=wanted,
            offset=offset,
            trending=TrendingRules.of(settings),
            now=datetime.now(UTC),
        )
    claims = query_claimed_authors(session, [row.id for row in rows[:limit]])
    response = JSONResponse([hf_daily_item(row, claims) for row in rows[:limit]])
    if len(rows) > limit:
        _link_next(response, request, settings.base_url, p=str(p + 1))
    return mark_public(response, request)


def _featured_sort(sort: Literal["publishedAt", "trending"], period: Period | None) -> FeaturedSort:
    """hf.co lists a day by upvotes, then its feed's order; a week, a month or everything newest first."""
    if sort == "trending":
        return "trending"
    return "feed" if period is not None and period.kind == "day" else "newest"


def _link_next(response: Response, request: Request, base_url: str, **changed: str) -> None:
    """hf.co's (and GitHub's) paging header: the path the client asked for on ``base_url``, with ``changed`` query
    parameters. hf.co's clients want it absolute; the Host header names whatever the client says."""
    query = request.url.include_query_params(**changed).query
    response.headers["Link"] = f'<{base_url.rstrip("/")}{request.url.path}?{query}>; rel="next"'


def _hf_not_found(error: PaperNotFound) -> JSONResponse:
    """hf.co's 404 for a paper it does not have (``huggingface_hub`` shows ``error`` as the message)."""
    return JSONResponse({"error": str(error)}, status_code=404)


def _everything(session: Session) -> tuple[date, date]:
    latest = query_latest_featured_day(session) or datetime.now(UTC).date()
    return date(1991, 1, 1), latest + timedelta(days=1)


@router.get("/api/papers/search", summary="Search every indexed paper (hf.co shape)")
def search(
    request: Request,
    session: ReadSession,
    engine: AppSearch,
    q: Annotated[str, Query(max_length=250)] = "",
    limit: Annotated[int, Query(ge=1, le=120)] = 50,
) -> Response:
    query = parse_query(q)
    if query.arxiv_id:
        row = query_paper(session, query.arxiv_id)
        rows = [row] if row else []
    else:
        rows = engine.search(session, query, SearchOptions(limit=limit)).rows
    claims = query_claimed_authors(session, [row.id for row in rows])
    return mark_public(JSONResponse([hf_daily_item(row, claims) for row in rows]), request)


@router.get("/api/papers", summary="Every indexed paper, newest first, paged by cursor (hf.co shape)")
def list_all_papers(
    request: Request,
    session: ReadSession,
    settings: AppSettings,
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page's Link header.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    try:
        offset = decode_cursor(cursor)
    except ValueError as error:
        raise HTTPException(400, f"{error}; start again without a cursor.") from error
    rows = query_recent_papers(session, limit=limit + 1, offset=offset)
    claims = query_claimed_authors(session, [row.id for row in rows[:limit]])
    response = JSONResponse([hf_paper(row, claims) for row in rows[:limit]])
    if len(rows) > limit:
        _link_next(response, request, settings.base_url, cursor=encode_cursor(offset + limit))
    return mark_public(response, request)


def _paper(session: Session, paper: PaperRef) -> PaperRow:
    (row,) = query_papers_by_ids(session, [paper.id])
    return row


ArxivId = Annotated[str, Path(max_length=300, description="An arXiv id in any form (2503.24322v2, an abs URL).")]


@router.get(
    "/api/arxiv/{arxiv_id:path}/repos",
    summary="What the paper links to: code, project page (hf.co shape)",
    responses=HF_NOT_FOUND,
)
def paper_repos(request: Request, arxiv_id: ArxivId, session: ReadSession) -> Response:
    try:
        row = _paper(session, lookup_paper(session, arxiv_id))
    except PaperNotFound as error:
        return _hf_not_found(error)
    return mark_public(JSONResponse(hf_repos(row)), request)


@router.get("/api/papers/{arxiv_id:path}", summary="One paper (hf.co shape)", responses=HF_NOT_FOUND)
def paper_info(request: Request, arxiv_id: ArxivId, session: ReadSession) -> Response:
    try:
        row = _paper(session, lookup_paper(session, arxiv_id))
    except PaperNotFound as error:
        return _hf_not_found(error)
    return mark_public(JSONResponse(hf_paper(row, query_claimed_authors(session, [row.id]))), request)


@router.get("/papers/{arxiv_id:path}.md", summary="The paper page as Markdown", response_class=PlainTextResponse)
def paper_markdown_page(
    request: Request, paper: VisiblePaper, session: ReadSession, settings: AppSettings, semantic: SemanticSearch
) -> Response:
    body = read_paper_markdown(session, semantic, _paper(session, paper), settings.base_url)
    return mark_public(Response(body, media_type="text/markdown; charset=utf-8"), request)


@router.post("/api/papers/index", summary="Index an arXiv paper (fetched from arXiv when unknown)")
def index_paper(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    user: SignedIn,
    body: Annotated[dict[str, Any], Body(examples=[{"arxivId": "2503.24322"}])],
) -> Response:
    enforce_rate_limit(request, "write", user.id)
    raw = body.get("arxivId") or body.get("arxiv_id") or body.get("id")
    if not isinstance(raw, str) or len(raw) > 300:
        raise HTTPException(422, 'Send {"arxivId": "2503.24322"}.')
    try:
        arxiv_id = parse_arxiv_id(raw).id
    except InvalidArxivId as error:
        raise HTTPException(422, f"{error}.") from error
    try:
        indexed = index_from_arxiv(database, settings, arxiv_id)
    except (SourceUnavailable, ArxivApiError) as error:
        raise HTTPException(502, f"arXiv did not answer: {error}") from error
    if indexed == "missing":
        raise HTTPException(404, f"arXiv has no paper {arxiv_id}.")
    with database.read_session() as session:
        row = query_paper(session, arxiv_id)  # None for a paper an administrator hid: it stays gone
    if row is None:
        raise HTTPException(404, f"papertide has no paper {arxiv_id}.")
    return JSONResponse(hf_paper(row), status_code=201 if indexed == "fetched" else 200)
