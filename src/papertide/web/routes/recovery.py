"""Account recovery pages: "forgot my password" (a mailed, single-use link) and confirming an account's address.

The reset request answers the same whether or not an account uses the address, and is rate-limited per client
and per address, and counts against the address's mails of the day (``PAPERTIDE_MAIL_PER_ADDRESS_PER_DAY``);
the logic lives in :mod:`papertide.services.recovery`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from papertide.services.accounts import AccountError, DeadLink
from papertide.services.recovery import check_reset_token, confirm_address, request_password_reset, reset_password
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, WriteSession
from papertide.web.rendering.templating import templates
from papertide.web.security import AccountOwner, client_address, enforce_mail_limit, enforce_rate_limit

router = APIRouter()
Text = Annotated[str, Form(max_length=1024)]


@router.get("/reset")
def reset_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "reset.html", {})


@router.post("/reset")
def ask_for_reset(
    request: Request, database: AppDatabase, settings: AppSettings, email: Text, tasks: BackgroundTasks
) -> Response:
    """The same page, as fast, whether or not an account uses the address: the lookup and the mail happen after
    the answer has left (a mail that cannot leave is logged, never shown)."""
    enforce_rate_limit(request, "auth", client_address(request))
    enforce_rate_limit(request, "auth", f"reset:{email.strip().lower()[:200]}")
    enforce_mail_limit(request, email[:320])
    tasks.add_task(request_password_reset, database, settings, email)
    return templates.TemplateResponse(request, "reset.html", {"sent": True})


@router.get("/reset/{token}")
def new_password_form(request: Request, session: ReadSession, settings: AppSettings, token: str) -> Response:
    try:
        check_reset_token(session, settings, token)
    except AccountError as error:
        return templates.TemplateResponse(request, "reset.html", {"error": str(error), "dead": True}, status_code=400)
    return templates.TemplateResponse(request, "reset.html", {"token": token})


@router.post("/reset/{token}")
def set_new_password(
    request: Request, session: WriteSession, settings: AppSettings, token: str, password: Text
) -> Response:
    """The new password; every session of the account ends, this browser's included (log in with it next)."""
    enforce_rate_limit(request, "auth", client_address(request), session)
    try:
        reset_password(session, settings, token, password)
    except AccountError as error:
        dead = isinstance(error, DeadLink)
        context = {"error": str(error), "token": None if dead else token, "dead": dead}
        return templates.TemplateResponse(request, "reset.html", context, status_code=400)
    request.session.clear()
    return RedirectResponse("/login?reset=1", status_code=303)


@router.get("/settings/email/{token}")
def confirm_address_form(request: Request, token: str, user: AccountOwner) -> Response:
    """A page with a button: mail scanners open links, and a GET must change nothing."""
    form = {"action": f"/settings/email/{token}", "token": token, "button": "Use this address"}
    context = {"title": "Confirm your address", "message": "Use this address for your account?", "form": form}
    return templates.TemplateResponse(request, "notice.html", context)


@router.post("/settings/email/{token}")
def confirm_address_submit(
    request: Request, session: WriteSession, settings: AppSettings, token: str, user: AccountOwner
) -> Response:
    try:
        confirm_address(session, settings, token, user.id)
    except AccountError as error:
        context = {"title": "Address not changed", "message": str(error)}
        return templates.TemplateResponse(request, "notice.html", context, status_code=400)
    return RedirectResponse("/settings?saved=1", status_code=303)
