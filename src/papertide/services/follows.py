"""Following: a user follows an author (by name key), a topic of the atlas (by slug) or saves a search, and stops.
The web's follow buttons and the search page's "follow this search" call these; what a follow does is read
elsewhere: the personal feed (:func:`followed_papers`), the digest of a subscription linked to the account
(``services/digests.py``) and the OPML list.

A followed topic is followed through the atlas's rebuilds: while it is live its own papers, once it merged into
another topic that one's, once it split its children's (:func:`live_topics`); a topic that faded brings nothing,
and the reader is told so.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.errors import Invalid
from papertide.models import Follow
from papertide.people import author_key
from papertide.queries.follows import query_follows, query_is_following, query_newest_in_topics
from papertide.queries.papers import PaperRow
from papertide.queries.people import query_author_papers
from papertide.queries.topics import TopicRow, query_topic, query_topic_events
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.query import parse_query
from papertide.services.alerts import InvalidSearch, saved_search_text
from papertide.text import xml_safe

FollowKind = Literal["author", "search", "topic"]
MAX_FOLLOWS = 50  # each followed search runs again on every personal-feed fetch
# How far a followed topic is traced through merges and splits: one step a build, and builds are weekly.
MAX_TOPIC_STEPS = 52


class FollowError(Invalid):
    """Nothing to follow, or too much; the message says what to do (422, as every ``Invalid``)."""


def follow(session: Session, user_id: int, kind: FollowKind, value: str) -> str:
    """Follow an author (``value`` a name or key) or a search; following twice is one follow. Returns the key."""
    key, label = _key_and_label(session, kind, value)
    if query_is_following(session, user_id, kind, key):
        return key
    if session.execute(select(func.count()).where(Follow.user_id == user_id)).scalar_one() >= MAX_FOLLOWS:
        raise FollowError(f"You follow {MAX_FOLLOWS} authors, topics and searches already; unfollow some first.")
    insert_ignoring_conflicts(session, Follow, {"user_id": user_id, "kind": kind, "key": key, "label": label})
    return key


def unfollow(session: Session, user_id: int, kind: FollowKind, value: str) -> None:
    key = author_key(value) if kind == "author" else " ".join(value.split())  # a slug has no spaces to fold
    session.execute(delete(Follow).where(Follow.user_id == user_id, Follow.kind == kind, Follow.key == key))


def _key_and_label(session: Session, kind: FollowKind, value: str) -> tuple[str, str]:
    if kind == "search":
        try:
            query = saved_search_text(value)
        except InvalidSearch as error:
            raise FollowError(str(error)) from None
        return query, query
    if kind == "topic":
        topic = query_topic(session, value)
        if topic is None:
            raise FollowError(f"No topic called “{value[:80]}”: the atlas at /topics lists them all.")
        return topic.slug, topic.label
    key = author_key(value)
    if not key:
        raise FollowError("That author name has no letters or digits to follow.")
    return key, xml_safe(" ".join(value.split()))[:300] or key


def followed_papers(session: Session, engine: SearchEngine, user_id: int, limit: int) -> list[PaperRow]:
    """The newest papers of the authors, topics and searches a user follows (searches keyword-only), newest first:
    what their personal feed adds to the picks."""
    rows: dict[int, PaperRow] = {}
    for followed in query_follows(session, user_id):
        if followed.kind == "author":
            found = query_author_papers(session, followed.key, limit=limit)
        elif followed.kind == "topic":
            found = query_newest_in_topics(session, [t.id for t in live_topics(session, followed.key)], limit)
        else:
            options = SearchOptions(sort="date", limit=limit, semantic=False)
            found = engine.search(session, parse_query(followed.key), options).rows
        rows.update((row.id, row) for row in found)
    return sorted(rows.values(), key=_newest, reverse=True)[:limit]


def live_topics(session: Session, slug: str) -> list[TopicRow]:
    """The live topics a followed topic now lives on as: itself while live, else what its newest merge or split
    event names, traced through later builds; none once it faded (or was never built)."""
    found: list[TopicRow] = []
    seen: set[str] = set()
    todo = [slug]
    while todo and len(seen) < MAX_TOPIC_STEPS:
        topic = query_topic(session, todo.pop(0))
        if topic is None or topic.slug in seen:
            continue
        seen.add(topic.slug)
        if topic.status == "live":
            found.append(topic)
            continue
        # A merged topic's own "merged" event names the one it went into; a split one's "split" event its children.
        went = next((e for e in query_topic_events(session, topic.id) if e.kind == topic.status), None)
        todo.extend(went.others if went else [])
    return found


def _newest(row: PaperRow) -> tuple[date, str]:
    return row.published_on or date.min, row.arxiv_id
