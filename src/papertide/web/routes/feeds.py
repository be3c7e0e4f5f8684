"""Feed URLs, each in three formats by suffix (``.rss``, ``.atom``, ``.json``):

/feeds/daily  /feeds/weekly  /feeds/monthly  /feeds/trending     the listings (latest period)
/feeds/search.rss?q=…                                              newest papers matching a query (keyword)
/feeds/category/cs.CL.rss   /feeds/org/NAME.rss   /feeds/user/NAME.rss (submissions)
/feeds/collection/USER/SLUG.rss                                    a user's public collection
/feeds/orgs/ORG/collections/SLUG.rss                               an organization's public collection
/feeds/author/KEY.rss                                              an author's papers, newest first
/feeds/personal/TOKEN.rss                                          a user's picks and follows (private, revocable)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.people import author_key
from papertide.periods import month_period, week_period
from papertide.queries.collections import (
    CollectionRow,
    query_collection,
    query_collection_items,
    query_organization_collection,
)
from papertide.queries.listings import (
    TrendingRules,
    query_featured,
    query_latest_featured_day,
    query_recent_papers,
    query_trending,
)
from papertide.queries.papers import PaperRow
from papertide.queries.people import (
    query_author_name,
    query_author_papers,
    query_organization,
    query_organization_papers,
    query_submitted_by,
    query_user,
)
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.personal import personal_picks
from papertide.search.query import parse_query
from papertide.search.semantic import Semantic
from papertide.services.follows import followed_papers
from papertide.services.tokens import user_for_feed_token
from papertide.web.deps import AppDatabase, AppSearch, AppSettings, ReadSession, SemanticSearch
from papertide.web.rendering.feeds import FeedFormat, FeedSpec, feed_response, split_format
from papertide.web.viewmodels.cards import query_string

router = APIRouter()
FEED_SIZE = 50
LISTINGS = ("daily", "weekly", "monthly", "trending", "search")


def _format(value: str) -> tuple[str, FeedFormat]:
    parsed = split_format(value)
    if parsed is None:
        raise HTTPException(404, "Feeds end in .rss, .atom or .json, e.g. /feeds/daily.rss")
    return parsed


@router.get("/feeds/{name}")
def listing_feed(
    request: Request,
    name: str,
    session: ReadSession,
    settings: AppSettings,
    engine: AppSearch,
    q: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    listing, fmt = _format(name)
    if listing not in LISTINGS:
        raise HTTPException(404, f"No feed called {listing!r}; try one of {', '.join(LISTINGS)}.")
    if listing == "search":
        spec = _search_spec(session, settings, engine, q)
    else:
        spec = _listing_spec(session, settings, listing)
    return feed_response(request, spec, fmt, settings.base_url)


def _listing_spec(session: Session, settings: Settings, listing: str) -> FeedSpec:
    base = settings.base_url
    if listing == "trending":
        rows = query_trending(session, TrendingRules.of(settings), now=datetime.now(UTC), limit=FEED_SIZE)
        return FeedSpec("papertide: trending papers", f"{base}/papers/trending", "/feeds/trending", rows)
    latest = query_latest_featured_day(session) or datetime.now(UTC).date()
    if listing == "daily":
        rows = query_featured(session, start=latest - timedelta(days=6), end=latest, sort="newest", limit=FEED_SIZE * 2)
        return FeedSpec("papertide: daily papers", f"{base}/", "/feeds/daily", rows)
    period = week_period(latest) if listing == "weekly" else month_period(latest)
    rows = query_featured(session, start=period.start, end=period.end, limit=FEED_SIZE)
    return FeedSpec(
        f"papertide: papers of {period.label}", f"{base}/papers/{period.kind}/{period.key}", f"/feeds/{listing}", rows
    )


def _search_spec(session: Session, settings: Settings, engine: SearchEngine, q: str) -> FeedSpec:
    query = parse_query(q)
    if query.is_empty:
        raise HTTPException(400, "A search feed needs a query: /feeds/search.rss?q=sparse+attention")
    # Newest first and keyword only: a feed reader wants new papers that match, not loosely related ones.
    results = engine.search(session, query, SearchOptions(sort="date", limit=FEED_SIZE, semantic=False))
    return FeedSpec(
        f"papertide: search “{q[:80]}”",
        f"{settings.base_url}/search{query_string(q=q)}",
        "/feeds/search",
        results.rows,
        query=query_string(q=q),
    )


@router.get("/feeds/category/{value}")
def category_feed(request: Request, value: str, session: ReadSession, settings: AppSettings) -> Response:
    category, fmt = _format(value)
    rows = query_recent_papers(session, category=category, limit=FEED_SIZE)
    page = f"{settings.base_url}/search{query_string(q=f'cat:{category}')}"
    spec = FeedSpec(f"papertide: new in {category}", page, f"/feeds/category/{category}", rows)
    return feed_response(request, spec, fmt, settings.base_url)


@router.get("/feeds/org/{value}")
def organization_feed(request: Request, value: str, session: ReadSession, settings: AppSettings) -> Response:
    name, fmt = _format(value)
    organization = query_organization(session, name)
    if organization is None:
        raise HTTPException(404, f"No organization {name!r}.")
    rows = query_organization_papers(session, organization.id, limit=FEED_SIZE)
    title = f"papertide: papers from {organization.fullname or organization.name}"
    spec = FeedSpec(title, f"{settings.base_url}/orgs/{name}", f"/feeds/org/{name}", rows)
    return feed_response(request, spec, fmt, settings.base_url)


@router.get("/feeds/user/{value}")
def submitter_feed(request: Request, value: str, session: ReadSession, settings: AppSettings) -> Response:
    username, fmt = _format(value)
    person = query_user(session, username)
    if person is None:
        raise HTTPException(404, f"No user {username!r}.")
    rows = query_submitted_by(session, person.id, limit=FEED_SIZE)
    spec = FeedSpec(
        f"papertide: submitted by {username}", f"{settings.base_url}/users/{username}", f"/feeds/user/{username}", rows
    )
    return feed_response(request, spec, fmt, settings.base_url)


@router.get("/feeds/collection/{username}/{value}")
def collection_feed(
    request: Request, username: str, value: str, session: ReadSession, settings: AppSettings
) -> Response:
    slug, fmt = _format(value)
    found = query_collection(session, username, slug)
    return _collection_feed(request, session, settings, found, f"/feeds/collection/{username}/{slug}", fmt)


@router.get("/feeds/orgs/{name}/collections/{value}")
def organization_collection_feed(
    request: Request, name: str, value: str, session: ReadSession, settings: AppSettings
) -> Response:
    slug, fmt = _format(value)
    found = query_organization_collection(session, name, slug)
    return _collection_feed(request, session, settings, found, f"/feeds/orgs/{name}/collections/{slug}", fmt)


def _collection_feed(
    request: Request,
    session: Session,
    settings: Settings,
    collection: CollectionRow | None,
    feed_path: str,
    fmt: FeedFormat,
) -> Response:
    """A public collection's papers, in its order; any other collection has no feed (404)."""
    if collection is None or not collection.is_public:
        raise HTTPException(404, "No such public collection.")
    rows = [row for row, _ in query_collection_items(session, collection.id)]
    spec = FeedSpec(f"papertide: {collection.title}", settings.base_url + collection.path, feed_path, rows)
    return feed_response(request, spec, fmt, settings.base_url)


