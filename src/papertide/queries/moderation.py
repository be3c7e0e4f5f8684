"""Reads for the moderation desk (issue 33): accounts by name or address, hidden papers and comments with who hid
them and when (from the moderation log), and the log itself, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, SQLColumnExpression, String, cast, func, or_, select
from sqlalchemy.orm import Session, aliased

from papertide.models import Comment, ModerationAction, Paper, User, UserSession

DESK_LIMIT = 50


@dataclass(frozen=True, slots=True)
class AccountRow:
    username: str
    email: str | None
    is_admin: bool
    is_active: bool
    created_at: datetime
    sessions: int  # live sessions, which "end sessions" ends


@dataclass(frozen=True, slots=True)
class Hidden:
    """A hidden paper (``target`` its arXiv id) or comment (``target`` its id), with who hid it and when; ``by`` is
    None for one hidden before the log existed or by an account since deleted."""

    target: str
    label: str  # the paper's title, or the comment's first words
    paper: str  # the arXiv id of the paper it is on (itself for a paper)
    by: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class LoggedAction:
    at: datetime
    by: str | None
    action: str
    target: str


def query_accounts(session: Session, text: str = "", limit: int = DESK_LIMIT) -> list[AccountRow]:
    """Accounts whose username or address contains ``text`` (all when blank), administrators and the newest first."""
    live = (
        select(func.count())
        .where(UserSession.user_id == User.id, UserSession.ended_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    statement = select(User.username, User.email, User.is_admin, User.is_active, User.created_at, live)
    needle = text.strip().lower()
    if needle:
        # autoescape: a typed "_" or "%" is a character of the name, not one of LIKE's wildcards
        named = func.lower(User.username).contains(needle, autoescape=True)
        statement = statement.where(or_(named, func.lower(User.email).contains(needle, autoescape=True)))
    newest_first = (User.is_admin.desc(), User.created_at.desc(), User.id.desc())
    rows = session.execute(statement.order_by(*newest_first).limit(limit))
    return [AccountRow(*row) for row in rows]


def _newest(action: str, target: SQLColumnExpression[str]) -> ScalarSelect[int]:
    """The id of the newest log entry that did ``action`` to ``target``: hidden, unhidden and hidden again shows
    the last."""
    return (
        select(func.max(ModerationAction.id))
        .where(ModerationAction.action == action, ModerationAction.target == target)
        .scalar_subquery()
    )


def query_hidden_papers(session: Session, limit: int = DESK_LIMIT) -> list[Hidden]:
    entry, actor = aliased(ModerationAction), aliased(User)
    rows = session.execute(
        select(Paper.arxiv_id, Paper.title, actor.username, entry.created_at)
        .select_from(Paper)
        .outerjoin(entry, entry.id == _newest("hide_paper", Paper.arxiv_id))
        .outerjoin(actor, actor.id == entry.actor_id)
        .where(Paper.hidden.is_(True))
        .order_by(entry.created_at.desc(), Paper.id.desc())
        .limit(limit)
    )
    return [Hidden(arxiv_id, title, arxiv_id, who, at) for arxiv_id, title, who, at in rows]


def query_hidden_comments(session: Session, limit: int = DESK_LIMIT) -> list[Hidden]:
    entry, actor = aliased(ModerationAction), aliased(User)
    rows = session.execute(
        select(Comment.id, Comment.body, Paper.arxiv_id, actor.username, entry.created_at)
        .select_from(Comment)
        .join(Paper, Paper.id == Comment.paper_id)
        .outerjoin(entry, entry.id == _newest("hide_comment", cast(Comment.id, String)))
        .outerjoin(actor, actor.id == entry.actor_id)
        .where(Comment.hidden.is_(True), Comment.deleted.is_(False))
        .order_by(entry.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    return [Hidden(str(comment), _first_words(body), arxiv_id, who, at) for comment, body, arxiv_id, who, at in rows]


def _first_words(body: str, length: int = 140) -> str:
    return body if len(body) <= length else body[: length - 1].rsplit(" ", 1)[0] + "…"


def query_moderation_log(session: Session, limit: int = DESK_LIMIT) -> list[LoggedAction]:
    rows = session.execute(
        select(ModerationAction.created_at, User.username, ModerationAction.action, ModerationAction.target)
        .outerjoin(User, User.id == ModerationAction.actor_id)
        .order_by(ModerationAction.id.desc())
        .limit(limit)
    )
    return [LoggedAction(*row) for row in rows]
