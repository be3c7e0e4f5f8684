"""``/mcp``: the MCP server's Streamable HTTP endpoint behind the web's one token path.

The web layer reads the request's ``Authorization`` header (the guard's one parser, which refuses two of them),
asks :func:`papertide.services.callers.caller_of_token` who it names, and leaves the caller on the request for the
tools (``request.state.token_caller``); the MCP server reads no header itself. A token that is unknown or revoked is
answered ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750) before the SDK loads, as the
REST API answers it and as the MCP authorization spec asks ("invalid or expired tokens MUST receive a HTTP 401
response"); a request without a token is nobody, who may call the public tools. The session cookie is never read.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from papertide.db import Database
from papertide.services.callers import REQUEST_CALLER, UNKNOWN_TOKEN, caller_of_token
from papertide.web.middleware.guard import bearer_token

MCP_PATH = "/mcp"


class McpGate:
    """``endpoint`` (the lazy MCP endpoint) for requests whose token, if any, names a live caller."""

    def __init__(self, endpoint: ASGIApp, database: Database) -> None:
        self.endpoint = endpoint
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(scope["headers"])  # two Authorization headers were refused by the guard already
        caller = None
        if token is not None:
            caller = await anyio.to_thread.run_sync(caller_of_token, self.database, token)
            if caller is None:
                await _unauthorized(send)
                return
        scope.setdefault("state", {})[REQUEST_CALLER] = caller
        await self.endpoint(scope, receive, send)


async def _unauthorized(send: Send) -> None:
    """401 as RFC 6750 writes it for a token that is no good; the body says what to do, as the SDK's own does."""
    body = json.dumps({"error": "invalid_token", "error_description": UNKNOWN_TOKEN}).encode()
    challenge = 'Bearer realm="papertide", error="invalid_token", error_description="unknown or revoked token"'
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", challenge.encode())]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
