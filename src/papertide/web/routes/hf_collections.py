"""hf.co's collections API, in hf.co's shapes (``web/api/hf_shapes.py``), so ``HfApi(endpoint=…)``'s
``list_collections``, ``get_collection``, ``create_collection``, ``update_collection_metadata``,
``delete_collection``, ``add_collection_item``, ``update_collection_item`` and ``delete_collection_item`` work
against papertide unchanged.

A slug is ``namespace/title-slug-<24 hex>`` (the namespace a user or an organization, the hex the collection's
id); the title part is not read, so a renamed collection keeps answering its old slug. Everyone reads what they
may see (``queries/collections.visible_to``: a token makes its owner the reader); writes take a write token (or the
signed-in browser with its CSRF token) and count against the account's write limit. A collection made in an
organization's namespace needs its maker to be a member; ``private: true`` makes a user's collection private and
an organization's organization-only. Collections hold papers only (``papers/{arxiv id}``); a note is at most
:data:`MAX_NOTE` characters, as on hf.co; a paper already in the collection is a 409.

Errors are hf.co's ``{"error": "…"}`` bodies, with the status of their kind.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from papertide.errors import Conflict, Forbidden, Invalid, NotFound, Refused
from papertide.queries.collections import (
    CollectionRow,
    can_edit,
    can_see,
    query_collection_by_id,
    query_collection_entries,
    query_collection_listing,
)
from papertide.queries.people import query_organization
from papertide.services.accounts import Identity
from papertide.services.collections import (
    add_to_collection,
    create_collection,
    create_organization_collection,
    delete_collection,
    move_item,
    remove_from_collection,
    set_item_note,
    update_collection,
)
from papertide.web.api.hf_shapes import collection_id_of, hf_collection, hf_collection_slug, paper_id_of
from papertide.web.api.schemas import PROBLEMS, decode_cursor, encode_cursor
from papertide.web.deps import AppSettings, PaperNotFound, ReadSession, WriteSession, lookup_paper
from papertide.web.errors import status_of
from papertide.web.routes.hf_api import HfError
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit


def _hf_refusal(description: str) -> dict[str, Any]:
    """An hf.co ``{"error": …}`` answer in the schema (a path no route takes is papertide's problem+json)."""
    return {"description": description, "model": HfError, "content": {"application/problem+json": {}}}


HF_REFUSALS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    403: _hf_refusal("A read token on a write, a namespace not yours, a collection you may read but not change."),
    404: _hf_refusal("No such collection or item, or one you may not see; `error` says which."),
    409: _hf_refusal("A collection of that title in the namespace (its `slug` given), or a paper already in it."),
    422: _hf_refusal("A note over 500 characters, an item that is not a paper, a value out of range."),
}
router = APIRouter(tags=["hf.co compatible"], responses=HF_REFUSALS)
MAX_NOTE = 500
MAX_LISTED = 100
MAX_TWINS = 1_000  # collections of a namespace compared by title before a new one is made


