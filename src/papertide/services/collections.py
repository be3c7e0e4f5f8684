"""Collections: a user's named, ordered lists of papers with a note per item, public or private."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.errors import Invalid, NotFound
from papertide.models import Collection, CollectionItem, utcnow
from papertide.text import xml_safe

MAX_TITLE = 120
MAX_NOTE = 2_000


class CollectionError(Invalid):
    """The collection change cannot be made; the message says why."""


class CollectionNotFound(CollectionError, NotFound):
    """The collection does not exist, or is not the asker's to change."""


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80]
    return slug or "collection"


def create_collection(
    session: Session, *, owner_id: int, title: str, description: str | None = None, is_public: bool = True
) -> Collection:
    title = xml_safe(title).strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise CollectionError(f"A collection title is 1 to {MAX_TITLE} characters.")
    base = slugify(title)
    slug, suffix = base, 2
    while session.execute(
        select(Collection.id).where(Collection.owner_id == owner_id, Collection.slug == slug)
    ).first():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    now = utcnow()
    collection = Collection(
        owner_id=owner_id,
        slug=slug,
        title=title,
        description=xml_safe(description or "").strip()[:MAX_NOTE] or None,
        is_public=is_public,
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    session.flush()
    return collection


def update_collection(
    session: Session, *, collection_id: int, owner_id: int, title: str, description: str | None, is_public: bool
) -> Collection:
    collection = _owned(session, collection_id, owner_id)
    title = xml_safe(title).strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise CollectionError(f"A collection title is 1 to {MAX_TITLE} characters.")
    collection.title = title
    collection.description = xml_safe(description or "").strip()[:MAX_NOTE] or None
    collection.is_public = is_public
    collection.updated_at = utcnow()
    return collection


def delete_collection(session: Session, *, collection_id: int, owner_id: int) -> None:
    session.delete(_owned(session, collection_id, owner_id))


def add_to_collection(
    session: Session, *, collection_id: int, owner_id: int, paper_id: int, note: str | None = None
) -> None:
    collection = _owned(session, collection_id, owner_id)
    position = session.execute(
        select(func.coalesce(func.max(CollectionItem.position), 0)).where(CollectionItem.collection_id == collection_id)
    ).scalar_one()
    insert_ignoring_conflicts(
        session,
        CollectionItem,
        {
            "collection_id": collection_id,
            "paper_id": paper_id,
            "note": _note(note),
            "position": position + 1,
            "added_at": utcnow(),
        },
    )
    collection.updated_at = utcnow()


def add_many_to_collection(session: Session, *, collection_id: int, owner_id: int, paper_ids: list[int]) -> int:
    """Append ``paper_ids`` (in order) to the collection, skipping those it holds: a library import's one write.
    Returns how many were added."""
    collection = _owned(session, collection_id, owner_id)
    held = set(
        session.execute(select(CollectionItem.paper_id).where(CollectionItem.collection_id == collection_id)).scalars()
    )
    position = session.execute(
        select(func.coalesce(func.max(CollectionItem.position), 0)).where(CollectionItem.collection_id == collection_id)
    ).scalar_one()
    new = [paper_id for paper_id in dict.fromkeys(paper_ids) if paper_id not in held]
    now = utcnow()
    rows = [
        {
            "collection_id": collection_id,
            "paper_id": paper_id,
            "note": None,
            "position": position + offset,
            "added_at": now,
        }
        for offset, paper_id in enumerate(new, start=1)
    ]
    if rows:
        session.execute(insert(CollectionItem), rows)
        collection.updated_at = now
    return len(rows)


def set_item_note(session: Session, *, collection_id: int, owner_id: int, paper_id: int, note: str | None) -> None:
    _owned(session, collection_id, owner_id)
    item = session.get(CollectionItem, (collection_id, paper_id))
    if item is None:
        raise CollectionError("That paper is not in the collection.")
    item.note = _note(note)


def remove_from_collection(session: Session, *, collection_id: int, owner_id: int, paper_id: int) -> None:
    _owned(session, collection_id, owner_id).updated_at = utcnow()
    session.execute(
        delete(CollectionItem).where(CollectionItem.collection_id == collection_id, CollectionItem.paper_id == paper_id)
    )


def _owned(session: Session, collection_id: int, owner_id: int) -> Collection:
    collection = session.get(Collection, collection_id)
    if collection is None or collection.owner_id != owner_id:
        raise CollectionNotFound("That collection does not exist or is not yours.")
    return collection


def _note(note: str | None) -> str | None:
    note = xml_safe(note or "").strip()
    if len(note) > MAX_NOTE:
        raise CollectionError(f"A note is at most {MAX_NOTE:,} characters.")
    return note or None
