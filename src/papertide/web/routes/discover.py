"""More like this and personal picks: ``/similar`` (by a pasted abstract, by papers, with positives and
negatives), ``/for-you`` (a signed-in user's ranking, each pick explained) and the "not interested" button."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from papertide.queries.papers import query_papers_by_ids, query_votes_of
from papertide.search.personal import personal_picks
from papertide.search.semantic import Semantic
from papertide.search.similar import Examples, SimilarityError, similar_papers
from papertide.services.dismissals import dismiss_paper
from papertide.text import latex_plain
from papertide.web.deps import (
    AppDatabase,
    PaperNotFound,
    ReadSession,
    SemanticSearch,
    WriteSession,
    lookup_paper,
    resolve_paper,
)
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.templating import is_json_twin, redirect_back, render_page
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import Card, card

router = APIRouter()
MAX_TEXT = 10_000
MAX_IDS = 25
SHOWN = 30


@dataclass(slots=True)
class Example:
    arxiv_id: str
    title: str
    url: str


@dataclass(slots=True)
class SimilarPage:
    text: str
    positives: list[Example]
    negatives: list[Example]
    cards: list[Card]
    similarity: dict[str, float]
    message: str | None = None
    warnings: list[str] = field(default_factory=list)


def _semantic_or_503(semantic: Semantic | None) -> Semantic:
    if semantic is None:
        raise HTTPException(503, "Semantic search is turned off on this server (PAPERTIDE_SEMANTIC_SEARCH).")
    return semantic


def _resolve(session: Session, raw_ids: list[str], warnings: list[str]) -> dict[int, Example]:
    """Papers named by arXiv id, in the order given; unknown or malformed ids become warnings, not errors."""
    found: dict[int, Example] = {}
    for raw in raw_ids[:MAX_IDS]:
        try:
            paper = lookup_paper(session, raw.strip())
        except PaperNotFound as error:
            unknown = f"papertide has no paper {error.arxiv_id}; it was left out"
            warnings.append(unknown if error.arxiv_id else str(error))
            continue
        found[paper.id] = Example(paper.arxiv_id, latex_plain(paper.title), f"/papers/{paper.arxiv_id}")
    if len(raw_ids) > MAX_IDS:
        warnings.append(f"only the first {MAX_IDS} papers of each list are used")
    return found


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
    warnings: list[str] = []
    positives = _resolve(session, pos or [], warnings)
    negatives = _resolve(session, neg or [], warnings)
    page = SimilarPage(text, list(positives.values()), list(negatives.values()), [], {}, warnings=warnings)
    if text.strip() or positives:
        examples = Examples(text=text, positives=list(positives), negatives=list(negatives))
        try:
            hits = similar_papers(session, _semantic_or_503(semantic), examples, limit=SHOWN)
        except SimilarityError as error:
            page.message = str(error)
        else:
            rows = query_papers_by_ids(session, [hit.paper_id for hit in hits])
            voted = query_votes_of(session, user.id if user else None, [row.id for row in rows])
            page.cards = [card(row, voted) for row in rows]
            scores = {hit.paper_id: hit.score for hit in hits}
            page.similarity = {row.arxiv_id: round(scores[row.id], 4) for row in rows}
    elif pos or neg:
        page.message = "None of those papers is known here; paste an abstract or name papers papertide has."
    if is_json_twin(request.url.path):
        return _listing_twin(request, page)
    return render_page(request, "similar.html", {"page": page})


def _listing_twin(request: Request, page: SimilarPage) -> Response:
    """The listings' shape: the page's fields at the top, its papers at ``cards``. The same fields stay under
    ``page``, where this twin had them, through the next release (docs/api.md)."""
    fields = jsonable_encoder(page)
    return mark_public(JSONResponse({**fields, "page": fields}), request)


@dataclass(slots=True)
class Pick:
    card: Card
    score: float
    because: Example
    reason: str
    library: str | None = None  # the user's collection the pick resembles ("like papers in your library …")


@dataclass(slots=True)
class ForYouPage:
    picks: list[Pick]
    positives: int
    dismissed: int
    message: str | None = None


@router.get("/for-you")
@router.get("/for-you.json")
def for_you(request: Request, database: AppDatabase, user: SignedIn, semantic: SemanticSearch) -> Response:
    found = personal_picks(database, _semantic_or_503(semantic), user.id, limit=SHOWN)
    page = ForYouPage([], len(found.signals.positives), len(found.signals.dismissed))
    if not found.ready:
        page.message = (
            "Upvote papers or save them to a collection, and your picks appear here."
            if not found.signals.positives
            else "Your papers are still being embedded; picks appear within a minute or two."
        )
    for explained in found.picks:
        because = explained.because
        example = Example(because.arxiv_id, latex_plain(because.title), f"/papers/{because.arxiv_id}")
        page.picks.append(
            Pick(
                card(explained.paper, set()),
                round(explained.pick.score, 4),
                example,
                explained.pick.because,
                explained.pick.library,
            )
        )
    return render_page(request, "for_you.html", {"page": page})


@router.post("/for-you/dismiss")
def dismiss(
    request: Request, session: WriteSession, user: SignedIn, paper: Annotated[str, Form(max_length=64)]
) -> Response:
    """ "Not interested": the paper leaves the user's picks and teaches their model what they do not want."""
    enforce_rate_limit(request, "vote", user.id, session)
    dismiss_paper(session, user.id, resolve_paper(session, paper).id)
    return redirect_back(request, "/for-you")
