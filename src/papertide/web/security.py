"""Request guards: body size limit, CSRF on every state-changing request, the signed-in user, rate limits.

``GuardMiddleware`` sits inside Starlette's signed-cookie ``SessionMiddleware``. For every POST/PUT/PATCH/DELETE it
reads the body (refusing more than ``max_body_bytes`` with 413), then demands the session's CSRF token, either in
the ``X-CSRF-Token`` header (scripts) or in the ``csrf_token`` form field (plain HTML forms), and answers 403
otherwise. Requests with a bearer token are exempt (their cookie is then ignored: the token is the user); so are the
paths the app lists as token-authenticated (for example RFC 8058 one-click unsubscribe). A body that stalls for
``PAPERTIDE_REQUEST_BODY_TIMEOUT_SECONDS`` is answered 408, so a slow client cannot hold a connection (or
shutdown) for long.

A NUL character anywhere in the path, the query or the body is refused with 400 (:func:`_carries_nul`).

``Authorization`` is read by one parser (:func:`bearer_token`) for both the CSRF exemption and the user; a request
with more than one such header is refused, so the two can never disagree.

The signed-in user comes from a session cookie naming a live ``user_sessions`` row (ended by log-out, a password
change or an admin: :mod:`papertide.services.sessions`), or from a personal access token. A second, long-lived
cookie marks a browser that signed in to an account before (:func:`remember_device`), so that the pause on wrong
passwords of that account does not lock its owner out. Account management
(tokens, profile, password) takes the browser session only (:data:`AccountOwner`), never a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.services.accounts import Identity
from papertide.services.ratelimit import count_mail_to, enforce
from papertide.services.sessions import DEVICE_DAYS, KnownDevice, device_token, end_session, known_device, session_user
from papertide.services.tokens import authenticate_token, stamp_token_use
from papertide.web.csrf import csrf_ok, new_csrf_token
from papertide.web.deps import get_db, get_settings
from papertide.web.errors import LoginRequired, render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)


class DuplicateAuthorization(ValueError):
    """More than one Authorization header: which one counts would be a guess."""


def bearer_token(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of a request's only ``Authorization`` header, None without one."""
    values = [value for name, value in headers if name.lower() == b"authorization"]
    if len(values) > 1:
        raise DuplicateAuthorization("Send one Authorization header, not several.")
    if not values or values[0][:7].lower() != b"bearer ":
        return None
    return values[0][7:].decode("latin-1").strip()


class GuardMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout: float = 30.0,
        exempt_paths: Iterable[str] = (),
        upload_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Paths that take a file (a library import) accept bodies up to their own limit instead.
        self.upload_limits = dict(upload_limits or {})
        self.body_timeout = body_timeout
        self.exempt_paths = tuple(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _carries_nul(scope["path"], scope.get("query_string", b"")):
            await _refuse(scope, send, 400, NUL_MESSAGE)
            return
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            token = bearer_token(scope["headers"])
        except DuplicateAuthorization as error:
            await _refuse(scope, send, 400, str(error))
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        limit = self.upload_limits.get(scope["path"], self.max_body_bytes)
        too_large = (
            f"That file is too large: this form takes at most {limit // 1_000_000} MB."
            if scope["path"] in self.upload_limits
            else "That request is too large."
        )
        if not declared.isdigit() or int(declared) > limit:
            await _refuse(scope, send, 413, too_large)
            return
        try:
            body = await asyncio.wait_for(_read_body(receive, limit), self.body_timeout)
        except TimeoutError:
            await _refuse(scope, send, 408, "The request body arrived too slowly; send it again.")
            return
        if body is None:
            await _refuse(scope, send, 413, too_large)
            return
        if _carries_nul("", body):
            await _refuse(scope, send, 400, NUL_MESSAGE)
            return
        if not self._exempt(scope, token) and not csrf_ok(scope, headers, body):
            await _refuse(
                scope, send, 403, "The form expired or came from another site. Reload the page and try again."
            )
            return
        await self.app(scope, _replay(body), send)

    def _exempt(self, scope: Scope, token: str | None) -> bool:
        if token is not None:
            return True
        return any(str(scope["path"]).startswith(path) for path in self.exempt_paths)


NUL_MESSAGE = "Text cannot contain the NUL character (%00); remove it and send again."
_NUL_FORMS = (b"\x00", b"%00", b"\\u0000")  # raw, form- or URL-encoded, JSON-escaped


def _carries_nul(path: str, data: bytes) -> bool:
    """NUL is no character of any text papertide keeps (PostgreSQL cannot store it in text, XML cannot carry it),
    so a request carrying one is refused whole, before any route compares or stores it."""
    return "\x00" in path or any(form in data.lower() for form in _NUL_FORMS)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    response = render_error(scope, status, message)
    await response(scope, _replay(b""), send)


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
        with get_db(request).read_session() as session:
            found = session_user(session, user_id, secret)
    if found is None and "uid" in request.session:
        request.session.clear()
    request.state.user = found
    return found


def _token_user(request: Request, token: str) -> Identity:
    database = get_db(request)
    with database.read_session() as session:
        use = authenticate_token(session, token)
    if use is None:
        raise HTTPException(
            401, "That API token is unknown or revoked. Create one in Settings.", {"WWW-Authenticate": "Bearer"}
        )
    if use.scope == "read" and request.method not in SAFE_METHODS:
        raise HTTPException(403, "This token can only read. Create a write token in Settings to change things.")
    if use.stamp_due:  # at most hourly, so an API client's reads stay reads
        try:
            with database.write_session() as session:
                stamp_token_use(session, use.token_id)
        except DBAPIError as error:  # a read-only or busy database still serves reads
            log.warning("token %s: last use not recorded (%s)", use.token_id, error.orig)
    request.state.user = use.user
    request.state.via_token = True
    request.state.token_scope = use.scope
    return use.user


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


def enforce_rate_limit(request: Request, kind: str, subject: str | int, session: Session | None = None) -> None:
    """Count a write against ``kind``'s limit for ``subject`` (:class:`RateLimited`, answered 429 with Retry-After,
    when over). Given the request's write ``session``, the count joins its transaction."""
    settings = get_settings(request)
    limits = {  # (hits, window in seconds)
        "vote": (settings.rate_limit_votes_per_minute, 60),
        "write": (settings.rate_limit_writes_per_minute, 60),
        "auth": (settings.rate_limit_auth_per_minute, 60),
        # A library import may cost a second of CPU however hostile the file (services/library_files.py).
        "import": (settings.rate_limit_imports_per_hour, 3600),
    }
    limit, window = limits[kind]
    if session is None:
        with get_db(request).write_session() as own:
            enforce(own, f"{kind}:{subject}", limit=limit, window_seconds=window)
    else:
        enforce(session, f"{kind}:{subject}", limit=limit, window_seconds=window)


def enforce_mail_limit(request: Request, address: str) -> None:
    """Count a mail to ``address`` against ``PAPERTIDE_MAIL_PER_ADDRESS_PER_DAY``, whoever asks and whether or not
    it will be sent (:class:`MailLimited`, answered 429, when over): the answer tells nothing of the address."""
    with get_db(request).write_session() as session:
        count_mail_to(session, address, limit=get_settings(request).mail_per_address_per_day)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
