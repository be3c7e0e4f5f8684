"""The admin page, for administrators: how far background work has got (embedding progress, the vector index, each
automatic source's last run, next run and last error), and signing an account out everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from papertide.services.accounts import AccountError
from papertide.services.sessions import end_sessions_of
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, SemanticSearch, WriteSession
from papertide.web.rendering.templating import render_page
from papertide.web.security import Admin
from papertide.web.viewmodels.admin import admin_page

router = APIRouter()


@router.get("/admin")
@router.get("/admin.json")
def admin(
    request: Request,
    session: ReadSession,
    user: Admin,
    semantic: SemanticSearch,
    database: AppDatabase,
    settings: AppSettings,
) -> Response:
    return render_page(request, "admin.html", {"page": admin_page(session, database, settings, semantic)})


@router.post("/admin/sessions/end")
def end_user_sessions(session: WriteSession, user: Admin, username: Annotated[str, Form(max_length=64)]) -> Response:
    """Sign an account out of every browser (a stolen laptop, a shared cookie); its tokens stay."""
    try:
        ended = end_sessions_of(session, username)
    except AccountError as error:
        raise HTTPException(404, str(error)) from error
    return RedirectResponse(f"/admin?ended={ended}", status_code=303)
