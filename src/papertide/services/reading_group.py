"""An organization's reading group: its members schedule sessions (a start time in a time zone, one or more
papers, a presenter, a place or meeting link, a slides link), discuss the papers in comments tagged with the
session, and see a suggested presenter rotation; digests remind members of the coming sessions
(:func:`reading_group_reminders`, a digest section builder).

Times are stored in UTC with the IANA time zone they were planned in, so a session keeps its wall-clock time in
its calendar and moves with daylight saving time as people expect. Each change counts up the session's
``sequence``, which the iCalendar feed publishes so calendar apps replace the event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.errors import Invalid, NotFound
from papertide.models import (
    Comment,
    OrganizationMember,
    ReadingSession,
    ReadingSessionPaper,
    Subscription,
    User,
    utcnow,
)
from papertide.queries.lab import query_members, query_organizations_of, query_presentations, query_sessions
from papertide.queries.papers import PaperRow, query_visible_paper
from papertide.services.activity import DatedPeriod, period_bounds
from papertide.services.comments import CommentError, add_comment
from papertide.services.organizations import NotAdmin, require_member
from papertide.text import http_url, xml_safe

MAX_PAPERS = 10
MAX_PLACE = 500
MAX_TITLE = 200
ROTATION_SHOWN = 3
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class SessionError(Invalid):
    """A session that cannot be scheduled as given; the message names the field."""


class SessionNotFound(NotFound):
    """No such session in this organization's reading group."""


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """A session as a form or the API gives it: text, checked by :func:`schedule_session`."""

    starts_at: str  # 2026-07-16T15:00 (local to time_zone) or with an offset (2026-07-16T15:00+02:00)
    time_zone: str
    papers: list[str]  # arXiv ids, any form
    presenter: str | None = None  # a member's username
    place: str | None = None
    slides_url: str | None = None
    title: str | None = None
    duration_minutes: int = 60


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (Europe/Paris, UTC), or :class:`SessionError`."""
    if len(name) <= 64 and _ZONE_NAME.match(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise SessionError(f"{name[:64]!r} is not a time zone: give an IANA name such as Europe/Paris or UTC.")


def session_start(starts_at: str, time_zone: str) -> datetime:
    """When a session starts, in UTC: a local time read in ``time_zone``, or a time with its own offset."""
    where = zone(time_zone)
    try:
        moment = datetime.fromisoformat(starts_at.strip())
    except ValueError as error:
        raise SessionError(f"{starts_at[:40]!r} is not a start time: give it as 2026-07-16T15:00.") from error
    moment = moment.replace(tzinfo=where) if moment.tzinfo is None else moment
    if not EARLIEST <= moment < LATEST:
        raise SessionError("A session starts between the years 2000 and 2099.")
    return moment.astimezone(UTC)


def schedule_session(session: Session, organization_id: int, name: str, member_id: int, plan: SessionPlan) -> int:
    """A new session of the organization's reading group, scheduled by one of its members; returns its id."""
    require_member(session, organization_id, name, member_id)
    now = utcnow()
    meeting = ReadingSession(organization_id=organization_id, created_by_id=member_id, created_at=now, sequence=0)
    _apply(session, meeting, organization_id, name, plan)
    meeting.updated_at = now
    session.add(meeting)
    session.flush()
    _set_papers(session, meeting.id, _paper_ids(session, plan.papers))
    return meeting.id


def update_session(
    session: Session, organization_id: int, name: str, member_id: int, session_id: int, plan: SessionPlan
) -> None:
    require_member(session, organization_id, name, member_id)
    meeting = _meeting(session, organization_id, session_id)
    paper_ids = _paper_ids(session, plan.papers)
    _apply(session, meeting, organization_id, name, plan)
    meeting.updated_at = utcnow()
    meeting.sequence += 1
    session.execute(delete(ReadingSessionPaper).where(ReadingSessionPaper.session_id == session_id))
    _set_papers(session, session_id, paper_ids)


def cancel_session(session: Session, organization_id: int, name: str, member_id: int, session_id: int) -> None:
    """Remove a session: its scheduler or an admin may. Its comments stay on the papers, untagged."""
    role = require_member(session, organization_id, name, member_id)
    meeting = _meeting(session, organization_id, session_id)
    if role != "admin" and meeting.created_by_id != member_id:
        raise NotAdmin(f"Only whoever scheduled this session or an admin of {name} can cancel it.")
    session.delete(meeting)


def comment_in_session(
    session: Session, organization_id: int, name: str, member_id: int, session_id: int, paper_id: int, body: str
) -> Comment:
    """A comment on one of the session's papers, tagged with the session (it shows on the paper too)."""
    require_member(session, organization_id, name, member_id)
    _meeting(session, organization_id, session_id)
    on_session = session.get(ReadingSessionPaper, (session_id, paper_id))
    if on_session is None:
        raise SessionError("That paper is not one of this session's.")
    try:
        comment = add_comment(session, user_id=member_id, paper_id=paper_id, body=body)
    except CommentError as error:
        raise SessionError(str(error)) from error
    comment.session_id = session_id
    return comment


