"""Who is signed in, and what they may do: the signed-in user (a session cookie or a personal access token), signing
in and out, the known-device cookie, the ``require_*`` dependencies, and the rate and mail limits routes count.

The signed-in user comes from a session cookie naming a live ``user_sessions`` row (ended by log-out, a password
change or an admin: :mod:`papertide.services.sessions`), or from a personal access token
(:mod:`papertide.services.callers`, the path MCP takes too). A second, long-lived cookie marks a browser that signed
in to an account before (:func:`remember_device`), so that the pause on wrong passwords of that account does not
lock its owner out. Account management (tokens, profile, password) takes the browser session only
(:data:`AccountOwner`), never a token.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from papertide.services.accounts import Identity
from papertide.services.callers import caller_of_token
from papertide.services.ratelimit import RateKind, count_mail_to, spend
from papertide.services.sessions import DEVICE_DAYS, KnownDevice, device_token, end_session, known_device, session_user
from papertide.web.csrf import new_csrf_token
from papertide.web.deps import get_database, get_settings
from papertide.web.errors import LoginRequired
from papertide.web.middleware.guard import SAFE_METHODS, DuplicateAuthorization, bearer_token

log = logging.getLogger(__name__)


PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def load_user(request: Request) -> Identity | None:
    """App-wide dependency: the signed-in user (or None) on ``request.state.user`` for routes and templates.

    API clients sign in per request with ``Authorization: Bearer pt_…`` (a personal access token); a read token
    is refused on anything but GET/HEAD/OPTIONS. A cookie whose session ended opens nothing and is cleared.
    """
    request.state.via_token = False
    if request.url.path in PROBE_PATHS:
        request.state.user = None  # probes and scrapers are nobody; /metrics reads its own bearer token
        return None
    try:
        token = bearer_token(request.scope["headers"])
    except DuplicateAuthorization as error:
        raise HTTPException(400, str(error)) from None
    if token is not None:
        return _token_user(request, token)
    user_id, secret = request.session.get("uid"), session_secret(request)
    found: Identity | None = None
    if isinstance(user_id, int) and secret is not None:
        with get_database(request).read_session() as session:
            found = session_user(session, user_id, secret)
    if found is None and "uid" in request.session:
        request.session.clear()
    request.state.user = found
    return found


def _token_user(request: Request, token: str) -> Identity:
    caller = caller_of_token(get_database(request), token)
    if caller is None:
        raise HTTPException(
            401, "That API token is unknown or revoked. Create one in Settings.", {"WWW-Authenticate": "Bearer"}
        )
    if not caller.writes and request.method not in SAFE_METHODS:
        raise HTTPException(403, "This token can only read. Create a write token in Settings to change things.")
    request.state.user = caller.user
    request.state.via_token = True
    request.state.token_scope = caller.scope
    return caller.user


def sign_in(request: Request, user: Identity, secret: str) -> None:
    """Put a session started by :func:`papertide.services.sessions.log_in` (or sign-up) into the cookie."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["sid"] = secret
    request.session["csrf"] = new_csrf_token()


def sign_out(request: Request, session: Session) -> None:
    """End this browser's session for good (a copy of the cookie opens nothing after this) and clear the cookie."""
    secret = session_secret(request)
    if secret is not None:
        end_session(session, secret)
    request.session.clear()


DEVICE_COOKIE = "papertide_device"


def remember_device(request: Request, response: Response, user_id: int) -> None:
    """Mark this browser as one that signed in to ``user_id`` (a signed cookie, kept past log-out): the pause on
    wrong passwords of that account does not stop it (``services/sessions.py``)."""
    settings = get_settings(request)
    response.set_cookie(
        DEVICE_COOKIE,
        device_token(settings, user_id),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def this_device(request: Request) -> KnownDevice | None:
    return known_device(get_settings(request), request.cookies.get(DEVICE_COOKIE))


def session_secret(request: Request) -> str | None:
    secret = request.session.get("sid")
    return secret if isinstance(secret, str) else None


def require_user(request: Request) -> Identity:
    user: Identity | None = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


def require_admin(user: Annotated[Identity, Depends(require_user)]) -> Identity:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only administrators can do that.")
    return user


def require_account_owner(user: Annotated[Identity, Depends(require_user)], request: Request) -> Identity:
    if getattr(request.state, "via_token", False):
        raise HTTPException(403, "Manage the account from a signed-in browser; an API token cannot do that.")
    return user


def require_admin_writer(user: Annotated[Identity, Depends(require_admin)], request: Request) -> Identity:
    """An administrator in a browser or with a write token: a read token never exports the instance."""
    if getattr(request.state, "token_scope", None) == "read":
        raise HTTPException(403, "This needs a write token (or the signed-in browser); a read token cannot do it.")
    return user


CurrentUser = Annotated[Identity | None, Depends(load_user)]


SignedIn = Annotated[Identity, Depends(require_user)]


AccountOwner = Annotated[Identity, Depends(require_account_owner)]


Admin = Annotated[Identity, Depends(require_admin)]


AdminWriter = Annotated[Identity, Depends(require_admin_writer)]


def enforce_rate_limit(request: Request, kind: RateKind, subject: str | int, session: Session | None = None) -> None:
    """Count a write against ``kind``'s limit for ``subject`` (:class:`RateLimited`, answered 429 with Retry-After,
    when over). Given the request's write ``session``, the count joins its transaction."""
    settings = get_settings(request)
    if session is None:
        with get_database(request).write_session() as own:
            spend(own, settings, kind, subject)
    else:
        spend(session, settings, kind, subject)


def enforce_mail_limit(request: Request, address: str) -> None:
    """Count a mail to ``address`` against ``PAPERTIDE_MAIL_PER_ADDRESS_PER_DAY``, whoever asks and whether or not
    it will be sent (:class:`MailLimited`, answered 429, when over): the answer tells nothing of the address."""
    with get_database(request).write_session() as session:
        count_mail_to(session, address, limit=get_settings(request).mail_per_address_per_day)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
