"""Listing pages: the daily, weekly and monthly lists, trending, and their JSON twins (``….json``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.periods import InvalidPeriod, Period, PeriodKind, day_period, month_period, parse_period, week_period
from papertide.queries.listings import (
    Sort,
    TrendingRules,
    query_category_counts,
    query_featured,
    query_featured_neighbours,
    query_latest_featured_day,
    query_recent_papers,
    query_trending,
)
from papertide.queries.papers import PaperRow, query_votes_of
from papertide.web.deps import AppSettings, ReadSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.templating import is_json_twin, templates
from papertide.web.security import CurrentUser
from papertide.web.viewmodels.cards import (
    Link,
    ListingPage,
    card,
    category_chips,
    listing_tabs,
    query_string,
    sort_links,
)

router = APIRouter()
SortParam = Annotated[Sort, Query()]
CategoryParam = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z-]+(\.[A-Za-z-]+)?$")]

EMPTY_DAY = (
    "No papers were featured on this day. Submit one from arXiv, or import Daily Papers with `papertide ingest daily`."
)


def render(request: Request, page: ListingPage, as_json: bool) -> Response:
    if as_json:
        return mark_public(JSONResponse(asdict(page)), request)
    return mark_public(templates.TemplateResponse(request, "listing.html", {"page": page}), request)


def split_suffix(value: str) -> tuple[str, bool]:
    return (value[:-5], True) if is_json_twin(value) else (value, False)


@router.get("/")
@router.get("/index.json")
def front_page(
    request: Request,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    sort: SortParam = "upvotes",
    category: CategoryParam = None,
) -> Response:
    """The newest featured day; on an instance with no featured papers yet, the newest arXiv listings."""
    latest = query_latest_featured_day(session)
    if latest is None:
        page = _recent_page(session, user.id if user else None, category, settings)
    else:
        page = _period_page(session, day_period(latest), sort, category, user, settings)
    return render(request, page, is_json_twin(request.url.path))


@router.get("/papers/trending")
@router.get("/papers/trending.json")
def trending(
    request: Request, session: ReadSession, settings: AppSettings, user: CurrentUser, category: CategoryParam = None
) -> Response:
    rows = query_trending(
        session, TrendingRules.of(settings), now=datetime.now(UTC), category=category, limit=settings.page_size
    )
    page = _plain_page(
        session,
        rows,
        user.id if user else None,
        title="Trending papers",
        kind="trending",
        category=category,
        empty_hint="Nothing is trending: no paper was featured recently.",
        json_url="/papers/trending.json" + query_string(category=category),
    )
    return render(request, page, is_json_twin(request.url.path))


@router.get("/papers/week")
@router.get("/papers/month")
@router.get("/papers/date")
def latest_of_kind(request: Request, session: ReadSession) -> Response:
    """``/papers/week`` and ``/papers/month`` go to the period of the newest featured day."""
    kind = request.url.path.rsplit("/", 1)[1]
    latest = query_latest_featured_day(session) or datetime.now(UTC).date()
    period = {"date": day_period, "week": week_period, "month": month_period}[kind](latest)
    return RedirectResponse(f"/papers/{kind}/{period.key}", status_code=307)


_KIND_OF_SEGMENT: dict[str, PeriodKind] = {"date": "day", "week": "week", "month": "month"}


@router.get("/papers/date/{value}")
@router.get("/papers/week/{value}")
@router.get("/papers/month/{value}")
def period_listing(
    request: Request,
    value: str,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    sort: SortParam = "upvotes",
    category: CategoryParam = None,
) -> Response:
    """A day (YYYY-MM-DD), ISO week (YYYY-Www) or month (YYYY-MM); ``.json`` appended gives the JSON twin."""
    kind = _KIND_OF_SEGMENT[request.url.path.split("/")[2]]
    text, as_json = split_suffix(value)
    try:
        period = parse_period(kind, text)
    except InvalidPeriod as error:
        raise HTTPException(404, f"{error}. Try the latest papers on the front page.") from error
    return render(request, _period_page(session, period, sort, category, user, settings), as_json)


def _period_page(
    session: Session, period: Period, sort: Sort, category: str | None, user: CurrentUser, settings: Settings
) -> ListingPage:
    rows = query_featured(
        session,
        start=period.start,
        end=period.end,
        sort=sort,
        category=category,
        limit=settings.page_size,
        trending=TrendingRules.of(settings),
    )
    voted = query_votes_of(session, user.id if user else None, [r.id for r in rows])
    segment = {"day": "date", "week": "week", "month": "month"}[period.kind]
    base = f"/papers/{segment}/{period.key}"
    previous, following = _neighbours(session, period)
    return ListingPage(
        title=f"Daily papers · {period.label}" if period.kind == "day" else f"Papers · {period.label}",
        heading=period.label,
        kind=period.kind,
        period=period.key,
        sort=sort,
        category=category,
        cards=[card(r, voted) for r in rows],
        previous=Link(f"← {previous.key}", f"/papers/{segment}/{previous.key}") if previous else None,
        next=Link(f"{following.key} →", f"/papers/{segment}/{following.key}") if following else None,
        sorts=sort_links(base, sort, category),
        chips=category_chips(base, query_category_counts(session, start=period.start, end=period.end), category, sort),
        tabs=listing_tabs(period, period.kind),
        empty_hint=EMPTY_DAY if period.kind == "day" else "No papers were featured in this period.",
        json_url=f"{base}.json" + query_string(sort=None if sort == "upvotes" else sort, category=category),
    )


def _neighbours(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    """Previous/next periods; days skip to the nearest featured day so weekends are not dead ends."""
    if period.kind != "day":
        return period.previous(), period.next()
    before, after = query_featured_neighbours(session, period.start)
    return (day_period(before) if before else None), (day_period(after) if after else None)


def _recent_page(session: Session, viewer_id: int | None, category: str | None, settings: Settings) -> ListingPage:
    rows = query_recent_papers(session, limit=settings.page_size, category=category)
    hint = (
        "No papers yet. Fetch recent ones with `papertide ingest arxiv --query 'cat:cs.LG'`, load a snapshot "
        "with `papertide ingest snapshot FILE`, or import Daily Papers with `papertide ingest daily DIR`."
    )
    return _plain_page(
        session,
        rows,
        viewer_id,
        title="New on arXiv",
        kind="recent",
        category=category,
        empty_hint=hint,
        json_url="/index.json",
    )


def _plain_page(
    session: Session,
    rows: list[PaperRow],
    viewer_id: int | None,
    *,
    title: str,
    kind: str,
    category: str | None,
    empty_hint: str,
    json_url: str,
) -> ListingPage:
    """A listing without a period (trending, the newest arXiv papers): no pager, no sort links."""
    voted = query_votes_of(session, viewer_id, [r.id for r in rows])
    return ListingPage(
        title=title,
        heading=title,
        kind=kind,
        period=None,
        sort="trending" if kind == "trending" else "newest",
        category=category,
        cards=[card(r, voted) for r in rows],
        tabs=listing_tabs(None, "trending" if kind == "trending" else "day"),
        empty_hint=empty_hint,
        json_url=json_url,
    )
