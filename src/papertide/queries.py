"""The read side: ``query_*`` functions returning plain rows for pages, feeds, the API and the CLI.

Nothing here writes. Functions take a session and return frozen dataclasses, never ORM objects bound to a
session, so callers render them after the session closed. List queries are a fixed number of statements
whatever the page size (the cards, the viewer's votes, the category counts): no N+1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from papertide.config import Settings
from papertide.models import (
    Collection,
    CollectionItem,
    Comment,
    DigestDelivery,
    FeaturedPaper,
    Follow,
    Organization,
    OrganizationMember,
    Paper,
    PaperAuthor,
    PaperCategory,
    PaperEmbedding,
    Subscription,
    User,
    Vote,
    utcnow,
)
from papertide.text import http_url

Sort = Literal["upvotes", "trending", "newest"]
SORTS: tuple[Sort, ...] = ("upvotes", "trending", "newest")
# hf.co's own order of a day (its /api/daily_papers?date=): upvotes, then the position in the day's feed, which is
# the order the featured rows were written in (an imported day is written in the order hf.co listed it).
FeaturedSort = Sort | Literal["feed"]


# The "upvotes" order of daily lists and digests (docs/ranking.md): hf.co's count plus this instance's votes. The
# two figures are stored and shown apart; an hf.co account that also voted here is counted in both (unknowable).
BOTH_UPVOTES = Paper.upvote_count + func.coalesce(Paper.hf_upvotes, 0)
BOTH_COMMENTS = Paper.comment_count + func.coalesce(Paper.hf_comments, 0)


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    fullname: str | None
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class PaperRow:
    """What a card, a feed item or an API item needs to show one paper."""

    id: int
    arxiv_id: str
    title: str
    abstract: str | None
    authors: list[dict[str, Any]]
    categories: list[str]
    submitted_at: datetime | None
    announced_on: date | None
    code_url: str | None
    project_url: str | None
    github_stars: int | None
    upvotes: int  # this instance's votes
    comments: int  # this instance's visible comments
    hf_upvotes: int | None  # hf.co's figures, None when hf.co's list never carried the paper
    hf_comments: int | None
    ai_summary: str | None  # hf.co's machine summary and keywords
    ai_keywords: list[str] | None
    featured_on: date | None
    featured_at: datetime | None
    submitted_by: Account | None
    organization: Account | None
    trending_score: float | None = None


def both_upvotes(row: PaperRow) -> int:
    """The figure the "upvotes" order sorts by (``BOTH_UPVOTES``) for one row."""
    return row.upvotes + (row.hf_upvotes or 0)


@dataclass(frozen=True, slots=True)
class TrendingRules:
    gravity: float
    window_days: int
    min_account_age_hours: float

    @classmethod
    def of(cls, settings: Settings) -> TrendingRules:
        return cls(settings.trending_gravity, settings.trending_window_days, settings.trending_min_account_age_hours)


def _paper_rows(include_hidden: bool = False) -> Select[Any]:
    submitter = aliased(User)
    statement: Select[Any] = (
        select(  # type: ignore[assignment]
            Paper,
            FeaturedPaper.featured_on,
            FeaturedPaper.created_at,
            submitter.username,
            submitter.fullname,
            submitter.avatar_url,
            Organization.name,
            Organization.fullname,
            Organization.avatar_url,
        )
        .select_from(Paper)
        .outerjoin(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
        .outerjoin(submitter, submitter.id == FeaturedPaper.submitted_by_id)
        .outerjoin(Organization, Organization.id == FeaturedPaper.organization_id)
    )
    return statement if include_hidden else statement.where(Paper.hidden.is_(False))


def _to_row(result: Any, score: float | None = None) -> PaperRow:
    paper: Paper = result[0]
    return PaperRow(
        id=paper.id,
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=paper.authors,
        categories=paper.categories,
        submitted_at=paper.submitted_at,
        announced_on=paper.announced_on,
        # Rows stored before sources checked links may hold any scheme: every reader gets http(s) or nothing.
        code_url=http_url(paper.code_url),
        project_url=http_url(paper.project_url),
        github_stars=paper.github_stars,
        upvotes=paper.upvote_count,
        comments=paper.comment_count,
        hf_upvotes=paper.hf_upvotes,
        hf_comments=paper.hf_comments,
        ai_summary=paper.ai_summary,
        ai_keywords=paper.ai_keywords,
        featured_on=result[1],
        featured_at=result[2],
        submitted_by=Account(result[3], result[4], http_url(result[5])) if result[3] else None,
        organization=Account(result[6], result[7], http_url(result[8])) if result[6] else None,
        trending_score=score,
    )


def _in_category(statement: Select[Any], category: str | None) -> Select[Any]:
    if not category:
        return statement
    return statement.where(
        select(PaperCategory.paper_id)
        .where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        .exists()
    )


def query_featured(
    session: Session,
    *,
    start: date,
    end: date,
    sort: FeaturedSort = "upvotes",
    category: str | None = None,
    submitter: str | None = None,
    organization: str | None = None,
    limit: int = 50,
    offset: int = 0,
    trending: TrendingRules | None = None,
    now: datetime | None = None,
) -> list[PaperRow]:
    """Papers featured between ``start`` and ``end`` (inclusive), sorted; trending needs ``trending`` rules."""
    statement = _in_category(_paper_rows(), category).where(FeaturedPaper.featured_on.between(start, end))
    if submitter:
        statement = statement.where(FeaturedPaper.submitted_by_id == _user_id(submitter))
    if organization:
        statement = statement.where(Organization.name == organization)
    if sort == "trending":
        assert trending is not None, "trending sort needs the trending rules"
        scored = _score(session, list(session.execute(statement)), trending, now or _end_of(end))
        return scored[offset : offset + limit]
    orders = {
        "upvotes": (BOTH_UPVOTES.desc(), BOTH_COMMENTS.desc(), Paper.arxiv_id.desc()),
        "feed": (BOTH_UPVOTES.desc(), FeaturedPaper.id),
        "newest": (FeaturedPaper.featured_on.desc(), Paper.submitted_at.desc().nulls_last(), Paper.arxiv_id.desc()),
    }
    statement = statement.order_by(*orders[sort]).limit(limit).offset(offset)
    return [_to_row(r) for r in session.execute(statement)]


def _user_id(username: str) -> Any:
    return select(User.id).where(User.username == username).scalar_subquery()


def query_trending(
    session: Session, rules: TrendingRules, *, now: datetime | None = None, category: str | None = None, limit: int = 50
) -> list[PaperRow]:
    """Papers featured in the trending window, by time-decayed eligible upvotes (see ``trending_score``).

    The window ends now, or at the newest featured day when that is older (an imported archive), so an
    instance that stopped importing still shows what was trending when it stopped.
    """
    moment = now or datetime.now(UTC)
    newest = session.execute(select(func.max(FeaturedPaper.featured_on))).scalar()
    if newest is None:
        return []
    moment = min(moment, _end_of(newest))
    start = (moment - timedelta(days=rules.window_days)).date()
    statement = _in_category(_paper_rows(), category).where(FeaturedPaper.featured_on.between(start, moment.date()))
    return _score(session, list(session.execute(statement)), rules, moment)[:limit]


def trending_score(upvotes: int, hours: float, gravity: float) -> float:
    """HN-style gravity: ``upvotes / (hours since featured + 2) ** gravity``."""
    return upvotes / (max(hours, 0.0) + 2.0) ** gravity


def _score(session: Session, results: list[Any], rules: TrendingRules, now: datetime) -> list[PaperRow]:
    """Score with hf.co's upvotes plus this instance's votes from accounts older than the minimum age."""
    eligible = _eligible_votes(session, [r[0].id for r in results], now - timedelta(hours=rules.min_account_age_hours))
    scored = []
    for result in results:
        featured_at = datetime.combine(result[1], time(0), tzinfo=UTC)
        hours = (now - featured_at).total_seconds() / 3600
        upvotes = (result[0].hf_upvotes or 0) + eligible.get(result[0].id, 0)
        scored.append(_to_row(result, round(trending_score(upvotes, hours, rules.gravity), 6)))
    scored.sort(key=lambda row: (row.trending_score or 0.0, both_upvotes(row), row.arxiv_id), reverse=True)
    return scored


def _eligible_votes(session: Session, paper_ids: Sequence[int], accounts_before: datetime) -> dict[int, int]:
    if not paper_ids:
        return {}
    statement = (
        select(Vote.paper_id, func.count())
        .join(User, User.id == Vote.user_id)
        .where(Vote.paper_id.in_(paper_ids), User.created_at <= accounts_before)
        .group_by(Vote.paper_id)
    )
    return {paper_id: count for paper_id, count in session.execute(statement)}


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def query_category_counts(session: Session, *, start: date, end: date) -> list[tuple[str, int]]:
    """Categories of the papers featured in the period, most common first (the filter chips)."""
    statement = (
        select(PaperCategory.category, func.count())
        .join(FeaturedPaper, FeaturedPaper.paper_id == PaperCategory.paper_id)
        .join(Paper, Paper.id == PaperCategory.paper_id)
        .where(FeaturedPaper.featured_on.between(start, end), Paper.hidden.is_(False))
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
    )
    return [(category, count) for category, count in session.execute(statement)]


def query_votes_of(session: Session, user_id: int | None, paper_ids: Sequence[int]) -> set[int]:
    if user_id is None or not paper_ids:
        return set()
    statement = select(Vote.paper_id).where(Vote.user_id == user_id, Vote.paper_id.in_(paper_ids))
    return set(session.execute(statement).scalars())


def query_featured_neighbours(session: Session, day: date) -> tuple[date | None, date | None]:
    """The nearest featured days before and after ``day``, for previous/next links that skip empty days."""
    before = session.execute(select(func.max(FeaturedPaper.featured_on)).where(FeaturedPaper.featured_on < day))
    after = session.execute(select(func.min(FeaturedPaper.featured_on)).where(FeaturedPaper.featured_on > day))
    return before.scalar(), after.scalar()


def query_latest_featured_day(session: Session) -> date | None:
    return session.execute(select(func.max(FeaturedPaper.featured_on))).scalar()


def query_announced(
    session: Session,
    *,
    start: date,
    end: date,
    category: str | None = None,
    author: str | None = None,
    author_key: str | None = None,
    limit: int = 50,
) -> list[PaperRow]:
    """Papers listed on arXiv between ``start`` and ``end``, featured or not, most upvoted first (digest sections).
    ``author`` matches part of a name as typed; ``author_key`` a followed author's name key."""
    statement = _in_category(_paper_rows(), category).where(Paper.announced_on.between(start, end))
    if author_key:
        statement = statement.where(_by_author(author_key))
    if author:
        escaped = author.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(Paper.author_names).like(f"%{escaped}%", escape="\\"))
    order = (BOTH_UPVOTES.desc(), BOTH_COMMENTS.desc(), Paper.arxiv_id.desc())
    return [_to_row(r) for r in session.execute(statement.order_by(*order).limit(limit))]


