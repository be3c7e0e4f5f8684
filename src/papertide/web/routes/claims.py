"""Claimed authors: a signed-in user claims an author slot from the paper page (``POST /papers/{id}/claim``) or as
hf.co takes it (``POST /api/settings/papers/claim``); ``/settings/papers`` lists their claims (to withdraw one) and,
for administrators, the claims waiting for a decision (approve or refuse). Every change is a POST with the CSRF
token (or a write token) and counts against the account's write limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from papertide.errors import Forbidden, NotFound
from papertide.queries.claims import query_claimed_authors, query_claims
from papertide.queries.papers import query_papers_by_ids
from papertide.services.claims import approve_claim, claim_author, refuse_claim, withdraw_claim
from papertide.web.api.hf_shapes import hex_id, hf_author
from papertide.web.api.schemas import PROBLEMS, Problem
from papertide.web.deps import ReadSession, RowId, WriteSession, resolve_paper
from papertide.web.rendering.templating import render_page
from papertide.web.security import SignedIn, enforce_rate_limit

router = APIRouter()


@router.post("/papers/{arxiv_id:path}/claim")
def claim(
    request: Request,
    arxiv_id: str,
    session: WriteSession,
    user: SignedIn,
    position: Annotated[int, Form(ge=0, le=10_000)],
) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    paper = resolve_paper(session, arxiv_id)
    claim_author(session, user.id, paper.id, position)
    return RedirectResponse("/settings/papers", status_code=303)


@router.get("/settings/papers")
@router.get("/settings/papers.json")
def my_claims(request: Request, session: ReadSession, user: SignedIn) -> Response:
    context = {
        "claims": query_claims(session, user_id=user.id),
        "pending": query_claims(session, pending_only=True) if user.is_admin else [],
    }
    return render_page(request, "claims.html", context)


@router.post("/claims/{claim_id}/withdraw")
def withdraw(request: Request, claim_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    withdraw_claim(session, user.id, claim_id)
    return RedirectResponse("/settings/papers", status_code=303)


@router.post("/claims/{claim_id}/approve")
def approve(request: Request, claim_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    approve_claim(session, user, claim_id)
    return RedirectResponse("/settings/papers", status_code=303)


@router.post("/claims/{claim_id}/refuse")
def refuse(request: Request, claim_id: RowId, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    refuse_claim(session, user, claim_id)
    return RedirectResponse("/settings/papers", status_code=303)


class HfClaim(BaseModel):
    paperId: str = Field(max_length=300)  # noqa: N815 (hf.co's names)
    claimAuthorId: str = Field(max_length=24)  # noqa: N815
    targetUserId: str | None = Field(None, max_length=24)  # noqa: N815


CLAIM_REFUSALS: dict[int | str, dict[str, object]] = {
    **PROBLEMS,
    409: {
        "description": "The slot is claimed already, or you claim another of the paper.",
        "model": Problem,
        "content": {"application/problem+json": {}},
    },
}


@router.post(
    "/api/settings/papers/claim",
    tags=["hf.co compatible"],
    summary="Claim an author slot (hf.co shape)",
    responses=CLAIM_REFUSALS,
)
def hf_claim(request: Request, body: HfClaim, session: WriteSession, user: SignedIn) -> Response:
    """hf.co's claim: ``claimAuthorId`` is the author's ``_id`` in the paper's hf.co shape, ``targetUserId`` (if
    given) the caller's own ``_id``. Answers the paper's authors in hf.co's shape; a claim an ORCID iD approved
    at once shows there, a pending one waits for an administrator."""
    enforce_rate_limit(request, "write", user.id, session)
    paper = resolve_paper(session, body.paperId)
    if body.targetUserId not in (None, hex_id("user", user.username)):
        raise Forbidden("A claim is made for yourself: targetUserId is your own user id, or left out.")
    (row,) = query_papers_by_ids(session, [paper.id])
    slots = [index for index in range(len(row.authors)) if hex_id("author", row.arxiv_id, index) == body.claimAuthorId]
    if not slots:
        raise NotFound(f"Paper {row.arxiv_id} has no author with the id {body.claimAuthorId!r}.")
    made = claim_author(session, user.id, paper.id, slots[0])
    session.flush()
    claimed = query_claimed_authors(session, [paper.id]).get(paper.id, {})
    authors = [hf_author(row, index, claimed.get(index)) for index in range(len(row.authors))]
    return JSONResponse({"paperId": row.arxiv_id, "status": made.status, "authors": authors})
