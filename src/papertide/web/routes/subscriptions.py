"""Digest subscriptions over the web: subscribe (double opt-in), confirm, preferences, unsubscribe.

Links in mails open pages; the change itself is always a POST (mail scanners follow links, they do not post
forms). The one exception to CSRF tokens is ``POST /unsubscribe?token=…``: mail clients send it for RFC 8058
one-click unsubscribe, and the signed token in the URL is the authority.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response

from papertide.mail import MailError
from papertide.services.subscriptions import (
    Cadence,
    SubscriptionError,
    confirm_by_token,
    request_subscription,
    unsubscribe_by_token,
    update_by_token,
    view_by_token,
)
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, WriteSession
from papertide.web.rendering.templating import templates
from papertide.web.security import CurrentUser, client_address, enforce_mail_limit, enforce_rate_limit
from papertide.web.viewmodels.subscriptions import PreferenceForm

router = APIRouter()
Token = Annotated[str, Query(max_length=500)]
Short = Annotated[str, Form(max_length=2000)]


def preference_fields(
    cadence: Annotated[str, Form(max_length=16)] = "daily",
    trending: Annotated[bool, Form()] = False,
    categories: Short = "",
    organizations: Short = "",
    authors: Short = "",
    personal: Annotated[bool, Form()] = False,
    searches: Annotated[str, Form(max_length=4000)] = "",
) -> PreferenceForm:
    """The preference fields both forms post (the email is added by the form that has one)."""
    chosen: Cadence = "weekly" if cadence == "weekly" else "daily"
    return PreferenceForm("", chosen, trending, categories, organizations, authors, personal, searches)


Fields = Annotated[PreferenceForm, Depends(preference_fields)]


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, template, context, status_code=status)


def _notice(request: Request, title: str, message: str, status: int = 200, **form: Any) -> Response:
    return _page(request, "notice.html", status, title=title, message=message, form=form or None)


@router.get("/subscribe")
def subscribe_form(request: Request, email: Annotated[str, Query(max_length=320)] = "") -> Response:
    return _page(request, "subscribe.html", form=PreferenceForm(email=email), error=None, token=None)


@router.post("/subscribe")
def subscribe_submit(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    user: CurrentUser,
    fields: Fields,
    email: Annotated[str, Form(max_length=320)],
) -> Response:
    enforce_rate_limit(request, "auth", client_address(request))
    enforce_mail_limit(request, email)  # per recipient and day: the limit per client address alone let one mailbox fill
    form = replace(fields, email=email, personal=fields.personal and user is not None)
    try:
        address = request_subscription(
            database, settings, email, form.cadence, form.preferences(), user.id if user else None
        )
    except SubscriptionError as error:
        return _page(request, "subscribe.html", 422, form=form, error=str(error), token=None)
    except MailError as error:
        raise HTTPException(503, str(error)) from error
    # The same answer whether or not the address was already subscribed: the page reveals nothing about it.
    return _notice(request, "Check your inbox", f"We sent a mail to {address}. Open its link to finish.")


@router.get("/subscribe/confirm")
def confirm_page(request: Request, token: Token) -> Response:
    return _notice(
        request,
        "Confirm your subscription",
        "One click and the digest is on its way.",
        action="/subscribe/confirm",
        token=token,
        button="Confirm my subscription",
    )


@router.post("/subscribe/confirm")
def confirm_submit(
    request: Request, session: WriteSession, settings: AppSettings, token: Annotated[str, Form(max_length=500)]
) -> Response:
    try:
        confirmed = confirm_by_token(session, settings, token)
    except SubscriptionError as error:
        return _notice(request, "That link did not work", str(error), status=400)
    return _notice(
        request,
        "You are subscribed",
        f"The {confirmed.cadence} digest will come to {confirmed.email}. "
        "Every digest has a link to change what you receive or to leave.",
        link=f"/subscription?token={confirmed.manage_token}",
    )


@router.get("/subscription")
def preferences_page(request: Request, session: ReadSession, settings: AppSettings, token: Token) -> Response:
    try:
        subscription = view_by_token(session, settings, token)
    except SubscriptionError as error:
        return _notice(request, "That link did not work", str(error), status=400)
    form = PreferenceForm.of(subscription)
    return _page(request, "subscribe.html", form=form, error=None, token=token, state=subscription.status)


@router.post("/subscription")
def preferences_submit(
    request: Request,
    session: WriteSession,
    settings: AppSettings,
    fields: Fields,
    token: Annotated[str, Form(max_length=500)],
) -> Response:
    try:
        update_by_token(session, settings, token, fields.cadence, fields.preferences())
    except SubscriptionError as error:
        return _notice(request, "Not saved", str(error), status=422, link=f"/subscription?token={token}")
    return _notice(request, "Saved", "Your digest preferences are saved.", link=f"/subscription?token={token}")


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: Token) -> Response:
    return _notice(
        request,
        "Unsubscribe",
        "Stop receiving the papertide digest at this address?",
        action="/unsubscribe",
        token=token,
        button="Unsubscribe",
    )


@router.post("/unsubscribe")
def unsubscribe_submit(
    request: Request, session: WriteSession, settings: AppSettings, form_token: Annotated[str, Form(alias="token")] = ""
) -> Response:
    """Works for the page's button (token in the form) and for RFC 8058 one-click (token in the URL, whose body
    is ``List-Unsubscribe=One-Click``). A plain function: FastAPI runs it in a thread, off the event loop."""
    token = str(request.query_params.get("token") or form_token)[:500]
    try:
        email = unsubscribe_by_token(session, settings, token)
    except SubscriptionError as error:
        return _notice(request, "That link did not work", str(error), status=400)
    return _notice(
        request,
        "Unsubscribed",
        f"{email} will get no more digests. Subscribe again from any page.",
    )
