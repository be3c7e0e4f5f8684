"""Tokens a user holds, in one table with a scope each: ``feed`` (the private personal feed URL), ``read`` and
``write`` (personal access tokens for the API), ``address`` (the secret of a mailed address-change link, spent
when the link is used). Shown once, stored as SHA-256 hashes, revoked by their owner.

API tokens read as ``pt_<random>``; a ``read`` token may call every GET endpoint as its owner, a ``write`` token
may also change things (vote, comment, index a paper) but never manage the account (tokens, profile, password:
those need the signed-in browser). API tokens end with a password change or reset as well.

A user has at most one live feed token: a new one revokes the old. A feed token does not expire: a feed reader
cannot be handed a new URL, and the token opens nothing but that one read-only feed; it ends when its owner
revokes or replaces it, or the account is deactivated (docs/deployment.md, Security). An address link works
once: using one spends every live address link of the account, so an older link cannot put back an address a
newer one replaced.

Authenticating is a read; the token's ``last_used_at`` is stamped at most once per :data:`USE_STAMP_INTERVAL`
(a separate, rare write) so that an API client's GETs do not each open a write transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from papertide.models import AccessToken, User, utcnow
from papertide.services.accounts import Identity, identity

Scope = Literal["feed", "read", "write", "address"]
API_SCOPES: tuple[Scope, ...] = ("read", "write")
PREFIX = "pt_"
FEED_TOKEN_NAME = "personal feed"
USE_STAMP_INTERVAL = timedelta(hours=1)


class TokenError(ValueError):
    """A bad token name or scope; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenUse:
    """Who a presented API token belongs to, with what scope; ``stamp_due`` when its last use should be written."""

    user: Identity
    scope: Scope
    token_id: int
    stamp_due: bool


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user_id: int, name: str, scope: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise TokenError("Give the token a name of 1 to 100 characters (what will use it?).")
    if scope not in API_SCOPES:
        raise TokenError("A token's scope is read or write.")
    return _issue(session, user_id, name, scope)


def create_feed_token(session: Session, user_id: int) -> str:
    """A new token for the user's personal feed (shown once); any earlier one stops working."""
    revoke_feed_tokens(session, user_id)
    return _issue(session, user_id, FEED_TOKEN_NAME, "feed")


def _issue(session: Session, user_id: int, name: str, scope: Scope) -> str:
    token = PREFIX + secrets.token_urlsafe(30)
    session.add(AccessToken(user_id=user_id, name=name, scope=scope, token_hash=token_digest(token)))
    return token


def revoke_api_token(session: Session, user_id: int, token_id: int) -> bool:
    result = session.execute(
        update(AccessToken)
        .where(
            AccessToken.id == token_id,
            AccessToken.user_id == user_id,
            AccessToken.scope.in_(API_SCOPES),
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_api_tokens(session: Session, user_id: int) -> None:
    """Every read and write token of the account (a password reset: whoever had the account may have made one)."""
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.scope.in_(API_SCOPES), AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_feed_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.scope == "feed", AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def issue_address_link(session: Session, user_id: int, *, dead_before: datetime) -> str:
    """The secret of a new address-change link of the account (its row is spent when used); rows of its links
    spent or made before ``dead_before`` (expired) are dropped, so the table keeps no trail of them."""
    session.execute(
        delete(AccessToken).where(
            AccessToken.user_id == user_id,
            AccessToken.scope == "address",
            or_(AccessToken.revoked_at.is_not(None), AccessToken.created_at < dead_before),
        )
    )
    return _issue(session, user_id, "address link", "address")


def spend_address_link(session: Session, user_id: int, secret: str) -> bool:
    """Whether ``secret`` names a live address link of the account; it and every other live one are spent. Two
    requests with one link: the second finds it spent (PostgreSQL re-reads the row the first updated)."""
    spent = session.execute(
        update(AccessToken)
        .where(
            AccessToken.token_hash == token_digest(secret),
            AccessToken.user_id == user_id,
            AccessToken.scope == "address",
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.scope == "address", AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return True


def list_api_tokens(session: Session, user_id: int) -> list[TokenRow]:
    rows = session.execute(
        select(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.scope.in_(API_SCOPES), AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.created_at.desc())
    ).scalars()
    return [TokenRow(t.id, t.name, t.scope, t.created_at, t.last_used_at) for t in rows]


def has_feed_token(session: Session, user_id: int) -> bool:
    return _live(session, user_id, "feed") is not None


def _live(session: Session, user_id: int, scope: Scope) -> int | None:
    return session.execute(
        select(AccessToken.id).where(
            AccessToken.user_id == user_id, AccessToken.scope == scope, AccessToken.revoked_at.is_(None)
        )
    ).scalar()


def user_for_feed_token(session: Session, token: str) -> int | None:
    """The owner of a live feed token (feed URLs made before migration 0010 have no prefix and still work)."""
    return session.execute(
        select(AccessToken.user_id)
        .join(User, User.id == AccessToken.user_id)
        .where(
            AccessToken.token_hash == token_digest(token),
            AccessToken.scope == "feed",
            AccessToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).scalar()


def authenticate_token(session: Session, token: str) -> TokenUse | None:
    """The owner and scope of a live API token, or None (a feed token is no API token). Reads only."""
    if not token.startswith(PREFIX):
        return None
    found = session.execute(
        select(AccessToken, User)
        .join(User, User.id == AccessToken.user_id)
        .where(
            AccessToken.token_hash == token_digest(token),
            AccessToken.scope.in_(API_SCOPES),
            AccessToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).first()
    if found is None:
        return None
    access, user = found
    stale = access.last_used_at is None or access.last_used_at < utcnow() - USE_STAMP_INTERVAL
    scope: Scope = "write" if access.scope == "write" else "read"
    return TokenUse(identity(user), scope, access.id, stale)


def stamp_token_use(session: Session, token_id: int) -> None:
    session.execute(update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=utcnow()))
