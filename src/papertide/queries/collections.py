"""Reads of collections: a paper's, a user's, an organization's, the viewer's own, one collection and its items,
each filtered by who may see it (:func:`visible_to`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from papertide.models import (
    Collection,
    CollectionItem,
    Organization,
    OrganizationMember,
    Paper,
    User,
)
from papertide.queries.papers import PaperRow, paper_rows, to_row

OwnerKind = Literal["user", "org"]


@dataclass(frozen=True, slots=True)
class CollectionRow:
    id: int
    owner: str  # the user's or the organization's name: the collection's namespace
    owner_kind: OwnerKind
    slug: str
    title: str
    description: str | None
    visibility: str  # public, organization or private (models.VISIBILITIES)
    size: int
    updated_at: datetime
    organization_id: int | None = None

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    @property
    def path(self) -> str:
        """The collection's page, from which its exports (``.bib``, ``.ris``, ``.csl.json``) hang."""
        home = "users" if self.owner_kind == "user" else "orgs"
        return f"/{home}/{self.owner}/collections/{self.slug}"


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """Which collections ``viewer_id`` may see: public ones, their own, their organizations' organization-only
    ones and, where they are an admin, their organizations' private ones."""
    if viewer_id is None:
        return Collection.visibility == "public"
    memberships = select(OrganizationMember.organization_id).where(OrganizationMember.user_id == viewer_id)
    administered = memberships.where(OrganizationMember.role == "admin")
    return or_(
        Collection.visibility == "public",
        Collection.owner_id == viewer_id,
        and_(Collection.visibility == "organization", Collection.organization_id.in_(memberships)),
        and_(Collection.visibility == "private", Collection.organization_id.in_(administered)),
    )


def editable_by(user_id: int) -> ColumnElement[bool]:
    """Which collections ``user_id`` may add to, annotate and reorder: their own, and those of their
    organizations they can see."""
    memberships = select(OrganizationMember.organization_id).where(OrganizationMember.user_id == user_id)
    return or_(Collection.owner_id == user_id, and_(Collection.organization_id.in_(memberships), visible_to(user_id)))


def _collection_rows() -> Select[Any]:
    counted = aliased(CollectionItem)
    size = (
        select(func.count())
        .select_from(counted)
        .where(counted.collection_id == Collection.id)
        .correlate(Collection)
        .scalar_subquery()
    )
    return (
        select(Collection, User.username, Organization.name, size)
        .outerjoin(User, User.id == Collection.owner_id)
        .outerjoin(Organization, Organization.id == Collection.organization_id)
    )


def _collection(result: Any) -> CollectionRow:
    c = result[0]
    kind: OwnerKind = "user" if c.owner_id is not None else "org"
    owner = result[1] if kind == "user" else result[2]
    return CollectionRow(
        c.id, owner, kind, c.slug, c.title, c.description, c.visibility, result[3], c.updated_at, c.organization_id
    )


def query_collections_with(session: Session, paper_id: int, viewer_id: int | None) -> list[CollectionRow]:
    statement = (
        _collection_rows()
        .join(CollectionItem, CollectionItem.collection_id == Collection.id)
        .where(CollectionItem.paper_id == paper_id, visible_to(viewer_id))
        .order_by(Collection.updated_at.desc())
        .limit(20)
    )
    return [_collection(r) for r in session.execute(statement)]


def query_own_collections(session: Session, owner_id: int | None) -> list[tuple[int, str]]:
    """(id, title) of the collections the viewer may add to, their own first, then their organizations' (titled
    "org / title"), for the "add to collection" menu; none for a visitor."""
    if owner_id is None:
        return []
    rows = session.execute(
        select(Collection.id, Collection.title, Organization.name)
        .outerjoin(Organization, Organization.id == Collection.organization_id)
        .where(editable_by(owner_id))
        .order_by(Organization.name.is_not(None), Organization.name, Collection.title)
    )
    return [(ident, f"{org} / {title}" if org else title) for ident, title, org in rows]


def query_collections_of(session: Session, username: str, viewer_id: int | None) -> list[CollectionRow]:
    statement = (
        _collection_rows()
        .where(User.username == username, visible_to(viewer_id))
        .order_by(Collection.updated_at.desc())
    )
    return [_collection(r) for r in session.execute(statement)]


def query_organization_collections(
    session: Session, organization_id: int, viewer_id: int | None
) -> list[CollectionRow]:
    statement = (
        _collection_rows()
        .where(Collection.organization_id == organization_id, visible_to(viewer_id))
        .order_by(Collection.updated_at.desc())
    )
    return [_collection(r) for r in session.execute(statement)]