def query_recent_papers(
    session: Session, *, limit: int = 50, offset: int = 0, category: str | None = None
) -> list[PaperRow]:
    """The newest arXiv listings, featured or not (the front page of an instance nobody submits to yet; hf.co's
    ``/api/papers`` pages through all of them)."""
    statement = _in_category(_paper_rows(), category).order_by(
        Paper.announced_on.desc().nulls_last(), Paper.arxiv_id.desc()
    )
    return [_to_row(r) for r in session.execute(statement.limit(limit).offset(offset))]


def query_paper(session: Session, arxiv_id: str, *, include_hidden: bool = False) -> PaperRow | None:
    result = session.execute(_paper_rows(include_hidden).where(Paper.arxiv_id == arxiv_id)).first()
    return _to_row(result) if result else None


def query_visible_paper(session: Session, arxiv_id: str) -> tuple[int, str] | None:
    """(id, title) of the paper with this canonical arXiv id, unless it is unknown or hidden."""
    row = session.execute(
        select(Paper.id, Paper.title).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
    ).first()
    return (row.id, row.title) if row else None


def query_arxiv_id(session: Session, paper_id: int) -> str:
    """The arXiv id of a paper known by its row id (for a redirect after acting on one of its comments)."""
    return str(session.execute(select(Paper.arxiv_id).where(Paper.id == paper_id)).scalar_one())


