"""Reads of lists of papers: the featured days, weeks and months with their sorts, trending, the category
chips, the neighbouring days, arXiv's newest listings and the announced papers a digest section draws on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.models import (
    FeaturedPaper,
    Organization,
    Paper,
    PaperCategory,
    User,
    Vote,
)
from papertide.queries.papers import (
    BOTH_COMMENTS,
    BOTH_UPVOTES,
    PaperRow,
    both_upvotes,
    in_category,
    paper_rows,
    to_row,
)
from papertide.queries.people import by_author

Sort = Literal["upvotes", "trending", "newest"]
SORTS: tuple[Sort, ...] = ("upvotes", "trending", "newest")
# hf.co's own order of a day (its /api/daily_papers?date=): upvotes, then the position in the day's feed, which is
# the order the featured rows were written in (an imported day is written in the order hf.co listed it).
FeaturedSort = Sort | Literal["feed"]


@dataclass(frozen=True, slots=True)
class TrendingRules:
    gravity: float
    window_days: int
    min_account_age_hours: float

    @classmethod
    def of(cls, settings: Settings) -> TrendingRules:
        return cls(settings.trending_gravity, settings.trending_window_days, settings.trending_min_account_age_hours)


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
    statement = in_category(paper_rows(), category).where(FeaturedPaper.featured_on.between(start, end))
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
    return [to_row(r) for r in session.execute(statement)]


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
    statement = in_category(paper_rows(), category).where(FeaturedPaper.featured_on.between(start, moment.date()))
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
        scored.append(to_row(result, round(trending_score(upvotes, hours, rules.gravity), 6)))
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


def query_featured_neighbours(session: Session, start: date, end: date) -> tuple[date | None, date | None]:
    """The nearest featured days before ``start`` and after ``end``, for previous/next links that skip empty
    periods and stop at the data's ends."""
    before = session.execute(select(func.max(FeaturedPaper.featured_on)).where(FeaturedPaper.featured_on < start))
    after = session.execute(select(func.min(FeaturedPaper.featured_on)).where(FeaturedPaper.featured_on > end))
    return before.scalar(), after.scalar()


def query_latest_featured_day(session: Session, *, on_or_before: date | None = None) -> date | None:
    statement = select(func.max(FeaturedPaper.featured_on))
    if on_or_before is not None:
        statement = statement.where(FeaturedPaper.featured_on <= on_or_before)
    return session.execute(statement).scalar()


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
    """Papers dated between ``start`` and ``end`` (their effective date: listed on arXiv, else featured, …),
    featured or not, most upvoted first (digest sections). ``author`` matches part of a name as typed;
    ``author_key`` a followed author's name key."""
    statement = in_category(paper_rows(), category).where(Paper.published_on.between(start, end))
    if author_key:
        statement = statement.where(by_author(author_key))
    if author:
        escaped = author.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(Paper.author_names).like(f"%{escaped}%", escape="\\"))
    order = (BOTH_UPVOTES.desc(), BOTH_COMMENTS.desc(), Paper.arxiv_id.desc())
    return [to_row(r) for r in session.execute(statement.order_by(*order).limit(limit))]


def query_recent_papers(
    session: Session, *, limit: int = 50, offset: int = 0, category: str | None = None
) -> list[PaperRow]:
    """The newest arXiv listings, featured or not (the front page of an instance nobody submits to yet; hf.co's
    ``/api/papers`` pages through all of them)."""
    statement = in_category(paper_rows(), category).order_by(
        Paper.published_on.desc().nulls_last(), Paper.arxiv_id.desc()
    )
    return [to_row(r) for r in session.execute(statement.limit(limit).offset(offset))]
