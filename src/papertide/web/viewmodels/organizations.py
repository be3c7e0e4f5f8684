"""The pages of an organization: its public page (papers, members, the collections the viewer may see, and the
viewer's own membership), its members page (admins: roles, invitations), an invitation's page, what the lab read
(the activity of a period), its reading group and one session. Each builder returns the context its HTML and its
JSON twin render alike; members-only builders are called only after the route checked membership."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from papertide.periods import InvalidPeriod, Period, parse_period
from papertide.queries.collections import query_organization_collections
from papertide.queries.lab import (
    SessionRow,
    query_members,
    query_membership,
    query_open_invitations,
    query_reading_session,
    query_session_comments,
    query_sessions,
)
from papertide.queries.papers import query_votes_of
from papertide.queries.people import OrganizationPage, query_organization_papers
from papertide.services.accounts import Identity
from papertide.services.activity import PaperActivity, organization_activity, period_bounds
from papertide.services.reading_group import suggested_presenters, zone
from papertide.text import http_url
from papertide.web.viewmodels.cards import card
from papertide.web.viewmodels.paper import comment_view

PAST_SESSIONS_SHOWN = 20


def organization_page(session: Session, org: OrganizationPage, viewer: Identity | None) -> dict[str, Any]:
    viewer_id = viewer.id if viewer else None
    rows = query_organization_papers(session, org.id)
    voted = query_votes_of(session, viewer_id, [r.id for r in rows])
    membership = query_membership(session, org.id, viewer_id)
    return {
        "org": org,
        "cards": [card(r, voted) for r in rows],
        "collections": query_organization_collections(session, org.id, viewer_id),
        "membership": _mine(membership),
    }


def _mine(membership: Any) -> dict[str, Any] | None:
    """The viewer's own membership: their role and whether they share their activity (None: not a member)."""
    return {"role": membership.role, "shares_activity": membership.shares_activity} if membership else None


def members_page(
    session: Session, org: OrganizationPage, viewer: Identity, *, new_link: str | None = None, mailed_to: str = ""
) -> dict[str, Any]:
    members = query_members(session, org.id)
    admin = any(m.user_id == viewer.id and m.role == "admin" for m in members)
    return {
        "org": org,
        "members": [
            {"username": m.username, "fullname": m.fullname, "role": m.role, "joined_on": m.joined_at.date()}
            for m in members
        ],
        "admin": admin,
        "invitations": [asdict(i) for i in query_open_invitations(session, org.id, datetime.now(UTC))] if admin else [],
        "new_link": new_link,
        "mailed_to": mailed_to,
    }


@dataclass(frozen=True, slots=True)
class ActivityPeriod:
    """The period an activity page shows: a day, an ISO week, a month, or the last seven days."""

    label: str
    start: datetime
    end: datetime
    key: str  # the query string that names it ("week=2026-W28"), empty for the last seven days


def activity_period(day: str | None, week: str | None, month: str | None, now: datetime) -> ActivityPeriod:
    """The period asked for (at most one of ``day``, ``week``, ``month``); :class:`InvalidPeriod` when it is no
    such period. Nothing asked: the last seven days up to ``now``."""
    asked = [(kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value]
    if len(asked) > 1:
        raise InvalidPeriod("Give at most one of date, week and month.")
    if not asked:
        return ActivityPeriod("the last seven days", now - timedelta(days=7), now, "")
    kind, value = asked[0]
    period: Period = parse_period(kind, value)  # type: ignore[arg-type]
    start, end = period_bounds(period)
    return ActivityPeriod(period.label, start, end, f"{'date' if kind == 'day' else kind}={period.key}")


def activity_page(session: Session, org: OrganizationPage, viewer: Identity, period: ActivityPeriod) -> dict[str, Any]:
    found = organization_activity(session, org.id, period.start, period.end)
    voted = query_votes_of(session, viewer.id, [a.paper.id for a in found])
    return {
        "org": org,
        "period": {"label": period.label, "start": period.start, "end": period.end, "key": period.key},
        "items": [_activity_item(each, voted) for each in found],
        "sharing": _mine(query_membership(session, org.id, viewer.id)),
    }


def activity_feed_items(session: Session, org: OrganizationPage, period: ActivityPeriod) -> list[PaperActivity]:
    """The activity feed's papers, each with its line (the feed writes it before the abstract)."""
    return organization_activity(session, org.id, period.start, period.end)


def _activity_item(each: PaperActivity, voted: set[int]) -> dict[str, Any]:
    return {
        "card": card(each.paper, voted),
        "line": each.line,
        "members": each.members,
        "upvoted_by": each.upvoted_by,
        "added_by": each.added_by,
        "commented_by": each.commented_by,
        "submitted_by": each.submitted_by,
        "last_at": each.last_at,
    }


def session_view(meeting: SessionRow, organization: str) -> dict[str, Any]:
    """A session as the reading group's pages and the API show it: its local start in its own time zone."""
    local = meeting.starts_at.astimezone(zone(meeting.time_zone))
    return {
        "id": meeting.id,
        "url": f"/orgs/{organization}/reading-group/{meeting.id}",
        "title": meeting.title,
        "starts_at": meeting.starts_at,
        "local_start": local.strftime("%A %d %B %Y, %H:%M"),
        "local_input": local.strftime("%Y-%m-%dT%H:%M"),
        "time_zone": meeting.time_zone,
        "duration_minutes": meeting.duration_minutes,
        "presenter": meeting.presenter,
        "place": meeting.place,
        "place_url": http_url(meeting.place),  # a meeting link, when the place is one
        "slides_url": meeting.slides_url,
        "papers": [{"arxiv_id": p.arxiv_id, "title": p.title, "url": f"/papers/{p.arxiv_id}"} for p in meeting.papers],
    }


def reading_group_page(session: Session, org: OrganizationPage, now: datetime) -> dict[str, Any]:
    upcoming = query_sessions(session, org.id, after=now - timedelta(hours=3))
    past = query_sessions(
        session, org.id, before=now - timedelta(hours=3), newest_first=True, limit=PAST_SESSIONS_SHOWN
    )
    return {
        "org": org,
        "upcoming": [session_view(s, org.name) for s in upcoming],
        "past": [session_view(s, org.name) for s in past],
        "rotation": suggested_presenters(session, org.id),
        "members": [m.username for m in query_members(session, org.id)],
        "today": date.today().isoformat(),
    }


def reading_session_page(
    session: Session, org: OrganizationPage, session_id: int, viewer: Identity
) -> dict[str, Any] | None:
    meeting = query_reading_session(session, org.id, session_id)
    if meeting is None:
        return None
    comments = query_session_comments(session, session_id)
    voted = query_votes_of(session, viewer.id, [p.id for p in meeting.papers])
    return {
        "org": org,
        "meeting": session_view(meeting, org.name),
        "papers": [
            {
                "card": card(paper, voted),
                "comments": [comment_view(c, viewer.username) for c in comments.get(paper.id, [])],
            }
            for paper in meeting.papers
        ],
        "members": [m.username for m in query_members(session, org.id)],
    }
