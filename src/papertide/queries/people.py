"""Reads of people: accounts and their profiles, organizations and their members, author pages by name key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from papertide.models import (
    FeaturedPaper,
    Organization,
    OrganizationMember,
    Paper,
    PaperAuthor,
    User,
    Vote,
)
from papertide.queries.papers import BOTH_UPVOTES, PaperRow, paper_rows, to_row
from papertide.text import http_url


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


def query_pending_email(session: Session, user_id: int) -> str | None:
    """The address the account gave but has not confirmed (its settings page only: never on a public page)."""
    return session.execute(select(User.pending_email).where(User.id == user_id)).scalar()


def query_submitted_by(session: Session, user_id: int, limit: int = 50) -> list[PaperRow]:
    statement = paper_rows().where(FeaturedPaper.submitted_by_id == user_id).order_by(FeaturedPaper.featured_on.desc())
    return [to_row(r) for r in session.execute(statement.limit(limit))]


def query_upvoted_by(session: Session, user_id: int, limit: int = 50) -> list[PaperRow]:
    statement = (
        paper_rows()
        .join(Vote, and_(Vote.paper_id == Paper.id, Vote.user_id == user_id))
        .order_by(Vote.created_at.desc())
    )
    return [to_row(r) for r in session.execute(statement.limit(limit))]


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
        paper_rows()
        .where(FeaturedPaper.organization_id == organization_id)
        .order_by(FeaturedPaper.featured_on.desc(), BOTH_UPVOTES.desc())
    )
    return [to_row(r) for r in session.execute(statement.limit(limit))]


def query_memberships(session: Session, user_id: int) -> list[str]:
    statement = (
        select(Organization.name)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user_id)
        .order_by(Organization.name)
    )
    return list(session.execute(statement).scalars())


def by_author(key: str) -> ColumnElement[bool]:
    return Paper.id.in_(select(PaperAuthor.paper_id).where(PaperAuthor.name_key == key))


def query_author_papers(session: Session, key: str, *, limit: int = 50, offset: int = 0) -> list[PaperRow]:
    """Papers with an author of this name key (``people.author_key``), newest first."""
    statement = paper_rows().where(by_author(key))
    order = (Paper.published_on.desc().nulls_last(), Paper.id.desc())
    return [to_row(r) for r in session.execute(statement.order_by(*order).offset(offset).limit(limit))]


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
