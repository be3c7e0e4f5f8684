"""Organizations and collections: their pages and the collection editing forms."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from papertide.queries.collections import query_collection
from papertide.queries.people import query_organization
from papertide.services.collections import (
    CollectionError,
    create_collection,
    delete_collection,
    remove_from_collection,
    set_item_note,
    update_collection,
)
from papertide.web.deps import ReadSession, RowId, WriteSession
from papertide.web.rendering.feeds import FeedRef
from papertide.web.rendering.templating import redirect_back, render_page, templates
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.collections import collection_page, collections_page
from papertide.web.viewmodels.people import organization_page

router = APIRouter()
Title = Annotated[str, Form(max_length=200)]
Note = Annotated[str, Form(max_length=4_000)]


@router.get("/orgs/{name}")
@router.get("/orgs/{name}.json")  # the inner decorator registers first, so .json wins
def organization(request: Request, name: str, session: ReadSession, user: CurrentUser) -> Response:
    org = query_organization(session, name)
    if org is None:
        raise HTTPException(404, f"There is no organization named {name!r}.")
    feed = FeedRef(f"Papers from {org.name}", f"/feeds/org/{org.name}")
    return render_page(request, "organization.html", organization_page(session, org, user), [feed])


@router.get("/collections")
@router.get("/collections.json")
def collections(request: Request, session: ReadSession, user: CurrentUser) -> Response:
    """The viewer's collections (signed in) and everyone's public ones: the page the header links."""
    return render_page(request, "collections.html", collections_page(session, user))


@router.get("/collections/new")
def new_collection_form(request: Request, _: SignedIn) -> Response:
    return templates.TemplateResponse(request, "collection_form.html", {"collection": None, "error": None})


@router.post("/collections")
def new_collection(
    request: Request,
    session: WriteSession,
    user: SignedIn,
    title: Title,
    description: Note = "",
    public: Annotated[int, Form(ge=0, le=1)] = 0,
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        slug = create_collection(
            session, owner_id=user.id, title=title, description=description, is_public=bool(public)
        ).slug
    except CollectionError as error:
        return templates.TemplateResponse(
            request, "collection_form.html", {"collection": None, "error": str(error)}, status_code=400
        )
    return RedirectResponse(f"/users/{user.username}/collections/{slug}", status_code=303)


@router.get("/users/{username}/collections/{slug}")
@router.get("/users/{username}/collections/{slug}.json")  # registered first, so .json wins
def collection(request: Request, username: str, slug: str, session: ReadSession, user: CurrentUser) -> Response:
    collection = query_collection(session, username, slug)
    mine = user is not None and collection is not None and collection.owner == user.username
    if collection is None or not (collection.is_public or mine):
        raise HTTPException(404, "There is no such collection, or it is private.")
    context = collection_page(session, collection, user)
    feed = FeedRef("This collection", f"/feeds/collection/{collection.owner}/{collection.slug}")
    return render_page(request, "collection.html", context, [feed])


@router.post("/collections/{collection_id}/edit")
def edit_collection(
    request: Request,
    collection_id: RowId,
    session: WriteSession,
    user: SignedIn,
    title: Title,
    description: Note = "",
    public: Annotated[int, Form(ge=0, le=1)] = 0,
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    with _owned_change():
        slug = update_collection(
            session,
            collection_id=collection_id,
            owner_id=user.id,
            title=title,
            description=description,
            is_public=bool(public),
        ).slug
    return RedirectResponse(f"/users/{user.username}/collections/{slug}", status_code=303)


@router.post("/collections/{collection_id}/delete")
def remove_collection(collection_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    with _owned_change():
        delete_collection(session, collection_id=collection_id, owner_id=user.id)
    return RedirectResponse(f"/users/{user.username}", status_code=303)


@router.post("/collections/{collection_id}/items/{paper_id}/note")
def item_note(
    request: Request, collection_id: RowId, paper_id: RowId, session: WriteSession, user: SignedIn, note: Note = ""
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    with _owned_change():
        set_item_note(session, collection_id=collection_id, owner_id=user.id, paper_id=paper_id, note=note)
    return _back_to(request)


@router.post("/collections/{collection_id}/items/{paper_id}/remove")
def item_remove(
    request: Request, collection_id: RowId, paper_id: RowId, session: WriteSession, user: SignedIn
) -> Response:
    with _owned_change():
        remove_from_collection(session, collection_id=collection_id, owner_id=user.id, paper_id=paper_id)
    return _back_to(request)


def _back_to(request: Request) -> Response:
    return redirect_back(request, "/")


@contextmanager
def _owned_change() -> Iterator[None]:
    """Turn a refused collection change into a 403 page."""
    try:
        yield
    except CollectionError as error:
        raise HTTPException(403, str(error)) from error
