"""The listing pages' view-models: the daily, weekly and monthly lists with their sorts, chips, tabs and pager,
trending, and the newest arXiv listings an instance with no featured papers shows instead.

A builder per page gathers its queries (the cards, the viewer's votes, the category counts, the neighbouring
periods: a fixed number of statements whatever the page size); the route renders what it returns, as HTML or as
the JSON twin (``asdict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.periods import Period, day_period, month_period, period_of, week_period
from papertide.queries.listings import (
    SORTS,
    Sort,
    TrendingRules,
    query_category_counts,
    query_featured,
    query_featured_neighbours,
    query_latest_featured_day,
    query_recent_papers,
    query_trending,
)
from papertide.queries.momentum import query_rising
from papertide.queries.papers import PaperRow, query_votes_of
from papertide.services.accounts import Identity
from papertide.web.viewmodels.cards import Card, Link, card, query_string

RISING = 5  # papers in the trending page's "rising fastest"
EMPTY_DAY = (
    "No papers were featured on this day. Submit one from arXiv, or import Daily Papers with `papertide ingest daily`."
)


@dataclass(slots=True)
class ListingPage:
    title: str
    heading: str
    kind: str
    period: str | None
    sort: str
    category: str | None
    cards: list[Card]
    previous: Link | None = None
    next: Link | None = None
    sorts: list[Link] = field(default_factory=list)
    chips: list[Link] = field(default_factory=list)
    tabs: list[Link] = field(default_factory=list)
    empty_hint: str = ""
    json_url: str = ""
    rising: list[RisingCard] = field(default_factory=list)  # the trending page's "rising fastest" (momentum)


@dataclass(frozen=True, slots=True)
class RisingCard:
    card: Card
    reason: str


def listing_tabs(period: Period | None, active: str) -> list[Link]:
    day = period.start if period else None
    return [
        Link("Daily", f"/papers/date/{day.isoformat()}" if day else "/", active == "day"),
        Link("Weekly", f"/papers/week/{week_period(day).key}" if day else "/papers/week", active == "week"),
        Link("Monthly", f"/papers/month/{month_period(day).key}" if day else "/papers/month", active == "month"),
        Link("Trending", "/papers/trending", active == "trending"),
    ]


def sort_links(base: str, current: Sort, category: str | None) -> list[Link]:
    return [Link(s.capitalize(), base + query_string(sort=s, category=category), s == current) for s in SORTS]


def category_chips(base: str, counts: list[tuple[str, int]], current: str | None, sort: Sort) -> list[Link]:
    keep_sort = None if sort == "upvotes" else sort
    chips = [Link("All", base + query_string(sort=keep_sort), current is None)]
    chips += [
        Link(f"{category} · {count}", base + query_string(sort=keep_sort, category=category), category == current)
        for category, count in counts[:12]
    ]
    if current and all(not chip.active for chip in chips):
        chips.append(Link(current, base + query_string(sort=keep_sort, category=current), True))
    return chips


def front_page(
    session: Session, viewer: Identity | None, sort: Sort, category: str | None, settings: Settings
) -> ListingPage:
    """The newest featured day; on an instance with no featured papers yet, the newest arXiv listings."""
    latest = query_latest_featured_day(session)
    if latest is None:
        return _recent_page(session, viewer, category, settings)
    return period_page(session, day_period(latest), sort, category, viewer, settings)


def trending_page(session: Session, viewer: Identity | None, category: str | None, settings: Settings) -> ListingPage:
    rows = query_trending(
        session, TrendingRules.of(settings), now=datetime.now(UTC), category=category, limit=settings.page_size
    )
    page = _plain_page(
        session,
        rows,
        viewer,
        title="Trending papers",
        kind="trending",
        category=category,
        empty_hint="Nothing is trending: no paper was featured recently.",
        json_url="/papers/trending.json" + query_string(category=category),
    )
    rising = query_rising(session, datetime.now(UTC).date(), RISING)
    page.rising = [RisingCard(card(rise.row, set()), rise.reason) for rise in rising]
    return page


def period_page(
    session: Session,
    period: Period,
    sort: Sort,
    category: str | None,
    viewer: Identity | None,
    settings: Settings,
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
    voted = query_votes_of(session, viewer.id if viewer else None, [r.id for r in rows])
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
    """Previous/next periods: the nearest with featured papers, so weekends and quiet weeks are skipped and the
    links stop at the data's first and last featured day instead of running into empty periods."""
    before, after = query_featured_neighbours(session, period.start, period.end)
    return (period_of(period.kind, before) if before else None), (period_of(period.kind, after) if after else None)


def _recent_page(session: Session, viewer: Identity | None, category: str | None, settings: Settings) -> ListingPage:
    rows = query_recent_papers(session, limit=settings.page_size, category=category)
    hint = (
        "No papers yet. Fetch recent ones with `papertide ingest arxiv --query 'cat:cs.LG'`, load a snapshot "
        "with `papertide ingest snapshot FILE`, or import Daily Papers with `papertide ingest daily DIR`."
    )
    return _plain_page(
        session,
        rows,
        viewer,
        title="New on arXiv",
        kind="recent",
        category=category,
        empty_hint=hint,
        json_url="/index.json",
    )


def _plain_page(
    session: Session,
    rows: list[PaperRow],
    viewer: Identity | None,
    *,
    title: str,
    kind: str,
    category: str | None,
    empty_hint: str,
    json_url: str,
) -> ListingPage:
    """A listing without a period (trending, the newest arXiv papers): no pager, no sort links."""
    voted = query_votes_of(session, viewer.id if viewer else None, [r.id for r in rows])
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