@router.get("/feeds/author/{value}")
def author_feed(request: Request, value: str, session: ReadSession, settings: AppSettings) -> Response:
    name, fmt = _format(value)
    key = author_key(name)
    found = query_author_name(session, key) if key else None
    if found is None:
        raise HTTPException(404, f"No paper here has an author named {name[:80]!r}.")
    rows = query_author_papers(session, key, limit=FEED_SIZE)
    path = f"/authors/{quote(key, safe='')}"
    spec = FeedSpec(
        f"papertide: papers by {found[0]}", settings.base_url + path, f"/feeds/author/{quote(key, safe='')}", rows
    )
    return feed_response(request, spec, fmt, settings.base_url)


@router.get("/feeds/personal/{value}")
def personal_feed(
    request: Request,
    value: str,
    database: AppDatabase,
    settings: AppSettings,
    engine: AppSearch,
    semantic: SemanticSearch,
) -> Response:
    """The picks, after the newest papers of the authors and searches the user follows."""
    token, fmt = _format(value)
    with database.read_session() as session:
        user_id = user_for_feed_token(session, token)
        if user_id is None:
            raise HTTPException(404, "This feed link was revoked or never existed. Make a new one in your settings.")
        followed = followed_papers(session, engine, user_id, FEED_SIZE)
    picks = _picks(database, semantic, user_id) if semantic is not None else []
    rows = list({row.id: row for row in [*followed, *picks]}.values())
    spec = FeedSpec(
        "papertide: picked for you", f"{settings.base_url}/for-you", f"/feeds/personal/{token}", rows, private=True
    )
    return feed_response(request, spec, fmt, settings.base_url)


def _picks(database: Database, semantic: Semantic, user_id: int) -> list[PaperRow]:
    return [explained.paper for explained in personal_picks(database, semantic, user_id, limit=FEED_SIZE).picks]