def query_papers_by_ids(session: Session, paper_ids: Sequence[int]) -> list[PaperRow]:
    """Rows for ``paper_ids`` in the order given (search results, similar papers)."""
    if not paper_ids:
        return []
    found = {row.id: row for row in (_to_row(r) for r in session.execute(_paper_rows().where(Paper.id.in_(paper_ids))))}
    return [found[paper_id] for paper_id in paper_ids if paper_id in found]


@dataclass(frozen=True, slots=True)
class PaperExtras:
    """What only the paper page shows: versions, metadata fields, the raw paper flags."""

    version: int | None
    versions: list[dict[str, Any]]
    updated_at: datetime | None
    comments_field: str | None
    journal_ref: str | None
    doi: str | None
    license: str | None
    report_no: str | None
    hidden: bool


def query_paper_extras(session: Session, paper_id: int) -> PaperExtras:
    paper = session.get_one(Paper, paper_id)
    return PaperExtras(
        version=paper.version,
        versions=paper.versions,
        updated_at=paper.updated_at,
        comments_field=paper.comments,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        license=paper.license,
        report_no=paper.report_no,
        hidden=paper.hidden,
    )


@dataclass(frozen=True, slots=True)
class CommentRow:
    id: int
    parent_id: int | None
    author: str | None
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    deleted: bool


