"""A real HTTP server on 127.0.0.1 that replays scripted answers, and a fake clock, for source tests.

Sources are tested against real sockets rather than mocked httpx: each route maps a path (and optionally
required query parameters) to a list of replies served in order, the last one repeating, and every request
is logged with its query and its arrival time on the clock the test chooses. A reply may ``drip``: its status
line, headers and body go out one byte at a time, that many seconds apart (a server too slow to trip a timeout).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Path = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0

    def content(self) -> bytes:
        return self.body.read_bytes() if isinstance(self.body, Path) else self.body


@dataclass(frozen=True)
class Received:
    path: str
    params: dict[str, str]
    at: float
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Route:
    path: str
    params: Mapping[str, str]
    replies: list[Reply]
    served: int = 0

    def matches(self, path: str, params: Mapping[str, str]) -> bool:
        return path == self.path and all(params.get(key) == value for key, value in self.params.items())

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class FakeClock:
    """A monotonic clock whose ``sleep`` only moves time forward, recording each requested pause."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ReplayServer:
    """``with ReplayServer() as server: server.route("/api/query", Reply(body=...))`` then use ``server.url``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests: list[Received] = []
        self._routes: list[_Route] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A short poll interval makes shutdown() quick; the default half second would dominate every test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, *replies: Reply, params: Mapping[str, str] | None = None) -> None:
        """Answer GETs of ``path`` (carrying at least ``params``) with ``replies`` in order, the last repeating.

        Routes with required parameters are tried before plain ones, so a plain route is the fallback.
        """
        route = _Route(path, dict(params or {}), list(replies) or [Reply()])
        with self._lock:
            if params:
                self._routes.insert(0, route)
            else:
                self._routes.append(route)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, raw_path: str, headers: Mapping[str, str]) -> Reply:
        parts = urlsplit(raw_path)
        params = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append(Received(parts.path, params, self._clock(), dict(headers)))
            route = next((r for r in self._routes if r.matches(parts.path, params)), None)
            return route.next_reply() if route else Reply(404, f"no route for {raw_path}".encode())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = server._answer(self.path, {name.lower(): value for name, value in self.headers.items()})
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.content()
                if reply.drip:
                    self._drip(reply, body)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # A client that timed out has gone; there is nobody left to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def _drip(self, reply: Reply, body: bytes) -> None:
                lines = [f"HTTP/1.1 {reply.status} Dripping", *(f"{k}: {v}" for k, v in reply.headers.items())]
                head = "\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""]).encode()
                for byte in head + body:
                    try:
                        self.wfile.write(bytes([byte]))
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client gave up
                    time.sleep(reply.drip)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean; requests are in server.requests

        return Handler
