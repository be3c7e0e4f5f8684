"""Reads of papers: the row every card, feed item and API item is built from (``PaperRow``, one statement
for any number of them), a paper and its page's extras, the viewer's votes.

Nothing in ``papertide.queries`` writes. Functions take a session and return frozen dataclasses, never ORM objects
bound to a session, so callers render them after the session closed. List queries are a fixed number of statements
whatever the page size (the cards, the viewer's votes, the category counts): no N+1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from papertide.models import (
    FeaturedPaper,
    Organization,
    Paper,
    PaperCategory,
    PaperInsight,
    User,
    Vote,
)
from papertide.text import http_url

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
    published_on: date | None  # the effective date (``arxiv_ids.effective_date``), what sorts and filters read
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
    # papertide's own reading (services/keyphrases.py), shown apart from hf.co's: [] and None until the insights
    # job reached the paper; a title-only paper has keyphrases from its title and no gist.
    keyphrases: list[str] = field(default_factory=list)
    gist: str | None = None


def both_upvotes(row: PaperRow) -> int:
    """The figure the "upvotes" order sorts by (``BOTH_UPVOTES``) for one row."""
    return row.upvotes + (row.hf_upvotes or 0)


def paper_rows(include_hidden: bool = False) -> Select[Any]:
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
            PaperInsight.keyphrases,
            PaperInsight.gist,
        )
        .select_from(Paper)
        .outerjoin(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
        .outerjoin(submitter, submitter.id == FeaturedPaper.submitted_by_id)
        .outerjoin(Organization, Organization.id == FeaturedPaper.organization_id)
        .outerjoin(PaperInsight, PaperInsight.paper_id == Paper.id)
    )
    return statement if include_hidden else statement.where(Paper.hidden.is_(False))


def to_row(result: Any, score: float | None = None) -> PaperRow:
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
        published_on=paper.published_on,
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
        keyphrases=result[9] or [],
        gist=result[10],
    )


def in_category(statement: Select[Any], category: str | None) -> Select[Any]:
    if not category:
        return statement
    return statement.where(
        select(PaperCategory.paper_id)
        .where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        .exists()
    )


def query_votes_of(session: Session, user_id: int | None, paper_ids: Sequence[int]) -> set[int]:
    if user_id is None or not paper_ids:
        return set()
    statement = select(Vote.paper_id).where(Vote.user_id == user_id, Vote.paper_id.in_(paper_ids))
    return set(session.execute(statement).scalars())


def query_paper(session: Session, arxiv_id: str, *, include_hidden: bool = False) -> PaperRow | None:
    result = session.execute(paper_rows(include_hidden).where(Paper.arxiv_id == arxiv_id)).first()
    return to_row(result) if result else None


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
    found = {row.id: row for row in (to_row(r) for r in session.execute(paper_rows().where(Paper.id.in_(paper_ids))))}
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
