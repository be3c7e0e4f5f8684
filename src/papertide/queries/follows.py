"""Reads of what an account follows (authors, saved searches)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import (
    Follow,
)


@dataclass(frozen=True, slots=True)
class FollowRow:
    kind: str  # "author" or "search"
    key: str
    label: str


def query_follows(session: Session, user_id: int, kind: str | None = None) -> list[FollowRow]:
    statement = select(Follow.kind, Follow.key, Follow.label).where(Follow.user_id == user_id)
    if kind:
        statement = statement.where(Follow.kind == kind)
    return [FollowRow(*row) for row in session.execute(statement.order_by(Follow.kind, Follow.label))]
