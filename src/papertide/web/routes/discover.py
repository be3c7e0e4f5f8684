"""More like this and personal picks: ``/similar`` (by a pasted abstract, by papers, with positives and
negatives), ``/for-you`` (a signed-in user's ranking, each pick explained) and the "not interested" button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from papertide.services.dismissals import dismiss_paper
from papertide.web.deps import (
    AppDatabase,
    ReadSession,
    SemanticSearch,
    WriteSession,
    resolve_paper,
)
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.templating import is_json_twin, redirect_back, render_page
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.discover import SimilarPage, for_you_page, similar_page

router = APIRouter()
MAX_TEXT = 10_000


@router.get("/similar")
@router.get("/similar.json")
def similar(
    request: Request,
    session: ReadSession,
    user: CurrentUser,
    semantic: SemanticSearch,
    text: Annotated[str, Query(max_length=MAX_TEXT)] = "",
    pos: Annotated[list[str] | None, Query()] = None,
    neg: Annotated[list[str] | None, Query()] = None,
) -> Response:
    page = similar_page(session, semantic, user, text, pos or [], neg or [])
    if is_json_twin(request.url.path):
        return _listing_twin(request, page)
    return render_page(request, "similar.html", {"page": page})


def _listing_twin(request: Request, page: SimilarPage) -> Response:
    """The listings' shape: the page's fields at the top, its papers at ``cards``. The same fields stay under
    ``page``, where this twin had them, through the next release (docs/api.md)."""
    fields = jsonable_encoder(page)
    return mark_public(JSONResponse({**fields, "page": fields}), request)


@router.get("/for-you")
@router.get("/for-you.json")
def for_you(request: Request, database: AppDatabase, user: SignedIn, semantic: SemanticSearch) -> Response:
    page = for_you_page(database, semantic, user)
    return render_page(request, "for_you.html", {"page": page})


@router.post("/for-you/dismiss")
def dismiss(
    request: Request, session: WriteSession, user: SignedIn, paper: Annotated[str, Form(max_length=64)]
) -> Response:
    """ "Not interested": the paper leaves the user's picks and teaches their model what they do not want."""
    enforce_rate_limit(request, "vote", user.id, session)
    dismiss_paper(session, user.id, resolve_paper(session, paper).id)
    return redirect_back(request, "/for-you")
