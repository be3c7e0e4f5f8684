"""Authors as pages: ``/authors/{key}`` (and its JSON twin) lists the papers of a name key newest first, with
feeds at ``/feeds/author/{key}.rss`` (``.atom``, ``.json``), and signed-in readers follow or unfollow it (POST,
CSRF-checked) into their digest and personal feed.

Any name in the URL is folded to its key (``people.author_key``) and redirected there, so ``/authors/José Núñez``
and ``/authors/jose-nunez`` are one page; a name with nothing left to fold, or no papers, is a 404 that says so.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from papertide.people import author_key
from papertide.queries.people import query_author_name
from papertide.services.follows import follow, unfollow
from papertide.web.deps import ReadSession, WriteSession
from papertide.web.rendering.feeds import FeedRef
from papertide.web.rendering.templating import render_page
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import author_url
from papertide.web.viewmodels.people import AUTHOR_MAX_PAGE, author_page

router = APIRouter()


def canonical_key(name: str) -> str:
    key = author_key(name)
    if not key:
        raise HTTPException(404, "That is not an author name: it has no letters or digits.")
    return key


@router.get("/authors/{name}")
def author(
    request: Request,
    name: str,
    session: ReadSession,
    user: CurrentUser,
    page: Annotated[int, Query(ge=1, le=AUTHOR_MAX_PAGE)] = 1,
) -> Response:
    twin = name.endswith(".json")
    key = canonical_key(name.removesuffix(".json"))
    if key != name.removesuffix(".json"):
        suffix = (".json" if twin else "") + (f"?page={page}" if page > 1 else "")
        return RedirectResponse(author_url(key) + suffix, status_code=308)
    context = author_page(session, key, page, user)
    if context is None:
        raise HTTPException(404, f"No paper here has an author whose name folds to {key!r}.")
    return render_page(
        request, "author.html", context, [FeedRef(f"Papers by {key}", f"/feeds/author/{quote(key, safe='')}")]
    )


@router.post("/authors/{name}/follow")
def follow_author(request: Request, name: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    key = canonical_key(name)
    display = query_author_name(session, key)
    if display is None:
        raise HTTPException(404, f"No paper here has an author whose name folds to {key!r}.")
    follow(session, user.id, "author", display[0])
    return RedirectResponse(author_url(key), status_code=303)


@router.post("/authors/{name}/unfollow")
def unfollow_author(request: Request, name: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    key = canonical_key(name)
    unfollow(session, user.id, "author", key)
    return RedirectResponse(author_url(key), status_code=303)
