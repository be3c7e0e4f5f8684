"""A collection's page: its papers in the owner's order, with the owner's notes, and whether the viewer owns it
(and so may edit it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from papertide.queries.collections import CollectionRow, query_collection_items, query_collections_index
from papertide.queries.papers import query_votes_of
from papertide.services.accounts import Identity
from papertide.web.viewmodels.cards import card


def collection_page(session: Session, collection: CollectionRow, viewer: Identity | None) -> dict[str, Any]:
    items = query_collection_items(session, collection.id)
    voted = query_votes_of(session, viewer.id if viewer else None, [row.id for row, _ in items])
    return {
        "collection": collection,
        "mine": viewer is not None and collection.owner == viewer.username,
        "items": [(card(row, voted), note, row.id) for row, note in items],
    }


def collections_page(session: Session, viewer: Identity | None) -> dict[str, Any]:
    mine, public = query_collections_index(session, viewer.id if viewer else None)
    return {"mine": mine, "public": public, "signed_in": viewer is not None}
