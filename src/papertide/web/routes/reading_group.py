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
from pydantic import BaseModel, Field

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
CALENDAR_SESSIONS = 500


class SessionForm(BaseModel):
    """The fields of the schedule and edit forms (one declaration for both)."""

    starts_at: str = Field(max_length=40)
    time_zone: str = Field(max_length=64)
    papers: str = Field(max_length=500)
    presenter: str = Field("", max_length=64)
    place: str = Field("", max_length=500)
    slides_url: str = Field("", max_length=500)
    title: str = Field("", max_length=200)

    def plan(self) -> SessionPlan:
        """The form as a plan; papers are arXiv ids separated by spaces, commas or lines."""
        ids = self.papers.replace(",", " ").split()
        optional = (self.presenter or None, self.place or None, self.slides_url or None, self.title or None)
        return SessionPlan(self.starts_at, self.time_zone, ids, *optional)


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
    form: Annotated[SessionForm, Form()],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    session_id = schedule_session(session, org.id, org.name, user.id, form.plan())
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
    form: Annotated[SessionForm, Form()],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    org = organization_named(session, name)
    update_session(session, org.id, org.name, user.id, session_id, form.plan())
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
