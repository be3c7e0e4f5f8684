"""Private feed tokens: a user's personal feed URL carries a random token; only its hash is stored, a new one
revokes the old, and revoking leaves the user with none."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.models import FeedToken, utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed_token(session: Session, user_id: int) -> str:
    """A new token for the user's personal feed (shown once); any earlier one stops working."""
    revoke_feed_tokens(session, user_id)
    token = secrets.token_urlsafe(24)
    session.add(FeedToken(user_id=user_id, token_hash=_digest(token)))
    return token


def revoke_feed_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(FeedToken)
        .where(FeedToken.user_id == user_id, FeedToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def has_feed_token(session: Session, user_id: int) -> bool:
    found = session.execute(
        select(FeedToken.id).where(FeedToken.user_id == user_id, FeedToken.revoked_at.is_(None))
    ).first()
    return found is not None


def user_for_feed_token(session: Session, token: str) -> int | None:
    return session.execute(
        select(FeedToken.user_id).where(FeedToken.token_hash == _digest(token), FeedToken.revoked_at.is_(None))
    ).scalar()