def query_comments(session: Session, paper_id: int, *, include_hidden: bool = False) -> list[CommentRow]:
    statement = (
        select(Comment, User.username)
        .outerjoin(User, User.id == Comment.user_id)
        .where(Comment.paper_id == paper_id)
        .order_by(Comment.created_at, Comment.id)
    )
    if not include_hidden:
        statement = statement.where(Comment.hidden.is_(False))
    return [
        CommentRow(c.id, c.parent_id, username, c.body, c.body_html, c.created_at, c.edited_at, c.hidden, c.deleted)
        for c, username in session.execute(statement)
    ]


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    owner: str
    slug: str
    title: str
    description: str | None
    is_public: bool
    size: int
    updated_at: datetime


def _collection_rows() -> Select[Any]:
    counted = aliased(CollectionItem)
    size = (
        select(func.count())
        .select_from(counted)
        .where(counted.collection_id == Collection.id)
        .correlate(Collection)
        .scalar_subquery()
    )
    return select(Collection, User.username, size).join(User, User.id == Collection.owner_id)


def _collection(result: Any) -> CollectionRow:
    c = result[0]
    return CollectionRow(c.id, result[1], c.slug, c.title, c.description, c.is_public, result[2], c.updated_at)


def query_collections_with(session: Session, paper_id: int, viewer_id: int | None) -> list[CollectionRow]:
    visible = or_(Collection.is_public.is_(True), Collection.owner_id == (viewer_id or -1))
    statement = (
        _collection_rows()
        .join(CollectionItem, CollectionItem.collection_id == Collection.id)
        .where(CollectionItem.paper_id == paper_id, visible)
        .order_by(Collection.updated_at.desc())
        .limit(20)
    )
    return [_collection(r) for r in session.execute(statement)]


def query_own_collections(session: Session, owner_id: int | None) -> list[tuple[int, str]]:
    """(id, title) of the viewer's collections, for the "add to collection" menu; none for a visitor."""
    if owner_id is None:
        return []
    rows = session.execute(
        select(Collection.id, Collection.title).where(Collection.owner_id == owner_id).order_by(Collection.title)
    )
    return [(ident, title) for ident, title in rows]


def query_collections_of(session: Session, username: str, viewer_id: int | None) -> list[CollectionRow]:
    statement = (
        _collection_rows()
        .where(User.username == username, or_(Collection.is_public.is_(True), Collection.owner_id == (viewer_id or -1)))
        .order_by(Collection.updated_at.desc())
    )
    return [_collection(r) for r in session.execute(statement)]


def query_collection(session: Session, username: str, slug: str) -> CollectionRow | None:
    result = session.execute(_collection_rows().where(User.username == username, Collection.slug == slug)).first()
    return _collection(result) if result else None


def query_collection_items(session: Session, collection_id: int) -> list[tuple[PaperRow, str | None]]:
    statement = (
        _paper_rows()
        .add_columns(CollectionItem.note)
        .join(CollectionItem, and_(CollectionItem.paper_id == Paper.id, CollectionItem.collection_id == collection_id))
        .order_by(CollectionItem.position)
    )
    return [(_to_row(r), r[-1]) for r in session.execute(statement)]


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: int
    username: str
    fullname: str | None
    avatar_url: str | None
    email: str | None
    created_at: datetime
    is_admin: bool
    can_log_in: bool
    organizations: list[str]
    orcid: str | None = None


def query_user(session: Session, username: str) -> UserProfile | None:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        return None
    return UserProfile(
        user.id,
        user.username,
        user.fullname,
        http_url(user.avatar_url),
        user.email,
        user.created_at,
        user.is_admin,
        user.password_hash is not None,
        query_memberships(session, user.id),
        user.orcid,
    )


def query_submitted_by(session: Session, user_id: int, limit: int = 50) -> list[PaperRow]:
    statement = _paper_rows().where(FeaturedPaper.submitted_by_id == user_id).order_by(FeaturedPaper.featured_on.desc())
    return [_to_row(r) for r in session.execute(statement.limit(limit))]


def query_upvoted_by(session: Session, user_id: int, limit: int = 50) -> list[PaperRow]:
    statement = (
        _paper_rows()
        .join(Vote, and_(Vote.paper_id == Paper.id, Vote.user_id == user_id))
        .order_by(Vote.created_at.desc())
    )
    return [_to_row(r) for r in session.execute(statement.limit(limit))]


