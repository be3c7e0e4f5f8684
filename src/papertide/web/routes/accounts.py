"""Sign-up, log-in, log-out, profiles and settings (tokens, address, password); recovery is in recovery.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide.queries.people import query_pending_email, query_user
from papertide.services.accounts import AccountError, Identity
from papertide.services.export import user_data
from papertide.services.recovery import change_profile, register
from papertide.services.sessions import LoginPaused, change_password, log_in
from papertide.services.tokens import (
    TokenError,
    create_api_token,
    create_feed_token,
    has_feed_token,
    list_api_tokens,
    revoke_api_token,
    revoke_feed_tokens,
)
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, RowId, WriteSession
from papertide.web.rendering.feeds import FeedRef
from papertide.web.rendering.templating import render_page, same_site_path, templates
from papertide.web.security import (
    AccountOwner,
    CurrentUser,
    client_address,
    enforce_rate_limit,
    remember_device,
    session_secret,
    sign_in,
    sign_out,
    this_device,
)
from papertide.web.viewmodels.people import profile_page

router = APIRouter()
Text = Annotated[str, Form(max_length=1024)]


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so ``?next=`` cannot send people to another site after logging in."""
    return (same_site_path(target) if target else None) or "/"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, database: AppDatabase, username: Text, password: Text, next: Text = "/") -> Response:
    enforce_rate_limit(request, "auth", client_address(request))
    try:
        signed_in = log_in(database, username, password, replacing=session_secret(request), device=this_device(request))
    except LoginPaused as paused:
        context = {"next": _safe_next(next), "error": str(paused), "username": username}
        headers = {"Retry-After": str(paused.retry_after)}
        return templates.TemplateResponse(request, "login.html", context, status_code=429, headers=headers)
    if signed_in is None:
        context = {"next": _safe_next(next), "error": "Wrong username or password.", "username": username}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    sign_in(request, *signed_in)
    response = RedirectResponse(_safe_next(next), status_code=303)
    remember_device(request, response, signed_in[0].id)
    return response


@router.post("/logout")
def logout(request: Request, session: WriteSession) -> Response:
    """Ends this browser's session for good: a copy of the cookie opens nothing afterwards."""
    sign_out(request, session)
    return RedirectResponse("/", status_code=303)


@router.get("/signup")
def signup_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "signup.html", {"error": None})


@router.post("/signup")
def signup(
    request: Request, database: AppDatabase, settings: AppSettings, username: Text, password: Text, email: Text = ""
) -> Response:
    """A new account, signed in at once. A given address is mailed a confirmation link and joins the account when
    it is opened, so the answer never says whether another account uses the address."""
    enforce_rate_limit(request, "auth", client_address(request))
    try:
        signed_up = register(database, settings, username, password, email)
    except AccountError as error:
        context = {"error": str(error), "username": username, "email": email}
        return templates.TemplateResponse(request, "signup.html", context, status_code=400)
    sign_in(request, signed_up.user, signed_up.secret)
    target = _settings_url(request, signed_up.address_problem or "sent") if email.strip() else "/"
    response = RedirectResponse(target, status_code=303)
    remember_device(request, response, signed_up.user.id)
    return response


def _settings_url(request: Request, outcome: str | None) -> str:
    """Settings with a notice: saved, a link sent to a new address, or what stopped that mail. The problem's words
    travel in the session, not the URL, so no link can put words of its own on the settings page."""
    if outcome is None:
        return "/settings?saved=1"
    if outcome == "sent":
        return "/settings?sent=1"
    request.session["problem"] = outcome
    return "/settings"


@router.get("/users/{username}")
@router.get("/users/{username}.json")  # the inner decorator registers first, so .json wins
def profile(request: Request, username: str, session: ReadSession, user: CurrentUser) -> Response:
    person = query_user(session, username)
    if person is None:
        raise HTTPException(404, f"There is no user named {username!r}.")
    feed = FeedRef(f"Submitted by {person.username}", f"/feeds/user/{person.username}")
    return render_page(request, "profile.html", profile_page(session, person, user), [feed])


def _settings_context(session: Session, user: Identity, **extra: object) -> dict[str, object]:
    return {
        "person": query_user(session, user.username),
        "pending_email": query_pending_email(session, user.id),
        "has_feed": has_feed_token(session, user.id),
        "tokens": list_api_tokens(session, user.id),
        **extra,
    }


@router.get("/settings")
def settings_form(request: Request, session: ReadSession, user: AccountOwner) -> Response:
    context = _settings_context(session, user, error=request.session.pop("problem", None))
    return templates.TemplateResponse(request, "settings.html", context)


@router.get("/settings/export.json")
def export_my_data(session: ReadSession, user: AccountOwner) -> Response:
    """Everything papertide holds about the signed-in user, as a JSON download."""
    return JSONResponse(
        user_data(session, user.id),
        headers={"Content-Disposition": f'attachment; filename="papertide-{user.username}.json"'},
    )


@router.post("/settings/tokens")
def new_api_token(
    request: Request,
    session: WriteSession,
    user: AccountOwner,
    name: Text,
    scope: Annotated[str, Form(max_length=8)] = "read",
) -> Response:
    """A personal access token for the API, shown once on the page that answers."""
    enforce_rate_limit(request, "write", user.id, session)
    try:
        token = create_api_token(session, user.id, name, scope)
    except TokenError as error:
        return _settings_error(request, session, user, str(error))
    session.flush()
    context = _settings_context(session, user, new_token=token, new_token_scope=scope)
    return templates.TemplateResponse(request, "settings.html", context)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(session: WriteSession, user: AccountOwner, token_id: RowId) -> Response:
    revoke_api_token(session, user.id, token_id)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/feed-token")
def new_feed_token(request: Request, session: WriteSession, settings: AppSettings, user: AccountOwner) -> Response:
    """A new private feed URL, shown once on the page that answers (only its hash is kept)."""
    enforce_rate_limit(request, "write", user.id, session)
    token = create_feed_token(session, user.id)
    session.flush()
    context = _settings_context(session, user, feed_url=f"{settings.base_url}/feeds/personal/{token}.rss")
    return templates.TemplateResponse(request, "settings.html", context)


@router.post("/settings/feed-token/revoke")
def revoke_feed_token(session: WriteSession, user: AccountOwner) -> Response:
    revoke_feed_tokens(session, user.id)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/profile")
def save_profile(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    user: AccountOwner,
    fullname: Text = "",
    email: Text = "",
    orcid: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The full name and ORCID iD are saved at once; a new address only once its confirmation link (mailed to it)
    is opened."""
    enforce_rate_limit(request, "write", user.id)
    try:
        outcome = change_profile(database, settings, user.id, fullname, email, orcid)
    except AccountError as error:
        with database.read_session() as session:
            return _settings_error(request, session, user, str(error))
    return RedirectResponse(_settings_url(request, outcome), status_code=303)


@router.post("/settings/password")
def save_password(request: Request, session: WriteSession, user: AccountOwner, current: Text, new: Text) -> Response:
    """Every other session of the account ends; this browser's stays."""
    enforce_rate_limit(request, "auth", user.id, session)
    try:
        change_password(session, user.id, current, new, keep=session_secret(request))
    except AccountError as error:
        return _settings_error(request, session, user, str(error))
    return RedirectResponse("/settings?saved=1", status_code=303)


def _settings_error(request: Request, session: Session, user: Identity, message: str) -> Response:
    context = _settings_context(session, user, error=message)
    return templates.TemplateResponse(request, "settings.html", context, status_code=400)
