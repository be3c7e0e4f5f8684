"""The ``/mcp`` endpoint the app factory mounts (MCP's Streamable HTTP, stateless, JSON answers), which loads the
``mcp`` SDK and builds the server only when the first MCP request comes.

Importing the SDK and the tools costs a web process about 25 MB (bench/RESULTS.md, the light default), which an
instance whose users never connect an assistant should not pay. So this module imports neither: the first request
builds the server (in a worker thread: the imports take a moment) and starts the SDK's session manager in a task
of this endpoint's own, so the manager's task group starts and ends in one task, as anyio requires. An app may
start more than once (a test client, then a live server): each start (:meth:`LazyHttpEndpoint.running`) runs a
fresh session manager, requests go to the one started last, and before any start they are answered 503.

Who calls is settled before a request reaches this endpoint: the web layer reads its token, answers an unknown or
revoked one 401 and leaves the caller on the request (``web/routes/mcp.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from papertide.config import Settings
from papertide.db import Database
from papertide.search.engine import SearchEngine

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

Message = MutableMapping[str, Any]  # ASGI's types, written out: the web layer alone imports Starlette
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class _Run:
    """One start of the app: the manager, once the first request has wanted it."""

    wanted: anyio.Event = field(default_factory=anyio.Event)
    ready: anyio.Event = field(default_factory=anyio.Event)
    stopping: anyio.Event = field(default_factory=anyio.Event)
    manager: StreamableHTTPSessionManager | None = None
    failure: BaseException | None = None


class LazyHttpEndpoint:
    """The ASGI endpoint for the server that ``build`` makes (called once, on the first MCP request)."""

    def __init__(self, build: Callable[[], MCPServer]) -> None:
        self._build = build
        self._server: MCPServer | None = None
        self._runs: list[_Run] = []

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        run = _Run()
        async with anyio.create_task_group() as group:
            await group.start(self._serve, run)
            self._runs.append(run)
            try:
                yield
            finally:
                self._runs.remove(run)
                run.stopping.set()
                run.wanted.set()

    async def _serve(self, run: _Run, *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        await run.wanted.wait()
        if run.stopping.is_set():
            return
        try:
            manager = await anyio.to_thread.run_sync(self._session_manager)
        except Exception as error:  # reported to every request of this run, which the error pages answer
            run.failure = error
            run.ready.set()
            return
        async with manager.run():
            run.manager = manager
            run.ready.set()
            await run.stopping.wait()

    def _session_manager(self) -> StreamableHTTPSessionManager:
        from mcp.server.transport_security import TransportSecuritySettings

        if self._server is None:
            self._server = self._build()
        # DNS-rebinding checks are off on purpose: the endpoint trusts no cookie and no network position, only the
        # bearer token each request carries, so a rebound page gains nothing it could not fetch itself.
        self._server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return self._server.session_manager

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if not self._runs:
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": b"The MCP endpoint starts with the app."})
            return
        run = self._runs[-1]
        run.wanted.set()
        await run.ready.wait()
        if run.failure is not None:
            raise run.failure
        assert run.manager is not None
        await run.manager.handle_request(scope, receive, send)


def mcp_endpoint(database: Database, settings: Settings, engine: SearchEngine) -> LazyHttpEndpoint:
    """``/mcp`` for papertide's MCP server (``server.build_server``); run ``endpoint.running()`` around the app."""

    def build() -> MCPServer:
        from papertide.mcpserver.server import build_server
        from papertide.mcpserver.tools import Toolbox

        return build_server(Toolbox(database, settings, engine))

    return LazyHttpEndpoint(build)
