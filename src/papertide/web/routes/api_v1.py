"""papertide's own API, ``/api/v1``: listings, search with the full query language and facets, similar papers,
comments, votes, collections, subscriptions, an organization's reading-group sessions (its members) and
(administrators) the full export. Documented at ``/api/docs``.

Clients sign in with a personal access token (``Authorization: Bearer pt_…``; read or write scope) or a session.
Lists page with an opaque ``cursor``; errors are ``application/problem+json``; writes are rate-limited (429 with
``Retry-After``). The routes call the same queries and services as the pages, so both always agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from papertide.mail import MailError
from papertide.periods import InvalidPeriod, parse_period
from papertide.queries.collections import query_collections_of
from papertide.queries.comments import query_comments
from papertide.queries.lab import query_reading_session, query_sessions
from papertide.queries.listings import TrendingRules, query_featured, query_trending
from papertide.queries.papers import query_papers_by_ids
from papertide.search.engine import SearchOptions
from papertide.search.query import parse_query
from papertide.search.similar import Examples, SimilarityError, similar_papers
from papertide.services.collections import CollectionError, add_to_collection, create_collection
from papertide.services.comments import CommentError, add_comment
from papertide.services.export import jsonl_lines
from papertide.services.reading_group import SessionPlan, schedule_session
from papertide.services.subscriptions import (
    NotYours,
    OwnSubscription,
    Preferences,
    SubscriptionError,
    parse_list,
    parse_searches,
    request_subscription,
    subscriptions_of_user,
    update_own,
)
from papertide.services.votes import vote as cast_vote
from papertide.web.api.schemas import (
    PROBLEMS,
    Accepted,
    CollectionIn,
    CollectionOut,
    CommentIn,
    CommentOut,
    Facet,
    ItemIn,
    Page,
    Paper,
    PreferencesIn,
    ScoredPaper,
    SearchPage,
    SessionIn,
    SessionOut,
    SimilarPage,
    SubscriptionIn,
    SubscriptionOut,
    VoteOut,
    decode_cursor,
    encode_cursor,
)
from papertide.web.deps import (
    AppDatabase,
    AppSearch,
    AppSettings,
    PaperNotFound,
    ReadSession,
    RowId,
    SemanticSearch,
    VisiblePaper,
    WriteSession,
    lookup_paper,
    resolve_paper,
)
from papertide.web.routes.organizations import member_of, organization_named
from papertide.web.security import AdminWriter, CurrentUser, SignedIn, client_address, enforce_rate_limit
from papertide.web.viewmodels.organizations import session_view

router = APIRouter(prefix="/api/v1", tags=["papertide API v1"], responses=PROBLEMS)
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=200, description="From a previous page's next_cursor.")]


def _offset(cursor: str | None) -> int:
    try:
        return decode_cursor(cursor)
    except ValueError as error:
        raise HTTPException(400, f"{error}; start again without a cursor.") from error


def _next(offset: int, limit: int, returned: int, total: int | None = None) -> str | None:
    more = returned == limit if total is None else offset + returned < total
    return encode_cursor(offset + limit) if more else None


@router.get("/papers", response_model=Page, summary="Featured papers of a period, sorted and filtered")
def list_papers(
    session: ReadSession,
    settings: AppSettings,
    period: Literal["day", "week", "month", "all"] = "all",
    value: Annotated[str | None, Query(max_length=10, description="2026-07-09, 2026-W28 or 2026-07")] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    organization: Annotated[str | None, Query(max_length=96)] = None,
    submitter: Annotated[str | None, Query(max_length=64)] = None,
    sort: Literal["upvotes", "newest", "trending"] = "upvotes",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page:
    offset = _offset(cursor)
    if period == "all":
        start, end = date(1991, 1, 1), datetime.now(UTC).date()
    else:
        if not value:
            raise HTTPException(400, f"period={period} needs a value, e.g. value=2026-07-09 for a day.")
        try:
            chosen = parse_period(period, value)
        except InvalidPeriod as error:
            raise HTTPException(400, str(error)) from error
        start, end = chosen.start, chosen.end
    if period == "all" and sort == "trending" and not (organization or submitter):
        rows = query_trending(session, TrendingRules.of(settings), category=category, limit=offset + limit)[offset:]
    else:
        rows = query_featured(
            session,
            start=start,
            end=end,
            sort=sort,
            category=category,
            organization=organization,
            submitter=submitter,
            limit=limit,
            offset=offset,
            trending=TrendingRules.of(settings),
        )
    return Page(items=[Paper.of(row, settings.base_url) for row in rows], next_cursor=_next(offset, limit, len(rows)))


@router.get("/papers/{arxiv_id:path}/comments", response_model=list[CommentOut], summary="A paper's comments")
def list_comments(paper: VisiblePaper, session: ReadSession) -> list[CommentOut]:
    return [CommentOut.of(row) for row in query_comments(session, paper.id)]


@router.post("/papers/{arxiv_id:path}/comments", response_model=CommentOut, status_code=201, summary="Comment")
def post_comment(request: Request, arxiv_id: str, body: CommentIn, session: WriteSession, user: SignedIn) -> Response:
    paper = resolve_paper(session, arxiv_id)
    enforce_rate_limit(request, "write", user.id, session)
    try:
        comment = add_comment(session, user_id=user.id, paper_id=paper.id, body=body.body, parent_id=body.parent_id)
    except CommentError as error:
        raise HTTPException(422, str(error)) from error
    session.flush()
    made = next(CommentOut.of(row) for row in query_comments(session, paper.id) if row.id == comment.id)
    return _json(made, 201)


@router.put("/papers/{arxiv_id:path}/vote", response_model=VoteOut, summary="Upvote (idempotent)")
def upvote(arxiv_id: str, session: WriteSession, settings: AppSettings, user: SignedIn) -> Response:
    return _vote(session, settings, user.id, arxiv_id, up=True)


@router.delete("/papers/{arxiv_id:path}/vote", response_model=VoteOut, summary="Withdraw an upvote (idempotent)")
def withdraw_vote(arxiv_id: str, session: WriteSession, settings: AppSettings, user: SignedIn) -> Response:
    return _vote(session, settings, user.id, arxiv_id, up=False)


def _vote(session: Session, settings: AppSettings, user_id: int, arxiv_id: str, *, up: bool) -> Response:
    paper = resolve_paper(session, arxiv_id)
    state = cast_vote(session, user_id, paper.id, up=up, per_minute=settings.rate_limit_votes_per_minute)
    return _json(VoteOut(voted=state.voted, upvotes=state.upvotes))


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """A writing route's answer, serialized in the route's own thread (see :data:`WriteSession`)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.get("/papers/{arxiv_id:path}", response_model=Paper, summary="One paper")
def get_paper(paper: VisiblePaper, session: ReadSession, settings: AppSettings) -> Paper:
    (row,) = query_papers_by_ids(session, [paper.id])
    return Paper.of(row, settings.base_url)


