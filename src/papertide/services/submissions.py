"""Submitting a paper to the daily list, and editing its links: the community's write path onto papers.

A submission names an arXiv id or URL. Unknown papers are fetched through the arXiv source first (outside the
transaction: the network is slow), then featured on today's list if the paper is recent enough and nobody
submitted it before. The unique key on featured papers settles two simultaneous submissions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.db import Database, insert_ignoring_conflicts
from papertide.models import FeaturedPaper, Organization, OrganizationMember, Paper, User, utcnow
from papertide.text import MAX_URL, http_url


class SubmissionError(ValueError):
    """Why a submission was refused; ``existing`` names the paper when it was already submitted."""

    def __init__(self, message: str, existing: str | None = None) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass(frozen=True, slots=True)
class Submission:
    arxiv_id: str
    featured_on: date


FetchPaper = Callable[[str], bool]
"""Fetch one arXiv id into the database; False when arXiv does not know it."""


def submit_paper(
    database: Database,
    *,
    user_id: int,
    text: str,
    organization: str | None,
    today: date,
    window_days: int,
    fetch: FetchPaper,
) -> Submission:
    try:
        arxiv_id = parse_arxiv_id(text).id
    except InvalidArxivId as error:
        raise SubmissionError(str(error)) from error
    with database.read_session() as session:
        known = session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar()
        _refuse_duplicate(session, arxiv_id)
    if known is None and not fetch(arxiv_id):
        raise SubmissionError(f"arXiv has no paper {arxiv_id}; check the id.")
    with database.write_session() as session:
        paper = session.execute(select(Paper).where(Paper.arxiv_id == arxiv_id)).scalar_one()
        _check_window(paper, today, window_days)
        org_id = _organization_of(session, user_id, organization) if organization else None
        inserted = insert_ignoring_conflicts(
            session,
            FeaturedPaper,
            {
                "paper_id": paper.id,
                "featured_on": today,
                "submitted_by_id": user_id,
                "organization_id": org_id,
                "created_at": utcnow(),
            },
        )
        if not inserted:
            raise SubmissionError(f"{arxiv_id} was already submitted.", existing=arxiv_id)
    return Submission(arxiv_id, today)


def _refuse_duplicate(session: Session, arxiv_id: str) -> None:
    featured = session.execute(
        select(FeaturedPaper.id).join(Paper, Paper.id == FeaturedPaper.paper_id).where(Paper.arxiv_id == arxiv_id)
    ).first()
    if featured:
        raise SubmissionError(f"{arxiv_id} was already submitted.", existing=arxiv_id)


def _check_window(paper: Paper, today: date, window_days: int) -> None:
    first = paper.submitted_at.date() if paper.submitted_at else paper.announced_on
    if first is None:
        raise SubmissionError(f"arXiv gives no date for {paper.arxiv_id}, so its age cannot be checked.")
    if today - first > timedelta(days=window_days):
        raise SubmissionError(
            f"{paper.arxiv_id} first appeared on {first}; papers can be submitted within {window_days} days of "
            "their first version."
        )


def _organization_of(session: Session, user_id: int, name: str) -> int:
    org_id = session.execute(
        select(Organization.id)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(func.lower(Organization.name) == name.strip().lower(), OrganizationMember.user_id == user_id)
    ).scalar()
    if org_id is None:
        raise SubmissionError(f"You are not a member of an organization named {name!r}.")
    return int(org_id)


def can_edit_links(session: Session, paper_id: int, user_id: int) -> bool:
    """Administrators and the people who submitted the paper may edit its links. A full name is chosen by its
    owner and proves no authorship, so authors edit links once papertide can verify them (it cannot yet)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    if user.is_admin:
        return True
    submitted = select(FeaturedPaper.id).where(
        FeaturedPaper.paper_id == paper_id, FeaturedPaper.submitted_by_id == user_id
    )
    return session.execute(submitted.limit(1)).first() is not None


class LinksRefused(SubmissionError):
    """Someone who may not edit this paper's links tried to."""


def update_links(
    session: Session, *, arxiv_id: str, user_id: int, code_url: str | None, project_url: str | None
) -> Paper:
    paper = session.execute(
        select(Paper).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
    ).scalar_one_or_none()
    if paper is None:
        raise SubmissionError(f"No paper {arxiv_id}.")
    if not can_edit_links(session, paper.id, user_id):
        raise LinksRefused("Only the people who submitted this paper and administrators can edit its links.")
    paper.code_url = _checked_url(code_url)
    paper.project_url = _checked_url(project_url)
    return paper


def set_paper_hidden(session: Session, arxiv_id: str, hidden: bool) -> None:
    paper = session.execute(select(Paper).where(Paper.arxiv_id == arxiv_id)).scalar_one_or_none()
    if paper is None:
        raise SubmissionError(f"No paper {arxiv_id}.")
    paper.hidden = hidden


def _checked_url(url: str | None) -> str | None:
    """A blank field clears the link; anything else must pass the same check as links from imports."""
    url = (url or "").strip()
    if not url:
        return None
    if http_url(url) is None:
        raise SubmissionError(
            f"{url[:80]!r} is not an http(s) link: give a full address such as https://github.com/owner/repo, "
            f"at most {MAX_URL} characters."
        )
    return url
