"""An organization's reading group, for its members: the sessions page (``/orgs/{name}/reading-group`` and its
JSON twin) with the suggested presenter rotation and the form that schedules a session, one session's page with
its papers and the comments tagged with it, and the iCalendar feed (``/orgs/{name}/reading-group.ics``) that
calendar apps subscribe to, with a member's lab token in the URL (``?token=``) or the signed-in session.
The API's ``/api/v1/orgs/{name}/sessions`` is in ``routes/api_v1.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from papertide.queries.lab import query_sessions
from papertide.services.reading_group import (
    SessionPlan,
    cancel_session,
    comment_in_session,
    schedule_session,
    update_session,
)
from papertide.web.deps import AppSettings, ReadSession, RowId, WriteSession, resolve_paper
from papertide.web.rendering.calendar import MEDIA_TYPE, render_calendar
from papertide.web.rendering.templating import render_page
from papertide.web.routes.organizations import feed_reader, member_of, organization_named
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.organizations import reading_group_page, reading_session_page

router = APIRouter()
Text = Annotated[str, Form(max_length=500)]
CALENDAR_SESSIONS = 500


def _plan(
    starts_at: str, time_zone: str, papers: str, presenter: str, place: str, slides_url: str, title: str
) -> SessionPlan:
    """A form's fields as a plan; papers are arXiv ids separated by spaces, commas or lines."""
    ids = papers.replace(",", " ").split()
    return SessionPlan(starts_at, time_zone, ids, presenter or None, place or None, slides_url or None, title or None)


@router.get("/orgs/{name}/reading-group")
@router.get("/orgs/{name}/reading-group.json")
def reading_group(request: Request, name: str, session: ReadSession, user: SignedIn) -> Response:
    org = member_of(session, name, user)
    return render_page(request, "reading_group.html", reading_group_page(session, org, datetime.now(UTC)))


@router.get("/orgs/{name}/reading-group.ics")
def calendar(
    name: str,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    token: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    org = feed_reader(session, name, user, token)
    sessions = query_sessions(session, org.id, newest_first=True, limit=CALENDAR_SESSIONS)
    body = render_calendar(org.name, sessions, settings.base_url)
    headers = {"Cache-Control": "private, max-age=300", "Content-Disposition": f'inline; filename="{org.name}.ics"'}
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


@router.post("/orgs/{name}/reading-group")
def schedule(
    request: Request,
    name: str,
    session: WriteSession,
    user: SignedIn,
    starts_at: Annotated[str, Form(max_length=40)],
    time_zone: Annotated[str, Form(max_length=64)],
    papers: Text,
    presenter: Annotated[str, Form(max_length=64)] = "",
    place: Text = "",
    slides_url: Text = "",
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    plan = _plan(starts_at, time_zone, papers, presenter, place, slides_url, title)
    session_id = schedule_session(session, org.id, org.name, user.id, plan)
    return RedirectResponse(f"/orgs/{org.name}/reading-group/{session_id}", status_code=303)


@router.get("/orgs/{name}/reading-group/{session_id}")
@router.get("/orgs/{name}/reading-group/{session_id}.json")
def reading_session(request: Request, name: str, session_id: RowId, session: ReadSession, user: SignedIn) -> Response:
    org = member_of(session, name, user)
    context = reading_session_page(session, org, session_id, user)
    if context is None:
        raise HTTPException(404, "There is no such session in this reading group.")
    return render_page(request, "reading_session.html", context)


@router.post("/orgs/{name}/reading-group/{session_id}/edit")
def edit(
    request: Request,
    name: str,
    session_id: RowId,
    session: WriteSession,
    user: SignedIn,
    starts_at: Annotated[str, Form(max_length=40)],
    time_zone: Annotated[str, Form(max_length=64)],
    papers: Text,
    presenter: Annotated[str, Form(max_length=64)] = "",
    place: Text = "",
    slides_url: Text = "",
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    plan = _plan(starts_at, time_zone, papers, presenter, place, slides_url, title)
    update_session(session, org.id, org.name, user.id, session_id, plan)
    return RedirectResponse(f"/orgs/{org.name}/reading-group/{session_id}", status_code=303)


@router.post("/orgs/{name}/reading-group/{session_id}/cancel")
def cancel(request: Request, name: str, session_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    cancel_session(session, org.id, org.name, user.id, session_id)
    return RedirectResponse(f"/orgs/{org.name}/reading-group", status_code=303)


@router.post("/orgs/{name}/reading-group/{session_id}/comments")
def comment(
    request: Request,
    name: str,
    session_id: RowId,
    session: WriteSession,
    user: SignedIn,
    paper: Annotated[str, Form(max_length=300)],
    body: Annotated[str, Form(max_length=10_000)],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    paper_id = resolve_paper(session, paper).id
    made = comment_in_session(session, org.id, org.name, user.id, session_id, paper_id, body)
    session.flush()
    return RedirectResponse(f"/orgs/{org.name}/reading-group/{session_id}#comment-{made.id}", status_code=303)
