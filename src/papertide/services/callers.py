"""Who calls with a personal access token: one path for every caller that brings one, the web's API requests and
MCP (over HTTP, where the web layer reads the ``Authorization`` header, and over stdio).

A token names its owner and its scope (read or write); a token that is unknown or revoked names nobody, and each
door says so in its own words (401 on the web and on ``/mcp``, a stopped ``papertide mcp``). Looking a token up
is a read that may write, on purpose: its ``last_used_at`` is stamped at most hourly (``services/tokens.py``), so an
API client's reads stay reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from papertide.db import Database
from papertide.services.accounts import Identity
from papertide.services.tokens import Scope, authenticate_token, stamp_token_use

log = logging.getLogger(__name__)
TOKEN_ADVICE = "Create a personal access token in Settings → API tokens and add it to your client's configuration."
UNKNOWN_TOKEN = f"That API token is unknown or revoked. {TOKEN_ADVICE}"
# Where a web door that read a token leaves its caller on the request (``request.state``) for what it hands on to.
REQUEST_CALLER = "token_caller"


@dataclass(frozen=True, slots=True)
class TokenCaller:
    """The owner of a live personal access token, and what the token may do."""

    user: Identity
    scope: Scope

    @property
    def writes(self) -> bool:
        return self.scope == "write"


def caller_of_token(database: Database, token: str) -> TokenCaller | None:
    """The caller ``token`` names, None when it is unknown or revoked; stamps its use at most hourly."""
    with database.read_session() as session:
        use = authenticate_token(session, token)
    if use is None:
        return None
    if use.stamp_due:
        try:
            with database.write_session() as session:
                stamp_token_use(session, use.token_id)
        except DBAPIError as error:  # a read-only or busy database still serves reads
            log.warning("token %s: last use not recorded (%s)", use.token_id, error.orig)
    return TokenCaller(use.user, use.scope)
