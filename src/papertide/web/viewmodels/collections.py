"""A collection's page: its papers in their order, each with its note and who wrote it (an organization's
collection is kept by many), whether the viewer may change its papers (``editable``: the owner, or a member of the
owning organization) and the collection itself (``manages``: the owner, or an organization admin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from papertide.queries.collections import CollectionRow, can_edit, query_collection_entries, query_collections_index
from papertide.queries.lab import query_role
from papertide.queries.papers import query_votes_of
from papertide.services.accounts import Identity
from papertide.web.viewmodels.cards import card

VISIBILITY_LABELS = {"public": "public", "organization": "members only", "private": "private"}


def collection_page(session: Session, collection: CollectionRow, viewer: Identity | None) -> dict[str, Any]:
    entries = query_collection_entries(session, collection.id)
    viewer_id = viewer.id if viewer else None
    voted = query_votes_of(session, viewer_id, [entry.row.id for entry in entries])
    editable = can_edit(session, collection.id, viewer_id)
    return {
        "collection": collection,
        "path": collection.path,
        "visibility": VISIBILITY_LABELS[collection.visibility],
        "mine": editable,
        "manages": editable and _manages(session, collection, viewer_id),
        # (card, note, paper id, who wrote the note, who added the paper): the twin's items are these arrays.
        "items": [(card(e.row, voted), e.note, e.row.id, e.note_by, e.added_by) for e in entries],
    }


def _manages(session: Session, collection: CollectionRow, viewer_id: int | None) -> bool:
    if collection.organization_id is None:
        return True  # an editable personal collection is the viewer's own
    return query_role(session, collection.organization_id, viewer_id) == "admin"


def collections_page(session: Session, viewer: Identity | None) -> dict[str, Any]:
    mine, public = query_collections_index(session, viewer.id if viewer else None)
    return {"mine": mine, "public": public, "signed_in": viewer is not None}
