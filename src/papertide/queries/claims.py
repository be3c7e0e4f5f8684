"""Reads of author claims: who claimed which author slot of which papers (approved claims are public: they link
a paper's author to a profile), a user's own claims, the claims waiting for an administrator, and the papers a
person claimed, which their author page gathers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from papertide.models import AuthorClaim, Paper, PaperAuthor, User
from papertide.queries.papers import PaperRow, paper_rows, to_row
from papertide.text import http_url


@dataclass(frozen=True, slots=True)
class ClaimedBy:
    """The account an approved claim links an author slot to."""

    username: str
    fullname: str | None
    avatar_url: str | None
    decided_at: datetime | None


def query_claimed_authors(session: Session, paper_ids: list[int]) -> dict[int, dict[int, ClaimedBy]]:
    """Approved claims of ``paper_ids``: by paper id, then author position."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(AuthorClaim.paper_id, AuthorClaim.position, AuthorClaim.decided_at, User)
        .join(User, User.id == AuthorClaim.user_id)
        .where(AuthorClaim.paper_id.in_(paper_ids), AuthorClaim.status == "approved", User.is_active.is_(True))
    )
    found: dict[int, dict[int, ClaimedBy]] = defaultdict(dict)
    for paper_id, position, decided_at, user in rows:
        found[paper_id][position] = ClaimedBy(user.username, user.fullname, http_url(user.avatar_url), decided_at)
    return dict(found)


@dataclass(frozen=True, slots=True)
class ClaimRow:
    id: int
    arxiv_id: str
    title: str
    position: int
    author: str  # the name in the slot claimed
    username: str
    status: str
    approved_via: str | None
    created_at: datetime


def query_claims(session: Session, *, user_id: int | None = None, pending_only: bool = False) -> list[ClaimRow]:
    """Claims, newest first: one user's (``user_id``), or every pending one (for administrators)."""
    statement = (
        select(AuthorClaim, Paper.arxiv_id, Paper.title, Paper.authors, User.username)
        .join(Paper, Paper.id == AuthorClaim.paper_id)
        .join(User, User.id == AuthorClaim.user_id)
        .order_by(AuthorClaim.created_at.desc(), AuthorClaim.id.desc())
    )
    if user_id is not None:
        statement = statement.where(AuthorClaim.user_id == user_id)
    if pending_only:
        statement = statement.where(AuthorClaim.status == "pending")
    return [
        ClaimRow(
            claim.id,
            arxiv_id,
            title,
            claim.position,
            authors[claim.position]["name"] if claim.position < len(authors or []) else "",
            username,
            claim.status,
            claim.approved_via,
            claim.created_at,
        )
        for claim, arxiv_id, title, authors, username in session.execute(statement)
    ]


def query_claimants_of_key(session: Session, key: str) -> list[str]:
    """Usernames with an approved claim on an author slot whose name folds to ``key`` (people.author_key)."""
    rows = session.execute(
        select(User.username)
        .distinct()
        .join(AuthorClaim, AuthorClaim.user_id == User.id)
        .join(
            PaperAuthor,
            and_(PaperAuthor.paper_id == AuthorClaim.paper_id, PaperAuthor.position == AuthorClaim.position),
        )
        .where(PaperAuthor.name_key == key, AuthorClaim.status == "approved", User.is_active.is_(True))
        .order_by(User.username)
    )
    return list(rows.scalars())


def query_claimed_papers(session: Session, usernames: list[str], limit: int = 200) -> list[PaperRow]:
    """The visible papers ``usernames`` claimed an author slot of (approved), newest first."""
    if not usernames:
        return []
    claimed = (
        select(AuthorClaim.paper_id)
        .join(User, User.id == AuthorClaim.user_id)
        .where(User.username.in_(usernames), AuthorClaim.status == "approved")
    )
    order = (Paper.announced_on.desc().nulls_last(), Paper.submitted_at.desc().nulls_last(), Paper.id.desc())
    statement = paper_rows().where(Paper.id.in_(claimed)).order_by(*order).limit(limit)
    return [to_row(r) for r in session.execute(statement)]
