"""Collections: a user's collection page and the forms that make and change collections (a user's own, and an
organization's, whose page is in ``routes/organizations.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from papertide.queries.collections import can_see, query_collection, query_collection_by_id
from papertide.services.collections import (
    CollectionError,
    create_collection,
    delete_collection,
    move_item,
    remove_from_collection,
    set_item_note,
    update_collection,
)
from papertide.web.deps import ReadSession, RowId, WriteSession
from papertide.web.rendering.feeds import FeedRef
from papertide.web.rendering.templating import redirect_back, render_page, templates
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.collections import collection_page, collections_page

router = APIRouter()
Title = Annotated[str, Form(max_length=200)]
Note = Annotated[str, Form(max_length=4_000)]
Visibility = Annotated[str | None, Form(max_length=16)]


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
    if collection is None or not can_see(session, collection, user.id if user else None):
        raise HTTPException(404, "There is no such collection, or it is private.")
    context = collection_page(session, collection, user)
    feeds = [FeedRef("This collection", f"/feeds/collection/{collection.owner}/{collection.slug}")]
    return render_page(request, "collection.html", context, feeds if collection.is_public else [])


@router.post("/collections/{collection_id}/edit")
def edit_collection(
    request: Request,
    collection_id: RowId,
    session: WriteSession,
    user: SignedIn,
    title: Title,
    description: Note = "",
    public: Annotated[int, Form(ge=0, le=1)] = 0,
    visibility: Visibility = None,
) -> Response:
    """A user's collection sends ``public``; an organization's, ``visibility`` (public, organization, private)."""
    enforce_rate_limit(request, "write", user.id, session)
    with _owned_change():
        update_collection(
            session,
            collection_id=collection_id,
            owner_id=user.id,
            title=title,
            description=description,
            visibility=visibility or ("public" if public else "private"),
        )
    changed = query_collection_by_id(session, collection_id)
    return RedirectResponse(changed.path if changed else "/", status_code=303)


@router.post("/collections/{collection_id}/delete")
def remove_collection(request: Request, collection_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    doomed = query_collection_by_id(session, collection_id)
    with _owned_change():
        delete_collection(session, collection_id=collection_id, owner_id=user.id)
    home = f"/orgs/{doomed.owner}" if doomed and doomed.owner_kind == "org" else f"/users/{user.username}"
    return RedirectResponse(home, status_code=303)


@router.post("/collections/{collection_id}/items/{paper_id}/note")
def item_note(
    request: Request, collection_id: RowId, paper_id: RowId, session: WriteSession, user: SignedIn, note: Note = ""
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    with _owned_change():
        set_item_note(session, collection_id=collection_id, owner_id=user.id, paper_id=paper_id, note=note)
    return _back_to(request)


@router.post("/collections/{collection_id}/items/{paper_id}/move")
def item_move(
    request: Request,
    collection_id: RowId,
    paper_id: RowId,
    session: WriteSession,
    user: SignedIn,
    position: Annotated[int, Form(ge=0, le=100_000)],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    with _owned_change():
        move_item(session, collection_id=collection_id, owner_id=user.id, paper_id=paper_id, position=position)
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
