"""A short-lived cache of the pages anonymous visitors see, in front of the app (ASGI middleware).

Listing and paper pages cost a few database queries and a template render; the same bytes go to every visitor
who is not logged in. A route opts in by marking its response ``x-page-cache: public`` (only for anonymous
requests); this middleware keeps such responses for ``ttl`` seconds per path, query, ``Accept`` and ``Host``, serves
them to requests that carry no session cookie, and forgets everything after any successful write through this
process. Other processes see a write within ``ttl`` seconds (``PAPERTIDE_PAGE_CACHE_SECONDS``; 0 turns it off).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.web.rendering.caching import MARKER

SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class PageCacheMiddleware:
    def __init__(self, app: ASGIApp, *, ttl: float, session_cookie: str, max_entries: int = 512) -> None:
        self.app = app
        self.ttl = ttl
        self.session_cookie = session_cookie.encode()
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.ttl <= 0:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            await self.app(scope, receive, self._clearing_after_success(send))
            return
        if self._has_session(scope):
            await self.app(scope, receive, send)
            return
        key = _key(scope)
        entry = self._fresh(key)
        if entry is not None:
            await _replay(entry, send, head=scope["method"] == "HEAD")
            return
        await self.app(scope, receive, self._capturing(key, send))

    def _has_session(self, scope: Scope) -> bool:
        return any(name == b"cookie" and self.session_cookie in value for name, value in scope["headers"])

    def _fresh(self, key: bytes) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires < time.monotonic():
                return None
            self._entries.move_to_end(key)
            return entry

    def _store(self, key: bytes, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _capturing(self, key: bytes, send: Send) -> Send:
        started: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # Never keep a response that sets a cookie: it would hand one visitor's session to everyone.
                cacheable = any(n == MARKER for n, _ in headers) and not any(n == b"set-cookie" for n, _ in headers)
                started.update(status=message["status"], cacheable=cacheable)
                message = {**message, "headers": [(n, v) for n, v in headers if n != MARKER]}
                started["headers"] = message["headers"]
            elif message["type"] == "http.response.body" and started.get("cacheable"):
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and started["status"] == 200:
                    kept = started["headers"]
                    assert isinstance(kept, list)
                    self._store(key, _Entry(time.monotonic() + self.ttl, 200, kept, b"".join(chunks)))
            await send(message)

        return capture

    def _clearing_after_success(self, send: Send) -> Send:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.clear()
            await send(message)

        return watch


def _key(scope: Scope) -> bytes:
    """Path, query, ``Accept`` (a paper URL answers BibTeX or Markdown to clients that ask for them) and ``Host``:
    no page carries the Host it was asked with (absolute links come from ``PAPERTIDE_BASE_URL``), and should one
    ever, a client naming another Host still gets no answer made for it."""
    headers = {name: value for name, value in scope["headers"] if name in (b"accept", b"host")}
    accept, host = headers.get(b"accept", b"")[:200], headers.get(b"host", b"")[:200]
    return scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"|" + accept + b"|" + host


async def _replay(entry: _Entry, send: Send, *, head: bool) -> None:
    await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
    await send({"type": "http.response.body", "body": b"" if head else entry.body})
