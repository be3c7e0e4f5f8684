"""Following: a user follows an author (by name key) or saves a search, and stops. The web's follow buttons, the
search page's "follow this search" and the API call these; what a follow does is read elsewhere: the personal
feed, the digest of a subscription linked to the account (``services/digests.py``) and the OPML list.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.models import Follow
from papertide.people import author_key
from papertide.queries.follows import query_follows
from papertide.queries.papers import PaperRow
from papertide.queries.people import query_author_papers
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.query import parse_query
from papertide.services.alerts import InvalidSearch, saved_search_text
from papertide.text import xml_safe

FollowKind = Literal["author", "search"]
MAX_FOLLOWS = 50  # each followed search runs again on every personal-feed fetch


class FollowError(ValueError):
    """Nothing to follow, or too much; the message says what to do."""


def follow(session: Session, user_id: int, kind: FollowKind, value: str) -> str:
    """Follow an author (``value`` a name or key) or a search; following twice is one follow. Returns the key."""
    key, label = _key_and_label(kind, value)
    mine = Follow.user_id == user_id
    if session.execute(select(Follow.id).where(mine, Follow.kind == kind, Follow.key == key)).first():
        return key
    if session.execute(select(func.count()).where(mine)).scalar_one() >= MAX_FOLLOWS:
        raise FollowError(f"You follow {MAX_FOLLOWS} authors and searches already; unfollow some first.")
    insert_ignoring_conflicts(session, Follow, {"user_id": user_id, "kind": kind, "key": key, "label": label})
    return key


def unfollow(session: Session, user_id: int, kind: FollowKind, value: str) -> None:
    key = author_key(value) if kind == "author" else " ".join(value.split())
    session.execute(delete(Follow).where(Follow.user_id == user_id, Follow.kind == kind, Follow.key == key))


def _key_and_label(kind: FollowKind, value: str) -> tuple[str, str]:
    if kind == "search":
        try:
            query = saved_search_text(value)
        except InvalidSearch as error:
            raise FollowError(str(error)) from None
        return query, query
    key = author_key(value)
    if not key:
        raise FollowError("That author name has no letters or digits to follow.")
    return key, xml_safe(" ".join(value.split()))[:300] or key


def followed_papers(session: Session, engine: SearchEngine, user_id: int, limit: int) -> list[PaperRow]:
    """The newest papers of the authors and searches a user follows (searches keyword-only), newest first: what
    their personal feed adds to the picks."""
    rows: dict[int, PaperRow] = {}
    for followed in query_follows(session, user_id):
        if followed.kind == "author":
            found = query_author_papers(session, followed.key, limit=limit)
        else:
            options = SearchOptions(sort="date", limit=limit, semantic=False)
            found = engine.search(session, parse_query(followed.key), options).rows
        rows.update((row.id, row) for row in found)
    return sorted(rows.values(), key=_newest, reverse=True)[:limit]


def _newest(row: PaperRow) -> tuple[date, str]:
    return row.published_on or date.min, row.arxiv_id
