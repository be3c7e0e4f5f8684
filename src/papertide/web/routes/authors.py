"""Authors as pages: ``/authors/{key}`` (and its JSON twin) lists the papers of a name key newest first, with
feeds at ``/feeds/author/{key}.rss`` (``.atom``, ``.json``), and signed-in readers follow or unfollow it (POST,
CSRF-checked) into their digest and personal feed.

Any name in the URL is folded to its key (``people.author_key``) and redirected there, so ``/authors/José Núñez``
and ``/authors/jose-nunez`` are one page; a name with nothing left to fold, or no papers, is a 404 that says so.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from papertide.people import author_key
from papertide.queries.follows import query_follows
from papertide.queries.papers import query_votes_of
from papertide.queries.people import query_author_name, query_author_papers
from papertide.services.follows import FollowError, follow, unfollow
from papertide.web.deps import ReadSession, WriteSession
from papertide.web.rendering.templating import render_page
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import author_url, card

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 200


def canonical_key(name: str) -> str:
    key = author_key(name)
    if not key:
        raise HTTPException(404, "That is not an author name: it has no letters or digits.")
    return key


@router.get("/authors/{name}")
def author_page(
    request: Request,
    name: str,
    session: ReadSession,
    user: CurrentUser,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    twin = name.endswith(".json")
    key = canonical_key(name.removesuffix(".json"))
    if key != name.removesuffix(".json"):
        suffix = (".json" if twin else "") + (f"?page={page}" if page > 1 else "")
        return RedirectResponse(author_url(key) + suffix, status_code=308)
    found = query_author_name(session, key)
    if found is None:
        raise HTTPException(404, f"No paper here has an author whose name folds to {key!r}.")
    display, total = found
    rows = query_author_papers(session, key, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    voted = query_votes_of(session, user.id if user else None, [r.id for r in rows])
    following = user is not None and any(f.key == key for f in query_follows(session, user.id, "author"))
    context = {
        "author": {"key": key, "name": display, "papers": total, "following": following},
        "cards": [card(row, voted) for row in rows],
        "page": page,
        "next_page": page + 1 if page * PAGE_SIZE < total and page < MAX_PAGE else None,
    }
    return render_page(request, "author.html", context)


@router.post("/authors/{name}/follow")
def follow_author(request: Request, name: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    key = canonical_key(name)
    display = query_author_name(session, key)
    if display is None:
        raise HTTPException(404, f"No paper here has an author whose name folds to {key!r}.")
    try:
        follow(session, user.id, "author", display[0])
    except FollowError as error:
        raise HTTPException(422, str(error)) from error
    return RedirectResponse(author_url(key), status_code=303)


@router.post("/authors/{name}/unfollow")
def unfollow_author(request: Request, name: str, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    key = canonical_key(name)
    unfollow(session, user.id, "author", key)
    return RedirectResponse(author_url(key), status_code=303)