def suggested_presenters(session: Session, organization_id: int) -> list[str]:
    """Whose turn it is next: members who never presented first (in the order they joined), then those whose
    last session is longest ago."""
    last = query_presentations(session, organization_id)
    members = sorted(query_members(session, organization_id), key=lambda m: m.joined_at)
    never = [m.username for m in members if m.user_id not in last]
    presented = sorted((m for m in members if m.user_id in last), key=lambda m: last[m.user_id])
    return (never + [m.username for m in presented])[:ROTATION_SHOWN]


def reading_group_reminders(
    session: Session, period: DatedPeriod, subscriber: Subscription, limit: int
) -> list[tuple[PaperRow, str]]:
    """The digest section "Coming up in your reading group": the papers of the sessions of the subscriber's
    organizations that start from the day the digest goes out until as long again as its period, plus a day (a
    daily digest: today and tomorrow; a weekly one: the next eight days), each with when, who presents and where."""
    if subscriber.user_id is None:
        return []
    start, end = period_bounds(period)
    window_start, window_end = end, end + (end - start) + timedelta(days=1)
    found: list[tuple[PaperRow, str]] = []
    for organization_id, name in query_organizations_of(session, subscriber.user_id):
        for meeting in query_sessions(session, organization_id, after=window_start, before=window_end):
            local = meeting.starts_at.astimezone(zone(meeting.time_zone))
            reason = f"{name} reading group, {local:%a %d %b %H:%M} ({meeting.time_zone})"
            reason += f", {meeting.presenter} presents" if meeting.presenter else ""
            reason += f", {meeting.place}" if meeting.place else ""
            found += [(paper, reason) for paper in meeting.papers]
    return found[:limit]


def _apply(session: Session, meeting: ReadingSession, organization_id: int, name: str, plan: SessionPlan) -> None:
    meeting.starts_at = session_start(plan.starts_at, plan.time_zone)
    meeting.time_zone = plan.time_zone
    if not 5 <= plan.duration_minutes <= 24 * 60:
        raise SessionError("A session lasts 5 minutes to 24 hours.")
    meeting.duration_minutes = plan.duration_minutes
    meeting.presenter_id = _presenter(session, organization_id, name, plan.presenter)
    meeting.place = _text(plan.place, MAX_PLACE, "A place or meeting link")
    meeting.title = _text(plan.title, MAX_TITLE, "A title")
    slides = (plan.slides_url or "").strip()
    if slides and http_url(slides) is None:
        raise SessionError("The slides link is an http(s) address, like https://example.org/slides.pdf.")
    meeting.slides_url = slides or None


def _presenter(session: Session, organization_id: int, name: str, username: str | None) -> int | None:
    if not (username or "").strip():
        return None
    found = session.execute(
        select(User.id)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(
            OrganizationMember.organization_id == organization_id,
            func.lower(User.username) == (username or "").strip().lower(),
        )
    ).scalar()
    if found is None:
        raise SessionError(f"The presenter is a member of {name}; {(username or '')[:64]!r} is not.")
    return int(found)


def _paper_ids(session: Session, papers: list[str]) -> list[int]:
    wanted = [paper.strip() for paper in papers if paper.strip()]
    if not 1 <= len(wanted) <= MAX_PAPERS:
        raise SessionError(f"A session reads 1 to {MAX_PAPERS} papers, given by arXiv id.")
    ids = []
    for arxiv_id in wanted:
        try:
            canonical = parse_arxiv_id(arxiv_id).id
        except InvalidArxivId as error:
            raise SessionError(f"{error}.") from error
        known = query_visible_paper(session, canonical)
        if known is None:
            raise SessionError(f"papertide has no paper {canonical}: submit it first, then schedule it.")
        ids.append(known[0])
    return list(dict.fromkeys(ids))


def _set_papers(session: Session, session_id: int, paper_ids: list[int]) -> None:
    session.add_all(
        ReadingSessionPaper(session_id=session_id, paper_id=paper_id, position=position)
        for position, paper_id in enumerate(paper_ids)
    )


def _meeting(session: Session, organization_id: int, session_id: int) -> ReadingSession:
    meeting = session.get(ReadingSession, session_id)
    if meeting is None or meeting.organization_id != organization_id:
        raise SessionNotFound("There is no such session in this reading group.")
    return meeting


def _text(value: str | None, limit: int, label: str) -> str | None:
    text = xml_safe(value or "").strip()
    if len(text) > limit:
        raise SessionError(f"{label} is at most {limit} characters.")
    return text or None
