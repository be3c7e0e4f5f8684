"""Personal access tokens: created and revoked by their owner in Settings, shown once, stored as hashes.

A token reads as ``pt_<random>``; ``read`` tokens may call every GET endpoint as their owner, ``write`` tokens may
also change things (vote, comment, index a paper).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.models import ApiToken, User, utcnow
from papertide.services.accounts import Identity, identity

Scope = Literal["read", "write"]
PREFIX = "pt_"


class TokenError(ValueError):
    """A bad token name or scope; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user_id: int, name: str, scope: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise TokenError("Give the token a name of 1 to 100 characters (what will use it?).")
    if scope not in ("read", "write"):
        raise TokenError("A token's scope is read or write.")
    token = PREFIX + secrets.token_urlsafe(30)
    session.add(ApiToken(user_id=user_id, name=name, scope=scope, token_hash=_digest(token)))
    return token


def revoke_api_token(session: Session, user_id: int, token_id: int) -> bool:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_api_tokens(session: Session, user_id: int) -> list[TokenRow]:
    rows = session.execute(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc())
    ).scalars()
    return [TokenRow(t.id, t.name, t.scope, t.created_at, t.last_used_at) for t in rows]


def authenticate_token(session: Session, token: str) -> tuple[Identity, Scope] | None:
    """The owner and scope of a live token, or None; the token's last use is recorded."""
    if not token.startswith(PREFIX):
        return None
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    api_token, user = found
    api_token.last_used_at = utcnow()
    return identity(user), "write" if api_token.scope == "write" else "read"
