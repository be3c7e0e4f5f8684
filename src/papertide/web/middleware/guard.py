"""The guard in front of every route (ASGI middleware, inside Starlette's signed-cookie ``SessionMiddleware``).

For every POST/PUT/PATCH/DELETE it reads the body (refusing more than ``max_body_bytes`` with 413), then demands the
session's CSRF token, either in the ``X-CSRF-Token`` header (scripts) or in the ``csrf_token`` form field (plain HTML
forms), and answers 403 otherwise. Requests with a bearer token are exempt (their cookie is then ignored: the token
is the user); so are the paths the app lists as token-authenticated (for example RFC 8058 one-click unsubscribe). A
body that stalls for ``PAPERTIDE_REQUEST_BODY_TIMEOUT_SECONDS`` is answered 408, so a slow client cannot hold a
connection (or shutdown) for long.

A NUL character anywhere in the path, the query or the body is refused with 400 (:func:`_carries_nul`).

``Authorization`` is read by one parser (:func:`bearer_token`) for the CSRF exemption, the user and ``/mcp``; a
request with more than one such header is refused, so they can never disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.web.csrf import csrf_ok
from papertide.web.errors import render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
