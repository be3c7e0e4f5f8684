"""The paper page and what can be done on it: upvote, comment, edit links, collect, hide (admins); its JSON twin
(``.json``, the page's view-model as every page's twin) and its citation files (``.bib``, ``.ris``,
``.csl.json``), also answered on the page URL to an ``Accept`` asking for them.

Ids come in any form (``2503.24322v2``, ``hep-th/9901001``); a non-canonical one redirects to the canonical URL.
Every action is a POST carrying the CSRF token; without JavaScript the forms post and redirect back, with it
the upvote button updates in place from the JSON answer.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide.queries.papers import (
    PaperRow,
    query_arxiv_id,
    query_paper,
)
from papertide.services import moderation
from papertide.services.citations import query_citables
from papertide.services.collections import CollectionError, add_to_collection
from papertide.services.comments import (
    CommentError,
    add_comment,
    delete_comment,
    edit_comment,
)
from papertide.services.submissions import (
    LinksRefused,
    SubmissionError,
    update_links,
)
from papertide.services.votes import vote as cast_vote
from papertide.text import latex_plain
from papertide.web.deps import (
    MAX_ROW_ID,
    AppSettings,
    ReadSession,
    RowId,
    SemanticSearch,
    WriteSession,
    canonical_id,
    resolve_paper,
)
from papertide.web.errors import wants_json
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.formats import (
    FORMAT_OF_MEDIA,
    JSON,
    MARKDOWN,
    PAPER_MEDIA,
    citation_response,
    negotiate,
    paper_meta,
)
from papertide.web.rendering.templating import redirect_back, templates
from papertide.web.routes.hf_api import paper_markdown_page
from papertide.web.security import Admin, CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import paper_url
from papertide.web.viewmodels.paper import PaperPage, paper_page

router = APIRouter()
Flag = Annotated[int, Form(ge=0, le=1)]
log = logging.getLogger(__name__)


def _paper_or_404(session: Session, arxiv_id: str, user: CurrentUser) -> PaperRow:
    """Hidden papers are gone for everyone but admins, who see them flagged so they can restore them."""
    row = query_paper(session, arxiv_id, include_hidden=bool(user and user.is_admin))
    if row is None:
        raise HTTPException(404, f"papertide has no paper {arxiv_id} yet. Submit it to fetch it from arXiv.")
    return row


def _citation(request: Request, arxiv_id: str, session: Session, format_name: str) -> Response:
    paper = resolve_paper(session, arxiv_id)
    filename = paper.arxiv_id.replace("/", "-")  # hep-th/9901001 -> hep-th-9901001.bib
    return citation_response(request, query_citables(session, [paper.id]), format_name, filename)


@router.get("/papers/{arxiv_id:path}.bib", summary="The paper as BibTeX")
def paper_bibtex(request: Request, arxiv_id: str, session: ReadSession) -> Response:
    return _citation(request, arxiv_id, session, "bibtex")


@router.get("/papers/{arxiv_id:path}.ris", summary="The paper as RIS")
def paper_ris(request: Request, arxiv_id: str, session: ReadSession) -> Response:
    return _citation(request, arxiv_id, session, "ris")


@router.get("/papers/{arxiv_id:path}.csl.json", summary="The paper as CSL-JSON")
def paper_csl(request: Request, arxiv_id: str, session: ReadSession) -> Response:
    return _citation(request, arxiv_id, session, "csl")


@router.get("/papers/{arxiv_id:path}.json", summary="The paper page as JSON (its view-model)")
def paper_json(
    request: Request, arxiv_id: str, session: ReadSession, user: CurrentUser, semantic: SemanticSearch
) -> Response:
    wanted = canonical_id(arxiv_id)
    if wanted != arxiv_id:
        return RedirectResponse(f"{paper_url(wanted)}.json", status_code=301)
    return _json_twin(request, paper_page(session, _paper_or_404(session, wanted, user), user, semantic))


def _json_twin(request: Request, page: PaperPage) -> Response:
    return mark_public(JSONResponse(jsonable_encoder(page)), request)


@router.get("/papers/{arxiv_id:path}")
def paper(
    request: Request,
    arxiv_id: str,
    session: ReadSession,
    user: CurrentUser,
    semantic: SemanticSearch,
    settings: AppSettings,
) -> Response:
    wanted = canonical_id(arxiv_id)
    if wanted != arxiv_id:
        return RedirectResponse(paper_url(wanted), status_code=301)
    media = negotiate(request.headers.get("accept"), PAPER_MEDIA)
    if media == MARKDOWN:
        return _vary(paper_markdown_page(request, resolve_paper(session, wanted), session, settings, semantic))
    if media in FORMAT_OF_MEDIA:
        return _vary(_citation(request, wanted, session, FORMAT_OF_MEDIA[media]))
    row = _paper_or_404(session, wanted, user)
    page = paper_page(session, row, user, semantic)
    if media == JSON:
        return _vary(_json_twin(request, page))
    citables = query_citables(session, [row.id])  # none for a hidden paper, which machines should not index
    meta = paper_meta(citables[0], settings.base_url) if citables else None
    context = {"page": page, "plain_title": latex_plain(row.title), "meta": meta}
    return _vary(mark_public(templates.TemplateResponse(request, "paper.html", context), request))


def _vary(response: Response) -> Response:
    """The paper URL answers by ``Accept``, so caches must key on it."""
    response.headers["Vary"] = "Accept"
    return response


@router.post("/papers/{arxiv_id:path}/vote")
def vote(
    request: Request,
    arxiv_id: str,
    session: WriteSession,
    user: SignedIn,
    settings: AppSettings,
    value: Annotated[int, Form(ge=0, le=1)] = 1,
) -> Response:
    paper = resolve_paper(session, arxiv_id)
    state = cast_vote(session, user.id, paper.id, up=bool(value), per_minute=settings.rate_limit_votes_per_minute)
    if wants_json(request.scope) or request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"voted": state.voted, "upvotes": state.upvotes})
    return redirect_back(request, paper_url(paper.arxiv_id))


@router.post("/papers/{arxiv_id:path}/comments")
def comment(
    request: Request,
    arxiv_id: str,
    session: WriteSession,
    user: SignedIn,
    body: Annotated[str, Form(max_length=20_000)],
    parent_id: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    paper = resolve_paper(session, arxiv_id)
    enforce_rate_limit(request, "write", user.id, session)
    try:
        add_comment(session, user_id=user.id, paper_id=paper.id, body=body, parent_id=parent_id)
    except CommentError as error:
        raise HTTPException(400, str(error)) from error
    return RedirectResponse(paper_url(paper.arxiv_id) + "#comments", status_code=303)


@router.post("/comments/{comment_id}/edit")
def comment_edit(
    request: Request,
    comment_id: RowId,
    session: WriteSession,
    user: SignedIn,
    body: Annotated[str, Form(max_length=20_000)],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    try:
        edited = edit_comment(session, comment_id=comment_id, user_id=user.id, body=body)
    except CommentError as error:
        raise HTTPException(403, str(error)) from error
    return _to_comments(session, edited.paper_id)


@router.post("/comments/{comment_id}/delete")
def comment_delete(comment_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    try:
        paper_id = delete_comment(session, comment_id=comment_id, user_id=user.id).paper_id
    except CommentError as error:
        raise HTTPException(403, str(error)) from error
    return _to_comments(session, paper_id)


@router.post("/comments/{comment_id}/hide")
def comment_hide(
    request: Request,
    comment_id: RowId,
    session: WriteSession,
    user: Admin,
    hidden: Flag = 1,
) -> Response:
    """From the paper's comments or the moderation desk, back to where it was asked."""
    try:
        paper_id = moderation.hide_comment(session, user.id, comment_id, bool(hidden))
    except CommentError as error:
        raise HTTPException(404, str(error)) from error
    return redirect_back(request, paper_url(query_arxiv_id(session, paper_id)) + "#comments")