def query_collection(session: Session, username: str, slug: str) -> CollectionRow | None:
    """A user's collection by its slug, whoever may see it (the caller checks :func:`can_see`)."""
    result = session.execute(_collection_rows().where(User.username == username, Collection.slug == slug)).first()
    return _collection(result) if result else None


def query_organization_collection(session: Session, organization: str, slug: str) -> CollectionRow | None:
    """An organization's collection by its slug, whoever may see it (the caller checks :func:`can_see`)."""
    statement = _collection_rows().where(Organization.name == organization, Collection.slug == slug)
    result = session.execute(statement).first()
    return _collection(result) if result else None


def query_collection_by_id(session: Session, collection_id: int) -> CollectionRow | None:
    result = session.execute(_collection_rows().where(Collection.id == collection_id)).first()
    return _collection(result) if result else None


def can_see(session: Session, collection: CollectionRow, viewer_id: int | None) -> bool:
    """Whether ``viewer_id`` may see ``collection`` (:func:`visible_to`, for one collection)."""
    if collection.is_public:
        return True
    if viewer_id is None:
        return False
    seen = select(Collection.id).where(Collection.id == collection.id, visible_to(viewer_id))
    return session.execute(seen).first() is not None


def can_edit(session: Session, collection_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    found = select(Collection.id).where(Collection.id == collection_id, editable_by(user_id))
    return session.execute(found).first() is not None


@dataclass(frozen=True, slots=True)
class CollectionEntry:
    """A paper in a collection, with its note, who wrote the note and who added the paper (None: unknown)."""

    row: PaperRow
    note: str | None
    note_by: str | None
    added_by: str | None
    position: int
    added_at: datetime


def query_collection_entries(session: Session, collection_id: int) -> list[CollectionEntry]:
    note_author, adder = aliased(User), aliased(User)
    statement = (
        paper_rows()
        .add_columns(
            CollectionItem.note,
            note_author.username,
            adder.username,
            CollectionItem.position,
            CollectionItem.added_at,
        )
        .join(CollectionItem, and_(CollectionItem.paper_id == Paper.id, CollectionItem.collection_id == collection_id))
        .outerjoin(note_author, note_author.id == CollectionItem.note_by_id)
        .outerjoin(adder, adder.id == CollectionItem.added_by_id)
        .order_by(CollectionItem.position, CollectionItem.added_at)
    )
    return [CollectionEntry(to_row(r), *r[-5:]) for r in session.execute(statement)]


def query_collection_items(session: Session, collection_id: int) -> list[tuple[PaperRow, str | None]]:
    """The papers of a collection in its order, each with its note (what exports and feeds need)."""
    return [(entry.row, entry.note) for entry in query_collection_entries(session, collection_id)]


def query_collection_listing(
    session: Session, viewer_id: int | None, *, owners: list[str], paper_ids: list[int], limit: int
) -> list[CollectionRow]:
    """The collections ``viewer_id`` may see, of ``owners`` (users or organizations; anyone's when empty) and
    holding every paper of ``paper_ids``, most recently changed first: hf.co's collection listing."""
    statement = _collection_rows().where(visible_to(viewer_id))
    if owners:
        statement = statement.where(or_(User.username.in_(owners), Organization.name.in_(owners)))
    for paper_id in paper_ids:
        holds = select(CollectionItem.collection_id).where(CollectionItem.paper_id == paper_id)
        statement = statement.where(Collection.id.in_(holds))
    ordered = statement.order_by(Collection.updated_at.desc(), Collection.id.desc()).limit(limit)
    return [_collection(r) for r in session.execute(ordered)]


def query_collections_index(
    session: Session, viewer_id: int | None, limit: int = 100
) -> tuple[list[CollectionRow], list[CollectionRow]]:
    """The /collections page: the viewer's own and their organizations' (none for a visitor), then everyone else's
    public ones with at least one paper, the most recently changed first."""
    newest = (Collection.updated_at.desc(), Collection.id.desc())
    mine: list[CollectionRow] = []
    if viewer_id is not None:
        own = _collection_rows().where(editable_by(viewer_id)).order_by(*newest)
        mine = [_collection(r) for r in session.execute(own)]
    others = (
        _collection_rows()
        .where(Collection.visibility == "public", ~editable_by(viewer_id) if viewer_id is not None else true())
        .where(select(CollectionItem.paper_id).where(CollectionItem.collection_id == Collection.id).exists())
        .order_by(*newest)
        .limit(limit)
    )
    return mine, [_collection(r) for r in session.execute(others)]
