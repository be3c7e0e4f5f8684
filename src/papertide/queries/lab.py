"""Reads of a lab's instance: who belongs to an organization and in what role, its open invitations, its reading
group's sessions (with their papers and tagged comments), and the members' activity events that
``services/activity.py`` groups by paper."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from papertide.models import (
    Collection,
    CollectionItem,
    Comment,
    FeaturedPaper,
    Organization,
    OrganizationInvitation,
    OrganizationMember,
    Paper,
    ReadingSession,
    ReadingSessionPaper,
    User,
    Vote,
)
from papertide.queries.comments import CommentRow
from papertide.queries.papers import PaperRow, query_papers_by_ids


def query_role(session: Session, organization_id: int, user_id: int | None) -> str | None:
    """``member`` or ``admin``; None for anyone who is not a member (and for nobody)."""
    if user_id is None:
        return None
    return session.execute(
        select(OrganizationMember.role).where(
            OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id
        )
    ).scalar()


@dataclass(frozen=True, slots=True)
class Membership:
    user_id: int
    username: str
    fullname: str | None
    role: str
    shares_activity: bool
    joined_at: datetime


def query_members(session: Session, organization_id: int) -> list[Membership]:
    rows = session.execute(
        select(User.id, User.username, User.fullname, OrganizationMember)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == organization_id)
        .order_by(User.username)
    )
    return [
        Membership(user_id, username, fullname, member.role, member.shares_activity, member.joined_at)
        for user_id, username, fullname, member in rows
    ]


def query_membership(session: Session, organization_id: int, user_id: int | None) -> Membership | None:
    return next((m for m in query_members(session, organization_id) if m.user_id == user_id), None)


def query_organizations_of(session: Session, user_id: int) -> list[tuple[int, str]]:
    """(id, name) of the organizations ``user_id`` belongs to."""
    rows = session.execute(
        select(Organization.id, Organization.name)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user_id)
        .order_by(Organization.name)
    )
    return [(ident, name) for ident, name in rows]


@dataclass(frozen=True, slots=True)
class InvitationRow:
    id: int
    email: str | None
    role: str
    invited_by: str | None
    created_at: datetime
    expires_at: datetime


def query_open_invitations(session: Session, organization_id: int, now: datetime) -> list[InvitationRow]:
    """Invitations of the organization not yet used nor expired, newest first (for its admins)."""
    inviter = aliased(User)
    rows = session.execute(
        select(OrganizationInvitation, inviter.username)
        .outerjoin(inviter, inviter.id == OrganizationInvitation.invited_by_id)
        .where(
            OrganizationInvitation.organization_id == organization_id,
            OrganizationInvitation.used_at.is_(None),
            OrganizationInvitation.expires_at > now,
        )
        .order_by(OrganizationInvitation.created_at.desc())
    )
    return [InvitationRow(i.id, i.email, i.role, name, i.created_at, i.expires_at) for i, name in rows]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A reading-group session as pages, the calendar and the API show it."""

    id: int
    title: str | None
    starts_at: datetime  # UTC
    time_zone: str
    duration_minutes: int
    presenter: str | None
    place: str | None
    slides_url: str | None
    papers: list[PaperRow]
    sequence: int
    created_at: datetime
    updated_at: datetime


def query_sessions(
    session: Session,
    organization_id: int,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    newest_first: bool = False,
    limit: int = 200,
) -> list[SessionRow]:
    """The organization's sessions starting in [after, before), soonest first (or latest first), with their
    papers: three statements whatever their number."""
    statement = _session_select().where(ReadingSession.organization_id == organization_id)
    if after is not None:
        statement = statement.where(ReadingSession.starts_at >= after)
    if before is not None:
        statement = statement.where(ReadingSession.starts_at < before)
    order = ReadingSession.starts_at.desc() if newest_first else ReadingSession.starts_at
    return _session_rows(session, statement.order_by(order, ReadingSession.id).limit(limit))


def query_reading_session(session: Session, organization_id: int, session_id: int) -> SessionRow | None:
    statement = _session_select().where(
        ReadingSession.id == session_id, ReadingSession.organization_id == organization_id
    )
    found = _session_rows(session, statement)
    return found[0] if found else None


def _session_select() -> Select[ReadingSession, str]:
    presenter = aliased(User)
    return select(ReadingSession, presenter.username).outerjoin(presenter, presenter.id == ReadingSession.presenter_id)


def _session_rows(session: Session, statement: Select[ReadingSession, str]) -> list[SessionRow]:
    found = session.execute(statement).all()
    papers = _session_papers(session, [meeting.id for meeting, _ in found])
    return [
        SessionRow(
            m.id,
            m.title,
            m.starts_at,
            m.time_zone,
            m.duration_minutes,
            name,
            m.place,
            m.slides_url,
            papers.get(m.id, []),
            m.sequence,
            m.created_at,
            m.updated_at,
        )
        for m, name in found
    ]