class NewCollection(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    namespace: str = Field(min_length=1, max_length=96)
    description: str | None = Field(None, max_length=2_000)
    private: bool = False


class CollectionChange(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2_000)
    private: bool | None = None
    position: int | None = None  # hf.co's place among the owner's collections: papertide keeps no such order
    theme: str | None = Field(None, max_length=32)  # hf.co's colour: papertide derives one


class ItemRef(BaseModel):
    id: str = Field(min_length=1, max_length=300)
    type: str = Field(max_length=16)


class NewItem(BaseModel):
    item: ItemRef
    note: str | None = None


class ItemChange(BaseModel):
    note: str | None = None
    position: int | None = Field(None, ge=0, le=100_000)


def _hf_error(error: Refused, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": str(error), **extra}, status_code=status_of(error))


def _seen(session: Session, namespace: str, slug: str, user: Identity | None) -> CollectionRow:
    """The collection a slug names, when the caller may see it (else 404: nothing tells it exists)."""
    parsed = collection_id_of(f"{namespace}/{slug}")
    found = query_collection_by_id(session, parsed[1]) if parsed else None
    if found is None or found.owner != namespace or not can_see(session, found, user.id if user else None):
        raise NotFound(f"Collection {namespace[:96]}/{slug[:120]} does not exist, or is not yours to see.")
    return found


def _changed_by(session: Session, namespace: str, slug: str, user: Identity) -> CollectionRow:
    found = _seen(session, namespace, slug, user)
    if not can_edit(session, found.id, user.id):
        raise Forbidden("You can read this collection but not change it.")
    return found


def _answer(session: Session, collection_id: int, base_url: str, status: int = 200, wrap: bool = False) -> Response:
    row = query_collection_by_id(session, collection_id)
    assert row is not None
    shape = hf_collection(row, query_collection_entries(session, collection_id), base_url)
    return JSONResponse({"success": True, "data": shape} if wrap else shape, status_code=status)


@router.get("/api/collections", summary="Collections anyone may see, filtered (hf.co shape)")
def list_collections(
    request: Request,
    session: ReadSession,
    settings: AppSettings,
    user: CurrentUser,
    owner: Annotated[list[str] | None, Query(max_length=20)] = None,
    item: Annotated[list[str] | None, Query(max_length=20)] = None,
    sort: Annotated[str | None, Query(max_length=20, description="lastModified (trending, upvotes: the same)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = MAX_LISTED,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    try:
        offset = decode_cursor(cursor)
    except ValueError as error:
        return _hf_error(Invalid(f"{error}; start again without a cursor."))
    paper_ids = _items(session, item or [])
    if paper_ids is None:  # an item papertide has not (a model, a dataset, an unknown paper): in no collection
        return JSONResponse([])
    found = query_collection_listing(
        session, user.id if user else None, owners=owner or [], paper_ids=paper_ids, limit=offset + limit + 1
    )
    page = found[offset : offset + limit]
    shapes = [hf_collection(c, query_collection_entries(session, c.id), settings.base_url, listed=True) for c in page]
    response = JSONResponse(shapes)
    if len(found) > offset + limit:
        query = request.url.include_query_params(cursor=encode_cursor(offset + limit)).query
        response.headers["Link"] = f'<{settings.base_url}{request.url.path}?{query}>; rel="next"'
    return response


def _items(session: Session, items: list[str]) -> list[int] | None:
    """The paper ids of ``papers/{arxiv id}`` filters; None when one names nothing papertide has."""
    ids = []
    for wanted in items:
        kind, _, arxiv_id = wanted.partition("/")
        if kind != "papers":
            return None
        try:
            ids.append(lookup_paper(session, arxiv_id).id)
        except PaperNotFound:
            return None
    return ids


@router.get("/api/collections/{namespace}/{slug}", summary="One collection with all its items (hf.co shape)")
def get_collection(
    namespace: str, slug: str, session: ReadSession, settings: AppSettings, user: CurrentUser
) -> Response:
    try:
        found = _seen(session, namespace, slug, user)
    except Refused as error:
        return _hf_error(error)
    return _answer(session, found.id, settings.base_url)


@router.get("/collections/{namespace}/{slug}", include_in_schema=False)
def collection_page(namespace: str, slug: str, session: ReadSession, user: CurrentUser) -> Response:
    """hf.co's collection URL (``huggingface_hub``'s ``Collection.url``), sent on to the collection's page."""
    found = _seen(session, namespace, slug, user)
    return RedirectResponse(found.path, status_code=307)


@router.post("/api/collections", summary="Make a collection in your namespace or an organization's")
def new_collection(
    request: Request, body: NewCollection, session: WriteSession, settings: AppSettings, user: SignedIn
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        collection_id = _create(session, body, user)
    except _Exists as exists:
        return _hf_error(exists, slug=exists.slug)
    except Refused as error:
        return _hf_error(error)
    return _answer(session, collection_id, settings.base_url)


class _Exists(Conflict):
    def __init__(self, slug: str) -> None:
        super().__init__("You already have a collection with this title in that namespace.")
        self.slug = slug


def _create(session: Session, body: NewCollection, user: Identity) -> int:
    """The new collection's id; :class:`_Exists` (hf.co's 409, with the slug) when the namespace has that title."""
    _refuse_twin(session, user, body.namespace, body.title)
    if body.namespace == user.username:
        return create_collection(
            session, owner_id=user.id, title=body.title, description=body.description, is_public=not body.private
        ).id
    org = query_organization(session, body.namespace)
    if org is None:
        raise Forbidden(f"{body.namespace[:96]} is neither you nor one of your organizations.")
    made = create_organization_collection(
        session,
        organization_id=org.id,
        member_id=user.id,
        title=body.title,
        description=body.description,
        visibility="organization" if body.private else "public",
    )
    return made.id


def _refuse_twin(session: Session, user: Identity, namespace: str, title: str) -> None:
    """hf.co refuses a second collection of one title in a namespace (409, naming the first)."""
    mine = query_collection_listing(session, user.id, owners=[namespace], paper_ids=[], limit=MAX_TWINS)
    twin = next((c for c in mine if c.title.casefold() == title.strip().casefold()), None)
    if twin is not None:
        raise _Exists(hf_collection_slug(twin))


@router.patch("/api/collections/{namespace}/{slug}", summary="Change a collection's title, description, privacy")
def change_collection(
    request: Request,
    namespace: str,
    slug: str,
    body: CollectionChange,
    session: WriteSession,
    settings: AppSettings,
    user: SignedIn,
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        found = _changed_by(session, namespace, slug, user)
        update_collection(
            session,
            collection_id=found.id,
            owner_id=user.id,
            title=body.title or found.title,
            description=found.description if body.description is None else body.description,
            visibility=_visibility(found, body.private),
        )
    except Refused as error:
        return _hf_error(error)
    return _answer(session, found.id, settings.base_url, wrap=True)


def _visibility(collection: CollectionRow, private: bool | None) -> str:
    """hf.co's ``private`` as a visibility: false is public; true keeps a non-public one as it is, and makes a
    public one private (a user's) or organization-only (an organization's)."""
    if private is None:
        return collection.visibility
    if not private:
        return "public"
    if not collection.is_public:
        return collection.visibility
    return "private" if collection.owner_kind == "user" else "organization"


@router.delete("/api/collections/{namespace}/{slug}", summary="Delete a collection")
def remove_collection(request: Request, namespace: str, slug: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        found = _changed_by(session, namespace, slug, user)
        delete_collection(session, collection_id=found.id, owner_id=user.id)
    except Refused as error:
        return _hf_error(error)
    return JSONResponse({"success": True})


@router.post("/api/collections/{namespace}/{slug}/items", summary="Add a paper to a collection")
def add_item(
    request: Request,
    namespace: str,
    slug: str,
    body: NewItem,
    session: WriteSession,
    settings: AppSettings,
    user: SignedIn,
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        found = _changed_by(session, namespace, slug, user)
        if body.item.type != "paper":
            raise Invalid("papertide's collections hold papers only: add an item of type paper (an arXiv id).")
        paper_id = _paper(session, body.item.id)
        added = add_to_collection(
            session, collection_id=found.id, owner_id=user.id, paper_id=paper_id, note=_short(body.note)
        )
        if not added:
            raise Conflict("That paper is in the collection already.")
    except Refused as error:
        return _hf_error(error)
    return _answer(session, found.id, settings.base_url)


def _paper(session: Session, arxiv_id: str) -> int:
    try:
        return lookup_paper(session, arxiv_id).id
    except PaperNotFound as error:
        raise NotFound(str(error)) from error


def _short(note: str | None) -> str | None:
    if note is not None and len(note) > MAX_NOTE:
        raise Invalid(f"A note is at most {MAX_NOTE} characters; this one has {len(note):,}.")
    return note


@router.patch("/api/collections/{namespace}/{slug}/items/{item_id}", summary="Change an item's note or position")
def change_item(
    request: Request,
    namespace: str,
    slug: str,
    item_id: str,
    body: Annotated[ItemChange, Body()],
    session: WriteSession,
    user: SignedIn,
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        found, paper_id = _item(session, namespace, slug, item_id, user)
        if body.note is not None:
            set_item_note(session, collection_id=found.id, owner_id=user.id, paper_id=paper_id, note=_short(body.note))
        if body.position is not None:
            move_item(session, collection_id=found.id, owner_id=user.id, paper_id=paper_id, position=body.position)
    except Refused as error:
        return _hf_error(error)
    return JSONResponse({"success": True})


@router.delete("/api/collections/{namespace}/{slug}/items/{item_id}", summary="Remove an item")
def remove_item(
    request: Request, namespace: str, slug: str, item_id: str, session: WriteSession, user: SignedIn
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        found, paper_id = _item(session, namespace, slug, item_id, user)
        remove_from_collection(session, collection_id=found.id, owner_id=user.id, paper_id=paper_id)
    except Refused as error:
        return _hf_error(error)
    return JSONResponse({"success": True})


def _item(session: Session, namespace: str, slug: str, item_id: str, user: Identity) -> tuple[CollectionRow, int]:
    found = _changed_by(session, namespace, slug, user)
    paper_id = paper_id_of(item_id)
    held = {entry.row.id for entry in query_collection_entries(session, found.id)}
    if paper_id is None or paper_id not in held:
        raise NotFound("That item is not in the collection.")
    return found, paper_id