@dataclass(frozen=True, slots=True)
class OrganizationPage:
    id: int
    name: str
    fullname: str | None
    avatar_url: str | None
    members: list[str]


def query_organization(session: Session, name: str) -> OrganizationPage | None:
    organization = session.execute(select(Organization).where(Organization.name == name)).scalar()
    if organization is None:
        return None
    members = session.execute(
        select(User.username)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == organization.id)
        .order_by(User.username)
    ).scalars()
    return OrganizationPage(
        organization.id, organization.name, organization.fullname, http_url(organization.avatar_url), list(members)
    )


def query_organization_papers(session: Session, organization_id: int, limit: int = 100) -> list[PaperRow]:
    statement = (
        _paper_rows()
        .where(FeaturedPaper.organization_id == organization_id)
        .order_by(FeaturedPaper.featured_on.desc(), BOTH_UPVOTES.desc())
    )
    return [_to_row(r) for r in session.execute(statement.limit(limit))]


def query_memberships(session: Session, user_id: int) -> list[str]:
    statement = (
        select(Organization.name)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user_id)
        .order_by(Organization.name)
    )
    return list(session.execute(statement).scalars())


@dataclass(frozen=True, slots=True)
class Totals:
    papers: int
    featured: int
    featured_days: int


def query_totals(session: Session) -> Totals:
    papers = session.execute(select(func.count()).select_from(Paper)).scalar_one()
    featured = session.execute(select(func.count()).select_from(FeaturedPaper)).scalar_one()
    days = session.execute(select(func.count(func.distinct(FeaturedPaper.featured_on)))).scalar_one()
    return Totals(papers=papers, featured=featured, featured_days=days)


@dataclass(frozen=True, slots=True)
class InstanceCounts:
    """What the instance holds, for monitoring: papers (all, changed in the last day, with a vector, featured),
    and digest deliveries and subscriptions per status (in status order)."""

    papers: int
    papers_changed_last_day: int
    papers_embedded: int
    papers_featured: int
    digest_deliveries: dict[str, int]
    subscriptions: dict[str, int]


def query_instance_counts(session: Session) -> InstanceCounts:
    def count(statement: Select[Any]) -> int:
        return session.scalar(statement) or 0

    def by_status(column: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).group_by(column).order_by(column))
        return {status: total for status, total in rows}

    return InstanceCounts(
        papers=count(select(func.count()).select_from(Paper)),
        papers_changed_last_day=count(select(func.count()).where(Paper.modified_at > utcnow() - timedelta(days=1))),
        papers_embedded=count(select(func.count()).select_from(PaperEmbedding)),
        papers_featured=count(select(func.count()).select_from(FeaturedPaper)),
        digest_deliveries=by_status(DigestDelivery.status),
        subscriptions=by_status(Subscription.status),
    )


def _by_author(key: str) -> ColumnElement[bool]:
    return Paper.id.in_(select(PaperAuthor.paper_id).where(PaperAuthor.name_key == key))


def query_author_papers(session: Session, key: str, *, limit: int = 50, offset: int = 0) -> list[PaperRow]:
    """Papers with an author of this name key (``people.author_key``), newest first."""
    statement = _paper_rows().where(_by_author(key))
    order = (Paper.announced_on.desc().nulls_last(), Paper.submitted_at.desc().nulls_last(), Paper.id.desc())
    return [_to_row(r) for r in session.execute(statement.order_by(*order).offset(offset).limit(limit))]


def query_author_name(session: Session, key: str) -> tuple[str, int] | None:
    """The most common spelling of the names with this key (on a tie the one sorting last, which keeps accents:
    "José" over "Jose"), and on how many visible papers any of them appears."""
    visible = and_(Paper.id == PaperAuthor.paper_id, Paper.hidden.is_(False))
    spellings = session.execute(
        select(PaperAuthor.name, func.count())
        .join(Paper, visible)
        .where(PaperAuthor.name_key == key)
        .group_by(PaperAuthor.name)
        .order_by(func.count().desc(), PaperAuthor.name.desc())
    ).all()
    return (spellings[0][0], sum(count for _, count in spellings)) if spellings else None


@dataclass(frozen=True, slots=True)
class FollowRow:
    kind: str  # "author" or "search"
    key: str
    label: str


def query_follows(session: Session, user_id: int, kind: str | None = None) -> list[FollowRow]:
    statement = select(Follow.kind, Follow.key, Follow.label).where(Follow.user_id == user_id)
    if kind:
        statement = statement.where(Follow.kind == kind)
    return [FollowRow(*row) for row in session.execute(statement.order_by(Follow.kind, Follow.label))]
