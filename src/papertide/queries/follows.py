"""Reads of what an account follows (authors, topics, saved searches), and the newest papers of followed topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import Follow, Paper, TopicPaper
from papertide.queries.papers import PaperRow, paper_rows, to_row


@dataclass(frozen=True, slots=True)
class FollowRow:
    kind: str  # "author", "topic" or "search"
    key: str
    label: str


def query_follows(session: Session, user_id: int, kind: str | None = None) -> list[FollowRow]:
    statement = select(Follow.kind, Follow.key, Follow.label).where(Follow.user_id == user_id)
    if kind:
        statement = statement.where(Follow.kind == kind)
    return [FollowRow(*row) for row in session.execute(statement.order_by(Follow.kind, Follow.label))]


def query_is_following(session: Session, user_id: int | None, kind: str, key: str) -> bool:
    """Whether the reader (None: signed out) follows this author key, topic slug or saved search."""
    if user_id is None:
        return False
    mine = (Follow.user_id == user_id, Follow.kind == kind, Follow.key == key)
    return session.execute(select(Follow.id).where(*mine)).first() is not None


def query_newest_in_topics(
    session: Session, topic_ids: list[int], limit: int, between: tuple[date, date] | None = None
) -> list[PaperRow]:
    """The newest papers (by their effective date, docs/ranking.md; within ``between`` if given) that the newest
    atlas build placed in any of these topics."""
    if not topic_ids:
        return []
    statement = paper_rows().join(TopicPaper, TopicPaper.paper_id == Paper.id).where(TopicPaper.topic_id.in_(topic_ids))
    if between is not None:
        statement = statement.where(Paper.published_on.between(*between))
    statement = statement.order_by(Paper.published_on.desc(), Paper.id.desc()).limit(limit)
    return [to_row(result) for result in session.execute(statement)]
