"""Reads of a paper's comments, in thread order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import (
    Comment,
    User,
)


@dataclass(frozen=True, slots=True)
class CommentRow:
    id: int
    parent_id: int | None
    author: str | None
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    deleted: bool


def query_comments(session: Session, paper_id: int, *, include_hidden: bool = False) -> list[CommentRow]:
    statement = (
        select(Comment, User.username)
        .outerjoin(User, User.id == Comment.user_id)
        .where(Comment.paper_id == paper_id)
        .order_by(Comment.created_at, Comment.id)
    )
    if not include_hidden:
        statement = statement.where(Comment.hidden.is_(False))
    return [
        CommentRow(c.id, c.parent_id, username, c.body, c.body_html, c.created_at, c.edited_at, c.hidden, c.deleted)
        for c, username in session.execute(statement)
    ]
