"""Reads of collections: a paper's, a user's, the viewer's own, one collection and its items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from papertide.models import (
    Collection,
    CollectionItem,
    Paper,
    User,
)
from papertide.queries.papers import PaperRow, paper_rows, to_row


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    owner: str
    slug: str
    title: str
    description: str | None
    is_public: bool
    size: int
    updated_at: datetime


def _collection_rows() -> Select[Any]:
    counted = aliased(CollectionItem)
    size = (
        select(func.count())
        .select_from(counted)
        .where(counted.collection_id == Collection.id)
        .correlate(Collection)
        .scalar_subquery()
    )
    return select(Collection, User.username, size).join(User, User.id == Collection.owner_id)


def _collection(result: Any) -> CollectionRow:
    c = result[0]
    return CollectionRow(c.id, result[1], c.slug, c.title, c.description, c.is_public, result[2], c.updated_at)


def query_collections_with(session: Session, paper_id: int, viewer_id: int | None) -> list[CollectionRow]:
    visible = or_(Collection.is_public.is_(True), Collection.owner_id == (viewer_id or -1))
    statement = (
        _collection_rows()
        .join(CollectionItem, CollectionItem.collection_id == Collection.id)
        .where(CollectionItem.paper_id == paper_id, visible)
        .order_by(Collection.updated_at.desc())
        .limit(20)
    )
    return [_collection(r) for r in session.execute(statement)]


def query_own_collections(session: Session, owner_id: int | None) -> list[tuple[int, str]]:
    """(id, title) of the viewer's collections, for the "add to collection" menu; none for a visitor."""
    if owner_id is None:
        return []
    rows = session.execute(
        select(Collection.id, Collection.title).where(Collection.owner_id == owner_id).order_by(Collection.title)
    )
    return [(ident, title) for ident, title in rows]


def query_collections_of(session: Session, username: str, viewer_id: int | None) -> list[CollectionRow]:
    statement = (
        _collection_rows()
        .where(User.username == username, or_(Collection.is_public.is_(True), Collection.owner_id == (viewer_id or -1)))
        .order_by(Collection.updated_at.desc())
    )
    return [_collection(r) for r in session.execute(statement)]


def query_collection(session: Session, username: str, slug: str) -> CollectionRow | None:
    result = session.execute(_collection_rows().where(User.username == username, Collection.slug == slug)).first()
    return _collection(result) if result else None


def query_collection_items(session: Session, collection_id: int) -> list[tuple[PaperRow, str | None]]:
    statement = (
        paper_rows()
        .add_columns(CollectionItem.note)
        .join(CollectionItem, and_(CollectionItem.paper_id == Paper.id, CollectionItem.collection_id == collection_id))
        .order_by(CollectionItem.position)
    )
    return [(to_row(r), r[-1]) for r in session.execute(statement)]


def query_collections_index(
    session: Session, viewer_id: int | None, limit: int = 100
) -> tuple[list[CollectionRow], list[CollectionRow]]:
    """The /collections page: the viewer's own (none for a visitor), then other people's public ones with at least
    one paper, the most recently changed first."""
    newest = (Collection.updated_at.desc(), Collection.id.desc())
    mine: list[CollectionRow] = []
    if viewer_id is not None:
        own = _collection_rows().where(Collection.owner_id == viewer_id).order_by(*newest)
        mine = [_collection(r) for r in session.execute(own)]
    others = (
        _collection_rows()
        .where(Collection.is_public.is_(True), Collection.owner_id != (viewer_id or -1))
        .where(select(CollectionItem.paper_id).where(CollectionItem.collection_id == Collection.id).exists())
        .order_by(*newest)
        .limit(limit)
    )
    return mine, [_collection(r) for r in session.execute(others)]
