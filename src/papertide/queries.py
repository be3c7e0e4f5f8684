"""The read side: ``query_*`` functions returning plain rows for pages, feeds, the API and the CLI.

Nothing here writes. Functions take a session and return dataclasses or tuples, never ORM objects bound to a
session, so callers can render them after the session has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.models import FeaturedPaper, Paper


@dataclass(frozen=True, slots=True)
class PaperSummary:
    arxiv_id: str
    title: str
    abstract: str | None
    authors: list[str]
    primary_category: str | None
    announced_on: date | None
    featured_on: date | None
    upvote_count: int
    comment_count: int


def query_recent_papers(session: Session, limit: int = 50) -> list[PaperSummary]:
    """Featured papers newest day first, by upvotes; then the latest arXiv listings."""
    statement = (
        select(Paper, FeaturedPaper.featured_on)
        .outerjoin(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
        .where(Paper.hidden.is_(False))
        .order_by(
            FeaturedPaper.featured_on.desc().nulls_last(),
            Paper.announced_on.desc().nulls_last(),
            Paper.upvote_count.desc(),
            Paper.arxiv_id.desc(),
        )
        .limit(limit)
    )
    return [_summary(paper, featured_on) for paper, featured_on in session.execute(statement)]


def _summary(paper: Paper, featured_on: date | None) -> PaperSummary:
    return PaperSummary(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=[author["name"] for author in paper.authors],
        primary_category=paper.primary_category,
        announced_on=paper.announced_on,
        featured_on=featured_on,
        upvote_count=paper.upvote_count,
        comment_count=paper.comment_count,
    )


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
