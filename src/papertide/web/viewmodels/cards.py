"""View-models: what each page shows, built once from query rows and rendered as HTML or as its JSON twin.

Templates never reach into the database and JSON twins are ``asdict`` of the same objects, so a page and its
``.json`` always agree. Every link to another site a view-model carries has passed :func:`http_url`, so no
template can render a ``javascript:`` href, even from a row stored before sources checked their links.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from papertide.people import author_key
from papertide.queries.papers import Account, PaperRow
from papertide.text import http_url

EXCERPT_CHARS = 300
SHOWN_AUTHORS = 3


@dataclass(frozen=True, slots=True)
class Card:
    arxiv_id: str
    url: str
    title: str
    excerpt: str | None
    authors: list[str]  # all of them: COinS and the JSON twins carry every author; a card shows the first few
    author_count: int
    categories: list[str]
    published_on: str | None
    featured_on: str | None
    upvotes: int  # this instance's votes
    comments: int
    hf_upvotes: int | None  # hf.co's figures, shown apart and attributed
    hf_comments: int | None
    voted: bool
    submitted_by: Account | None
    organization: Account | None
    code_url: str | None
    trending_score: float | None
    keyphrases: list[str]  # papertide's own (services/keyphrases.py), labelled so on the card
    gist: str | None

    @property
    def shown_authors(self) -> list[str]:
        return self.authors[:SHOWN_AUTHORS]


def paper_url(arxiv_id: str) -> str:
    return f"/papers/{arxiv_id}"


def author_url(name: str) -> str:
    """The page of an author (``/authors/{key}``), from a name as papers spell it or from a key."""
    return f"/authors/{quote(author_key(name), safe='')}"


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str | None:
    """Cut at a word boundary, never inside a ``$…$`` math span (a half formula renders as garbage)."""
    if text is None or len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = limit if cut < limit // 2 else cut
    if text[:cut].count("$") % 2:
        cut = text.rfind("$", 0, cut)
    return text[:cut].rstrip(" ,;:") + "…"


def card(row: PaperRow, voted: set[int]) -> Card:
    names = [author["name"] for author in row.authors]
    return Card(
        arxiv_id=row.arxiv_id,
        url=paper_url(row.arxiv_id),
        title=row.title,
        excerpt=excerpt(row.abstract),
        authors=names,
        author_count=len(names),
        categories=row.categories[:3],
        published_on=dated(row),
        featured_on=row.featured_on.isoformat() if row.featured_on else None,
        upvotes=row.upvotes,
        comments=row.comments,
        hf_upvotes=row.hf_upvotes,
        hf_comments=row.hf_comments,
        voted=row.id in voted,
        submitted_by=row.submitted_by,
        organization=row.organization,
        code_url=http_url(row.code_url),
        trending_score=row.trending_score,
        keyphrases=row.keyphrases[:5],
        gist=row.gist,
    )


def dated(row: PaperRow) -> str | None:
    """The effective date as cards, COinS and JSON twins show it: a day, or only the month ("2026-08") when the
    month its id names is all that is known of it."""
    if row.published_on is None:
        return None
    if row.announced_on is None and row.submitted_at is None and row.featured_on is None:
        return row.published_on.strftime("%Y-%m")
    return row.published_on.isoformat()


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str
    active: bool = False


def query_string(**params: str | None) -> str:
    kept = {key: value for key, value in params.items() if value}
    return f"?{urlencode(kept)}" if kept else ""
