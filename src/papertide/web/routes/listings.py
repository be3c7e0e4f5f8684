"""Listing pages: the daily, weekly and monthly lists, trending, and their JSON twins (``….json``); each asks its
builder in ``web/viewmodels/listings.py`` and renders, declaring the feeds that follow it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from papertide.periods import InvalidPeriod, PeriodKind, day_period, month_period, parse_period, week_period
from papertide.queries.listings import Sort, query_latest_featured_day
from papertide.web.deps import AppSettings, ReadSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.feeds import FeedRef, listing_feeds
from papertide.web.rendering.templating import is_json_twin, templates
from papertide.web.security import CurrentUser
from papertide.web.viewmodels.listings import ListingPage, front_page, period_page, trending_page

router = APIRouter()
SortParam = Annotated[Sort, Query()]
CategoryParam = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z-]+(\.[A-Za-z-]+)?$")]


def render(request: Request, page: ListingPage, feeds: list[FeedRef], as_json: bool) -> Response:
    if as_json:
        return mark_public(JSONResponse(asdict(page)), request)
    context = {"page": page, "feeds": feeds}
    return mark_public(templates.TemplateResponse(request, "listing.html", context), request)


def split_suffix(value: str) -> tuple[str, bool]:
    return (value[:-5], True) if is_json_twin(value) else (value, False)


@router.get("/")
@router.get("/index.json")
def front(
    request: Request,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    sort: SortParam = "upvotes",
    category: CategoryParam = None,
) -> Response:
    """The newest featured day; on an instance with no featured papers yet, the newest arXiv listings."""
    page = front_page(session, user, sort, category, settings)
    return render(request, page, listing_feeds("day", category), is_json_twin(request.url.path))


@router.get("/papers/trending")
@router.get("/papers/trending.json")
def trending(
    request: Request, session: ReadSession, settings: AppSettings, user: CurrentUser, category: CategoryParam = None
) -> Response:
    page = trending_page(session, user, category, settings)
    return render(request, page, listing_feeds("trending", category), is_json_twin(request.url.path))


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
    page = period_page(session, period, sort, category, user, settings)
    return render(request, page, listing_feeds(kind, category), as_json)
