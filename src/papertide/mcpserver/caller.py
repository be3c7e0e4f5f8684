"""Who is calling an MCP tool: nobody (the public tools), or the owner of a personal access token with its scope.

The caller comes from the one token path every door takes (:mod:`papertide.services.callers`). Over Streamable
HTTP the web layer reads each request's ``Authorization`` header, answers an unknown or revoked token 401 and hands
the caller to the server with the request (``web/routes/mcp.py``); over stdio it is the token ``papertide mcp``
was started with, and a bad one stops the command. A read token reads as its owner; writes need a write token and
count against the owner's write limit, the same ``write:<user id>`` budget the API spends
(:func:`papertide.services.ratelimit.spend`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.services.accounts import Identity
from papertide.services.callers import TOKEN_ADVICE, UNKNOWN_TOKEN, TokenCaller, caller_of_token
from papertide.services.ratelimit import RateLimited, spend
from papertide.services.tokens import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    user: Identity | None
    scope: Scope | None  # "read" or "write" for a token's owner, None for nobody

    def reader(self, tool: str) -> Identity:
        """The token's owner, for a tool that reads their own things."""
        if self.user is None:
            raise ToolError(f"{tool} reads your own papertide account: it needs a read or write token. {TOKEN_ADVICE}")
        return self.user

    def writer(self, tool: str) -> Identity:
        """The token's owner, for a tool that changes things: a read token is refused."""
        if self.user is None or self.scope != "write":
            held = "a read token, which cannot change anything" if self.user else "no token"
            raise ToolError(
                f"{tool} changes your account and needs a write token; this client has {held}. {TOKEN_ADVICE}"
            )
        return self.user


NOBODY = Caller(None, None)


def caller_of(found: TokenCaller | None) -> Caller:
    return Caller(found.user, found.scope) if found else NOBODY


def stdio_caller(database: Database, token: str | None) -> Caller:
    """The caller of ``papertide mcp``: nobody without a token; a bad token is a :class:`ToolError` saying so."""
    if not token:
        return NOBODY
    found = caller_of_token(database, token)
    if found is None:
        raise ToolError(UNKNOWN_TOKEN)
    return caller_of(found)


def count_write(session: Session, settings: Settings, user: Identity) -> None:
    """Spend one of the user's writes, inside the write's own transaction; over the limit is a tool error."""
    try:
        spend(session, settings, "write", user.id)
    except RateLimited as error:
        raise ToolError(str(error)) from error
