"""Collections: named, ordered lists of papers with a note per item, kept by one user or by an organization's
members. A user's are public or private; an organization's are public, organization-only (its members) or private
(its admins), see ``queries/collections.visible_to``.

``owner_id`` names who acts: a personal collection's owner, or for an organization's collection a member who may
see it (members add, annotate, reorder and remove; admins rename, change the visibility and delete). Anyone else
is told the collection does not exist or is not theirs (:class:`CollectionNotFound`), so nothing says whether a
collection they cannot see exists. Each item records who added it and who wrote its note.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.errors import Invalid, NotFound
from papertide.models import VISIBILITIES, Collection, CollectionItem, utcnow
from papertide.queries.collections import can_edit
from papertide.queries.lab import query_role
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
    """A collection of ``owner_id``'s own, public or private."""
    return _new(session, title, description, "public" if is_public else "private", owner_id=owner_id)


def create_organization_collection(
    session: Session, *, organization_id: int, member_id: int, title: str, description: str | None, visibility: str
) -> Collection:
    """A collection of the organization, made by one of its members."""
    if query_role(session, organization_id, member_id) is None:
        raise CollectionNotFound("Only the organization's members can make its collections.")
    return _new(session, title, description, visibility, organization_id=organization_id)


def _new(
    session: Session,
    title: str,
    description: str | None,
    visibility: str,
    *,
    owner_id: int | None = None,
    organization_id: int | None = None,
) -> Collection:
    title = _title(title)
    _check_visibility(visibility, organization=organization_id is not None)
    owned = Collection.owner_id == owner_id if owner_id is not None else Collection.organization_id == organization_id
    base = slugify(title)
    slug, suffix = base, 2
    while session.execute(select(Collection.id).where(owned, Collection.slug == slug)).first():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    now = utcnow()
    collection = Collection(
        owner_id=owner_id,
        organization_id=organization_id,
        slug=slug,
        title=title,
        description=_description(description),
        visibility=visibility,
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    session.flush()
    return collection


def update_collection(
    session: Session, *, collection_id: int, owner_id: int, title: str, description: str | None, visibility: str
) -> Collection:
    collection = _managed(session, collection_id, owner_id)
    _check_visibility(visibility, organization=collection.organization_id is not None)
    collection.title = _title(title)
    collection.description = _description(description)
    collection.visibility = visibility
    collection.updated_at = utcnow()
    return collection


def delete_collection(session: Session, *, collection_id: int, owner_id: int) -> None:
    session.delete(_managed(session, collection_id, owner_id))


def add_to_collection(
    session: Session, *, collection_id: int, owner_id: int, paper_id: int, note: str | None = None
) -> bool:
    """Append the paper (with a note); False, changing nothing, when the collection holds it already."""
    collection = _editable(session, collection_id, owner_id)
    note = _note(note)
    added = insert_ignoring_conflicts(
        session,
        CollectionItem,
        {
            "collection_id": collection_id,
            "paper_id": paper_id,
            "note": note,
            "note_by_id": owner_id if note else None,
            "position": _last_position(session, collection_id) + 1,
            "added_at": utcnow(),
            "added_by_id": owner_id,
        },
    )
    collection.updated_at = utcnow()
    return added


def add_many_to_collection(session: Session, *, collection_id: int, owner_id: int, paper_ids: list[int]) -> int:
    """Append ``paper_ids`` (in order) to the collection, skipping those it holds: a library import's one write.
    Returns how many were added."""
    collection = _editable(session, collection_id, owner_id)
    held = set(
        session.execute(select(CollectionItem.paper_id).where(CollectionItem.collection_id == collection_id)).scalars()
    )
    position = _last_position(session, collection_id)
    new = [paper_id for paper_id in dict.fromkeys(paper_ids) if paper_id not in held]
    now = utcnow()
    rows = [
        {
            "collection_id": collection_id,
            "paper_id": paper_id,
            "note": None,
            "position": position + offset,
            "added_at": now,
            "added_by_id": owner_id,
        }
        for offset, paper_id in enumerate(new, start=1)
    ]
    if rows:
        session.execute(insert(CollectionItem), rows)
        collection.updated_at = now
    return len(rows)


def set_item_note(session: Session, *, collection_id: int, owner_id: int, paper_id: int, note: str | None) -> None:
    """Write (or with an empty note, remove) the item's note, signed by ``owner_id``."""
    _editable(session, collection_id, owner_id).updated_at = utcnow()
    item = _item(session, collection_id, paper_id)
    item.note = _note(note)
    item.note_by_id = owner_id if item.note else None


def move_item(session: Session, *, collection_id: int, owner_id: int, paper_id: int, position: int) -> None:
    """Put the paper at ``position`` (0 is first; past the end is last), the others keeping their order."""
    _editable(session, collection_id, owner_id).updated_at = utcnow()
    _item(session, collection_id, paper_id)
    order = list(
        session.execute(
            select(CollectionItem.paper_id)
            .where(CollectionItem.collection_id == collection_id)
            .order_by(CollectionItem.position, CollectionItem.added_at)
        ).scalars()
    )
    order.remove(paper_id)
    order.insert(max(0, min(position, len(order))), paper_id)
    for index, each in enumerate(order, start=1):
        session.execute(
            update(CollectionItem)
            .where(CollectionItem.collection_id == collection_id, CollectionItem.paper_id == each)
            .values(position=index)
        )


def remove_from_collection(session: Session, *, collection_id: int, owner_id: int, paper_id: int) -> None:
    _editable(session, collection_id, owner_id).updated_at = utcnow()
    session.execute(
        delete(CollectionItem).where(CollectionItem.collection_id == collection_id, CollectionItem.paper_id == paper_id)
    )


def _editable(session: Session, collection_id: int, user_id: int) -> Collection:
    """The collection, when ``user_id`` may change its papers: its owner, or a member of its organization who may
    see it."""
    collection = session.get(Collection, collection_id)
    if collection is None or not can_edit(session, collection_id, user_id):
        raise CollectionNotFound("That collection does not exist or is not yours.")
    return collection


def _managed(session: Session, collection_id: int, user_id: int) -> Collection:
    """The collection, when ``user_id`` may change the collection itself: its owner, or an admin of its
    organization."""
    collection = _editable(session, collection_id, user_id)
    if collection.organization_id is not None and query_role(session, collection.organization_id, user_id) != "admin":
        raise CollectionNotFound("Only the organization's admins can rename, change or delete its collections.")
    return collection


def _item(session: Session, collection_id: int, paper_id: int) -> CollectionItem:
    item = session.get(CollectionItem, (collection_id, paper_id))
    if item is None:
        raise CollectionNotFound("That paper is not in the collection.")
    return item


def _last_position(session: Session, collection_id: int) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.max(CollectionItem.position), 0)).where(
                CollectionItem.collection_id == collection_id
            )
        ).scalar_one()
    )


def _check_visibility(visibility: str, *, organization: bool) -> None:
    if visibility not in VISIBILITIES:
        raise CollectionError("A collection is public, organization-only or private.")
    if visibility == "organization" and not organization:
        raise CollectionError("Only an organization's collection can be organization-only; yours is public or private.")


def _title(title: str) -> str:
    title = xml_safe(title).strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise CollectionError(f"A collection title is 1 to {MAX_TITLE} characters.")
    return title


def _description(description: str | None) -> str | None:
    return xml_safe(description or "").strip()[:MAX_NOTE] or None


def _note(note: str | None) -> str | None:
    note = xml_safe(note or "").strip()
    if len(note) > MAX_NOTE:
        raise CollectionError(f"A note is at most {MAX_NOTE:,} characters.")
    return note or None
