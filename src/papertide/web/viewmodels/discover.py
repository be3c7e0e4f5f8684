"""The discovery pages' view-models: "more like this" (``/similar``: by a pasted abstract, by papers, with positives
and negatives) and a signed-in reader's picks (``/for-you``), each pick explained by the paper it resembles."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.queries.papers import query_papers_by_ids, query_votes_of
from papertide.search.personal import personal_picks
from papertide.search.semantic import Semantic, required
from papertide.search.similar import Examples, SimilarityError, similar_papers
from papertide.services.accounts import Identity
from papertide.text import latex_plain
from papertide.web.deps import PaperNotFound, lookup_paper
from papertide.web.viewmodels.cards import Card, card

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


def similar_page(
    session: Session,
    semantic: Semantic | None,
    viewer: Identity | None,
    text: str,
    pos: list[str],
    neg: list[str],
) -> SimilarPage:
    warnings: list[str] = []
    positives = _resolve(session, pos, warnings)
    negatives = _resolve(session, neg, warnings)
    page = SimilarPage(text, list(positives.values()), list(negatives.values()), [], {}, warnings=warnings)
    if text.strip() or positives:
        examples = Examples(text=text, positives=list(positives), negatives=list(negatives))
        try:
            hits = similar_papers(session, required(semantic), examples, limit=SHOWN)
        except SimilarityError as error:
            page.message = str(error)
        else:
            rows = query_papers_by_ids(session, [hit.paper_id for hit in hits])
            voted = query_votes_of(session, viewer.id if viewer else None, [row.id for row in rows])
            page.cards = [card(row, voted) for row in rows]
            scores = {hit.paper_id: hit.score for hit in hits}
            page.similarity = {row.arxiv_id: round(scores[row.id], 4) for row in rows}
    elif pos or neg:
        page.message = "None of those papers is known here; paste an abstract or name papers papertide has."
    return page


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


def for_you_page(database: Database, semantic: Semantic | None, viewer: Identity) -> ForYouPage:
    found = personal_picks(database, required(semantic), viewer.id, limit=SHOWN)
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
    return page