@router.get("/search", response_model=SearchPage, summary="Search with the query language, filters and facets")
def search(
    session: ReadSession,
    settings: AppSettings,
    engine: AppSearch,
    q: Annotated[str, Query(max_length=1000, description="See docs/search.md for the syntax.")] = "",
    category: Annotated[str | None, Query(max_length=32)] = None,
    organization: Annotated[str | None, Query(max_length=96)] = None,
    after: date | None = None,
    before: date | None = None,
    featured: bool = False,
    code: bool = False,
    sort: Literal["relevance", "date", "upvotes"] = "relevance",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchPage:
    offset = _offset(cursor)
    options = SearchOptions(
        category=category,
        organization=organization,
        after=after,
        before=before,
        featured_only=featured,
        has_code=code,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    results = engine.search(session, parse_query(q), options)
    return SearchPage(
        items=[Paper.of(row, settings.base_url) for row in results.rows],
        next_cursor=_next(offset, limit, len(results.rows), results.total),
        total=results.total,
        facets=[Facet(category=name, count=count) for name, count in results.facets],
        warnings=list(results.query.warnings),
    )


@router.get("/similar", response_model=SimilarPage, summary="Papers like a text and/or like (unlike) papers")
def similar(
    session: ReadSession,
    settings: AppSettings,
    semantic: SemanticSearch,
    text: Annotated[str, Query(max_length=10_000)] = "",
    pos: Annotated[list[str] | None, Query(max_length=25, description="arXiv ids to be like")] = None,
    neg: Annotated[list[str] | None, Query(max_length=25, description="arXiv ids to be unlike")] = None,
    limit: Limit = 20,
) -> SimilarPage:
    if semantic is None:
        raise HTTPException(503, "Semantic search is turned off on this server.")
    warnings: list[str] = []
    positives, negatives = _known(session, pos or [], warnings), _known(session, neg or [], warnings)
    try:
        hits = similar_papers(session, semantic, Examples(text, positives, negatives), limit)
    except SimilarityError as error:
        raise HTTPException(400, str(error)) from error
    rows = {row.id: row for row in query_papers_by_ids(session, [hit.paper_id for hit in hits])}
    items = [
        ScoredPaper(paper=Paper.of(rows[h.paper_id], settings.base_url), score=h.score)
        for h in hits
        if h.paper_id in rows
    ]
    return SimilarPage(items=items, warnings=warnings)


def _known(session: Session, arxiv_ids: list[str], warnings: list[str]) -> list[int]:
    found = []
    for arxiv_id in arxiv_ids:
        try:
            found.append(lookup_paper(session, arxiv_id).id)
        except PaperNotFound as error:
            warnings.append(str(error))
    return found


@router.get("/collections", response_model=list[CollectionOut], summary="Your collections")
def my_collections(session: ReadSession, settings: AppSettings, user: SignedIn) -> list[CollectionOut]:
    return [
        CollectionOut(
            id=c.id,
            slug=c.slug,
            title=c.title,
            description=c.description,
            public=c.is_public,
            size=c.size,
            url=f"{settings.base_url}/users/{c.owner}/collections/{c.slug}",
        )
        for c in query_collections_of(session, user.username, user.id)
    ]


@router.post("/collections", response_model=CollectionOut, status_code=201, summary="Make a collection")
def new_collection(
    request: Request, body: CollectionIn, session: WriteSession, settings: AppSettings, user: SignedIn
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        made = create_collection(
            session, owner_id=user.id, title=body.title, description=body.description, is_public=body.public
        )
        slug, collection_id = made.slug, made.id
    except CollectionError as error:
        raise HTTPException(422, str(error)) from error
    url = f"{settings.base_url}/users/{user.username}/collections/{slug}"
    out = CollectionOut(
        id=collection_id, slug=slug, title=body.title, description=body.description, public=body.public, size=0, url=url
    )
    return _json(out, 201)


@router.post("/collections/{collection_id}/items", status_code=204, summary="Add a paper to your collection")
def add_item(request: Request, collection_id: RowId, body: ItemIn, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    paper_id = resolve_paper(session, body.arxiv_id).id
    add_to_collection(session, collection_id=collection_id, owner_id=user.id, paper_id=paper_id, note=body.note)
    return Response(status_code=204)


@router.post("/subscriptions", response_model=Accepted, status_code=202, summary="Subscribe an address (opt-in)")
def subscribe(
    request: Request, body: SubscriptionIn, database: AppDatabase, settings: AppSettings, user: CurrentUser
) -> Accepted:
    enforce_rate_limit(request, "auth", client_address(request))
    try:
        preferences = _preferences(body, signed_in=user is not None)
        address = request_subscription(
            database, settings, body.email, body.cadence, preferences, user.id if user else None
        )
    except SubscriptionError as error:
        raise HTTPException(422, str(error)) from error
    except MailError as error:
        raise HTTPException(503, str(error)) from error
    return Accepted(detail=f"A confirmation mail went to {address}; the digest starts once its link is followed.")


@router.get("/subscriptions", response_model=list[SubscriptionOut], summary="Your subscriptions (made signed in)")
def my_subscriptions(session: ReadSession, user: SignedIn) -> list[SubscriptionOut]:
    return [_subscription_out(own) for own in subscriptions_of_user(session, user.id)]


@router.put(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Change what one of your subscriptions receives, saved searches included",
)
def change_subscription(
    request: Request, subscription_id: RowId, body: PreferencesIn, session: WriteSession, user: SignedIn
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        own = update_own(session, user.id, subscription_id, body.cadence, _preferences(body, signed_in=True))
    except SubscriptionError as error:
        raise HTTPException(404 if isinstance(error, NotYours) else 422, str(error)) from error
    return _json(_subscription_out(own))


def _preferences(body: PreferencesIn, *, signed_in: bool) -> Preferences:
    """The body's choices, each checked as the forms check them (:class:`SubscriptionError` names a bad one)."""
    return Preferences(
        trending=body.trending,
        categories=parse_list("\n".join(body.categories), "category"),
        organizations=parse_list("\n".join(body.organizations), "organization"),
        authors=parse_list("\n".join(body.authors), "author"),
        personal=body.personal and signed_in,
        searches=parse_searches(body.searches),
    )


def _subscription_out(own: OwnSubscription) -> SubscriptionOut:
    wanted = own.preferences
    return SubscriptionOut(
        id=own.id,
        email=own.email,
        status=own.status,
        cadence=own.cadence,
        trending=wanted.trending,
        categories=list(wanted.categories),
        organizations=list(wanted.organizations),
        authors=list(wanted.authors),
        searches=list(wanted.searches),
        personal=wanted.personal,
    )


@router.get(
    "/export", summary="Everything but password hashes, as `papertide export` writes it (administrators, write token)"
)
def export(database: AppDatabase, user: AdminWriter) -> StreamingResponse:
    return StreamingResponse(
        jsonl_lines(database),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="papertide-export.jsonl"'},
    )


def _session_out(view: dict[str, object], base_url: str) -> SessionOut:
    papers = view["papers"]
    assert isinstance(papers, list)
    fields = {key: view[key] for key in SessionOut.model_fields if key not in ("url", "papers")}
    return SessionOut(url=f"{base_url}{view['url']}", papers=[p["arxiv_id"] for p in papers], **fields)


@router.get("/orgs/{name}/sessions", response_model=list[SessionOut], summary="Your organization's reading group")
def reading_sessions(name: str, session: ReadSession, settings: AppSettings, user: SignedIn) -> list[SessionOut]:
    """The organization's sessions, latest first (its members only: 403 for anyone else)."""
    org = member_of(session, name, user)
    found = query_sessions(session, org.id, newest_first=True)
    return [_session_out(session_view(meeting, org.name), settings.base_url) for meeting in found]


@router.post("/orgs/{name}/sessions", response_model=SessionOut, status_code=201, summary="Schedule a session")
def new_reading_session(
    request: Request, name: str, body: SessionIn, session: WriteSession, settings: AppSettings, user: SignedIn
) -> Response:
    """A new session of the organization's reading group (a member's write token)."""
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    plan = SessionPlan(**body.model_dump())
    made = query_reading_session(session, org.id, schedule_session(session, org.id, org.name, user.id, plan))
    assert made is not None
    return _json(_session_out(session_view(made, org.name), settings.base_url), 201)
