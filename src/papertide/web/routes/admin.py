"""The moderation desk at /admin, for administrators: find accounts and make or unmake administrators, disable or
enable them, end their sessions; hidden papers and comments to unhide (hiding is done on the paper page); the log
of every such action; and how far background work has got. Every change is a CSRF-checked POST that the service
logs (``services/moderation.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from papertide.services import moderation
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, SemanticSearch, WriteSession
from papertide.web.rendering.templating import render_page
from papertide.web.security import Admin
from papertide.web.viewmodels.admin import admin_page

router = APIRouter()
Username = Annotated[str, Form(max_length=64)]
Switch = Annotated[int, Form(ge=0, le=1)]


@router.get("/admin")
@router.get("/admin.json")
def admin(
    request: Request,
    session: ReadSession,
    user: Admin,
    semantic: SemanticSearch,
    database: AppDatabase,
    settings: AppSettings,
    find: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    page = admin_page(session, database, settings, semantic, find)
    return render_page(request, "admin.html", {"page": page})


@router.post("/admin/sessions/end")
def end_user_sessions(session: WriteSession, user: Admin, username: Username) -> Response:
    ended = moderation.end_sessions_of(session, user.id, username)
    return RedirectResponse(f"/admin?ended={ended}", status_code=303)


@router.post("/admin/users/admin")
def make_admin(session: WriteSession, user: Admin, username: Username, admin: Switch) -> Response:
    moderation.set_admin(session, user.id, username, bool(admin))
    return RedirectResponse("/admin#accounts", status_code=303)


@router.post("/admin/users/disabled")
def disable(session: WriteSession, user: Admin, username: Username, disabled: Switch) -> Response:
    moderation.set_disabled(session, user.id, username, bool(disabled))
    return RedirectResponse("/admin#accounts", status_code=303)
