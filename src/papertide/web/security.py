"""Request guards: body size limit, CSRF on every state-changing request, the signed-in user, rate limits.

``GuardMiddleware`` sits inside Starlette's signed-cookie ``SessionMiddleware``. For every POST/PUT/PATCH/DELETE it
reads the body (refusing more than ``max_body_bytes`` with 413), then demands the session's CSRF token, either in
the ``X-CSRF-Token`` header (scripts) or in the ``csrf_token`` form field (plain HTML forms), and answers 403
otherwise. Requests that authenticate with a bearer token carry no cookies and are exempt; so are the paths the
app lists as token-authenticated (for example RFC 8058 one-click unsubscribe).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.models import User
from papertide.services.accounts import Identity, identity
from papertide.services.api_tokens import authenticate_token
from papertide.services.ratelimit import hit
from papertide.web.csrf import csrf_ok, new_csrf_token
from papertide.web.deps import get_db, get_settings
from papertide.web.errors import LoginRequired, render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, exempt_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.exempt_paths = tuple(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body_bytes:
            await _refuse(scope, send, 413, "That request is too large.")
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _refuse(scope, send, 413, "That request is too large.")
            return
        if not self._exempt(scope, headers) and not csrf_ok(scope, headers, body):
            await _refuse(
                scope, send, 403, "The form expired or came from another site. Reload the page and try again."
            )
            return
        await self.app(scope, _replay(body), send)

    def _exempt(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            return True
        return any(str(scope["path"]).startswith(path) for path in self.exempt_paths)


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
    is refused on anything but GET/HEAD/OPTIONS.
    """
    if request.url.path in PROBE_PATHS:
        request.state.user = None  # probes and scrapers are nobody; /metrics reads its own bearer token
        return None
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return _token_user(request, authorization[7:].strip())
    user_id = request.session.get("uid")
    found: Identity | None = None
    if isinstance(user_id, int):
        with get_db(request).read_session() as session:
            user = session.execute(select(User).where(User.id == user_id, User.is_active.is_(True))).scalar()
            found = identity(user) if user else None
        if found is None:
            request.session.pop("uid", None)
    request.state.user = found
    return found


def _token_user(request: Request, token: str) -> Identity:
    with get_db(request).write_session() as session:
        found = authenticate_token(session, token)
    if found is None:
        raise HTTPException(
            401, "That API token is unknown or revoked. Create one in Settings.", {"WWW-Authenticate": "Bearer"}
        )
    user, scope = found
    if scope == "read" and request.method not in SAFE_METHODS:
        raise HTTPException(403, "This token can only read. Create a write token in Settings to change things.")
    request.state.user = user
    return user


def sign_in(request: Request, user: Identity) -> None:
    request.session.clear()
    request.session["uid"] = user.id
    request.session["csrf"] = new_csrf_token()


def sign_out(request: Request) -> None:
    request.session.clear()


def require_user(request: Request) -> Identity:
    user: Identity | None = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


def require_admin(user: Annotated[Identity, Depends(require_user)]) -> Identity:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only administrators can do that.")
    return user


CurrentUser = Annotated[Identity | None, Depends(load_user)]
SignedIn = Annotated[Identity, Depends(require_user)]
Admin = Annotated[Identity, Depends(require_admin)]


def enforce_rate_limit(request: Request, kind: str, subject: str | int) -> None:
    """Count a write against ``kind``'s limit for ``subject``; 429 with Retry-After when over."""
    settings = get_settings(request)
    limits: dict[str, Any] = {
        "vote": settings.rate_limit_votes_per_minute,
        "write": settings.rate_limit_writes_per_minute,
        "auth": settings.rate_limit_auth_per_minute,
    }
    with get_db(request).write_session() as session:
        decision = hit(session, f"{kind}:{subject}", limit=limits[kind], window_seconds=60)
    if not decision.allowed:
        raise HTTPException(
            status_code=429,
            detail=f"Too many requests; try again in {decision.retry_after} s.",
            headers={"Retry-After": str(decision.retry_after)},
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
