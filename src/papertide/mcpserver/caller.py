"""Who is calling an MCP tool: nobody (the public tools), or the owner of a personal access token with its scope.

Over Streamable HTTP the token comes with every request (``Authorization: Bearer pt_…``), so a call is
authenticated on its own, as an API request is; over stdio it is the one ``papertide mcp`` was started with. A
token that is unknown or revoked never silently falls back to the public tools: ``/mcp`` answers it 401
(``endpoint.py``), ``papertide mcp`` stops, and one revoked between the two checks fails the call with a message.
A read token reads as its owner; writes need a write token and count against the owner's write limit, the same
``write:<user id>`` budget the API spends (:mod:`papertide.services.ratelimit`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.mcpserver.bearer import TOKEN_ADVICE, UNKNOWN_TOKEN
from papertide.services.accounts import Identity
from papertide.services.ratelimit import RateLimited, enforce
from papertide.services.tokens import Scope, authenticate_token, stamp_token_use

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


def authenticate(database: Database, token: str | None) -> Caller:
    """The caller a token names; no token is nobody; a bad token is a :class:`ToolError` saying so."""
    if not token:
        return NOBODY
    with database.read_session() as session:
        use = authenticate_token(session, token)
    if use is None:
        raise ToolError(UNKNOWN_TOKEN)
    if use.stamp_due:  # at most hourly, as for the API, so an agent's reads stay reads
        try:
            with database.write_session() as session:
                stamp_token_use(session, use.token_id)
        except DBAPIError as error:  # a read-only or busy database still serves reads
            log.warning("token %s: last use not recorded (%s)", use.token_id, error.orig)
    return Caller(use.user, use.scope)


def count_write(session: Session, settings: Settings, user: Identity) -> None:
    """Spend one of the user's writes, inside the write's own transaction; over the limit is a tool error."""
    try:
        enforce(session, f"write:{user.id}", limit=settings.rate_limit_writes_per_minute)
    except RateLimited as error:
        raise ToolError(str(error)) from error