def _session_papers(session: Session, session_ids: list[int]) -> dict[int, list[PaperRow]]:
    if not session_ids:
        return {}
    links = session.execute(
        select(ReadingSessionPaper.session_id, ReadingSessionPaper.paper_id)
        .where(ReadingSessionPaper.session_id.in_(session_ids))
        .order_by(ReadingSessionPaper.session_id, ReadingSessionPaper.position)
    ).all()
    rows = {row.id: row for row in query_papers_by_ids(session, list({paper_id for _, paper_id in links}))}
    grouped: dict[int, list[PaperRow]] = defaultdict(list)
    for session_id, paper_id in links:
        if paper_id in rows:  # a hidden paper leaves the session's list
            grouped[session_id].append(rows[paper_id])
    return grouped


def query_session_comments(session: Session, session_id: int) -> dict[int, list[CommentRow]]:
    """The visible comments tagged with the session, by paper id, in thread order."""
    statement = (
        select(Comment, User.username)
        .outerjoin(User, User.id == Comment.user_id)
        .where(Comment.session_id == session_id, Comment.hidden.is_(False))
        .order_by(Comment.created_at, Comment.id)
    )
    grouped: dict[int, list[CommentRow]] = defaultdict(list)
    for c, username in session.execute(statement):
        grouped[c.paper_id].append(
            CommentRow(c.id, c.parent_id, username, c.body, c.body_html, c.created_at, c.edited_at, c.hidden, c.deleted)
        )
    return grouped


def query_presentations(session: Session, organization_id: int) -> dict[int, datetime]:
    """When each member last presented (or is next to present) in the organization's reading group, by user id."""
    rows = session.execute(
        select(ReadingSession.presenter_id, func.max(ReadingSession.starts_at))
        .where(ReadingSession.organization_id == organization_id, ReadingSession.presenter_id.is_not(None))
        .group_by(ReadingSession.presenter_id)
    )
    return {user_id: at for user_id, at in rows if user_id is not None}


ActivityKind = Literal["upvote", "collect", "comment", "submit"]


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One thing a member did to a paper: upvoted it, added it to a collection (``collection`` names it), commented
    on it or submitted it to the daily list."""

    kind: ActivityKind
    paper_id: int
    user_id: int
    at: datetime
    collection: str | None = None


def query_activity_events(
    session: Session, organization_id: int, member_ids: list[int], start: datetime, end: datetime
) -> list[ActivityEvent]:
    """What ``member_ids`` did in [start, end) that the organization's members may see: upvotes, visible comments
    and submissions (public everywhere), and additions to public collections and to the organization's
    organization-only ones (never to anyone's private collection). Hidden papers are left out."""
    if not member_ids:
        return []
    visible = select(Paper.id).where(Paper.hidden.is_(False))
    events: list[ActivityEvent] = []
    votes = select(Vote.paper_id, Vote.user_id, Vote.created_at).where(
        Vote.user_id.in_(member_ids), Vote.created_at >= start, Vote.created_at < end, Vote.paper_id.in_(visible)
    )
    events += [ActivityEvent("upvote", paper, user, at) for paper, user, at in session.execute(votes)]
    comments = select(Comment.paper_id, Comment.user_id, Comment.created_at).where(
        Comment.user_id.in_(member_ids),
        Comment.created_at >= start,
        Comment.created_at < end,
        Comment.hidden.is_(False),
        Comment.deleted.is_(False),
        Comment.paper_id.in_(visible),
    )
    events += [ActivityEvent("comment", paper, user, at) for paper, user, at in session.execute(comments) if user]
    submitted = select(FeaturedPaper.paper_id, FeaturedPaper.submitted_by_id, FeaturedPaper.created_at).where(
        FeaturedPaper.submitted_by_id.in_(member_ids),
        FeaturedPaper.created_at >= start,
        FeaturedPaper.created_at < end,
        FeaturedPaper.paper_id.in_(visible),
    )
    events += [ActivityEvent("submit", paper, user, at) for paper, user, at in session.execute(submitted) if user]
    shared = (Collection.visibility == "public") | and_(
        Collection.visibility == "organization", Collection.organization_id == organization_id
    )
    added = (
        select(CollectionItem.paper_id, CollectionItem.added_by_id, CollectionItem.added_at, Collection.title)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(
            CollectionItem.added_by_id.in_(member_ids),
            CollectionItem.added_at >= start,
            CollectionItem.added_at < end,
            shared,
            CollectionItem.paper_id.in_(visible),
        )
    )
    events += [
        ActivityEvent("collect", paper, user, at, title) for paper, user, at, title in session.execute(added) if user
    ]
    return events


def query_sharing_members(session: Session, organization_id: int) -> dict[int, str]:
    """username by user id of the members who share their activity with the organization."""
    rows = session.execute(
        select(User.id, User.username)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == organization_id, OrganizationMember.shares_activity.is_(True))
    )
    return {ident: name for ident, name in rows}