def _to_comments(session: Session, paper_id: int) -> RedirectResponse:
    return RedirectResponse(paper_url(query_arxiv_id(session, paper_id)) + "#comments", status_code=303)


@router.post("/papers/{arxiv_id:path}/links")
def links(
    request: Request,
    arxiv_id: str,
    session: WriteSession,
    user: SignedIn,
    code_url: Annotated[str, Form(max_length=500)] = "",
    project_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    paper = resolve_paper(session, arxiv_id)
    enforce_rate_limit(request, "write", user.id, session)
    try:
        update_links(session, arxiv_id=paper.arxiv_id, user_id=user.id, code_url=code_url, project_url=project_url)
    except LinksRefused as error:
        raise HTTPException(403, str(error)) from error
    except SubmissionError as error:  # a link that is not http(s)
        raise HTTPException(400, str(error)) from error
    return RedirectResponse(paper_url(paper.arxiv_id), status_code=303)


@router.post("/papers/{arxiv_id:path}/hide")
def hide(request: Request, arxiv_id: str, session: WriteSession, user: Admin, hidden: Flag = 1) -> Response:
    """Hidden papers are invisible to everyone else, so this resolves the id without the visibility check; from the
    paper page or the moderation desk, back to where it was asked."""
    wanted = canonical_id(arxiv_id)
    try:
        moderation.hide_paper(session, user.id, wanted, bool(hidden))
    except SubmissionError as error:
        raise HTTPException(404, str(error)) from error
    return redirect_back(request, paper_url(wanted))


@router.post("/papers/{arxiv_id:path}/collect")
def collect(
    request: Request,
    arxiv_id: str,
    session: WriteSession,
    user: SignedIn,
    collection_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    note: Annotated[str, Form(max_length=4_000)] = "",
) -> Response:
    paper = resolve_paper(session, arxiv_id)
    enforce_rate_limit(request, "write", user.id, session)
    try:
        add_to_collection(session, collection_id=collection_id, owner_id=user.id, paper_id=paper.id, note=note)
    except CollectionError as error:
        raise HTTPException(403, str(error)) from error
    return RedirectResponse(paper_url(paper.arxiv_id), status_code=303)
