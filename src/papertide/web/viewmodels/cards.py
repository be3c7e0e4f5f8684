"""View-models: what each page shows, built once from query rows and rendered as HTML or as its JSON twin.

Templates never reach into the database and JSON twins are ``asdict`` of the same objects, so a page and its
``.json`` always agree. Every link to another site a view-model carries has passed :func:`http_url`, so no
template can render a ``javascript:`` href, even from a row stored before sources checked their links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from papertide.arxiv_ids import abs_url, pdf_url
from papertide.people import author_key
from papertide.periods import Period, month_period, week_period
from papertide.queries.comments import CommentRow
from papertide.queries.listings import SORTS, Sort
from papertide.queries.papers import Account, PaperExtras, PaperRow
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
        published_on=row.announced_on.isoformat() if row.announced_on else None,
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
    )


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str
    active: bool = False


@dataclass(slots=True)
class ListingPage:
    title: str
    heading: str
    kind: str
    period: str | None
    sort: str
    category: str | None
    cards: list[Card]
    previous: Link | None = None
    next: Link | None = None
    sorts: list[Link] = field(default_factory=list)
    chips: list[Link] = field(default_factory=list)
    tabs: list[Link] = field(default_factory=list)
    empty_hint: str = ""
    json_url: str = ""


def listing_tabs(period: Period | None, active: str) -> list[Link]:
    day = period.start if period else None
    return [
        Link("Daily", f"/papers/date/{day.isoformat()}" if day else "/", active == "day"),
        Link("Weekly", f"/papers/week/{week_period(day).key}" if day else "/papers/week", active == "week"),
        Link("Monthly", f"/papers/month/{month_period(day).key}" if day else "/papers/month", active == "month"),
        Link("Trending", "/papers/trending", active == "trending"),
    ]


def query_string(**params: str | None) -> str:
    kept = {key: value for key, value in params.items() if value}
    return f"?{urlencode(kept)}" if kept else ""


def sort_links(base: str, current: Sort, category: str | None) -> list[Link]:
    return [Link(s.capitalize(), base + query_string(sort=s, category=category), s == current) for s in SORTS]


def category_chips(base: str, counts: list[tuple[str, int]], current: str | None, sort: Sort) -> list[Link]:
    keep_sort = None if sort == "upvotes" else sort
    chips = [Link("All", base + query_string(sort=keep_sort), current is None)]
    chips += [
        Link(f"{category} · {count}", base + query_string(sort=keep_sort, category=category), category == current)
        for category, count in counts[:12]
    ]
    if current and all(not chip.active for chip in chips):
        chips.append(Link(current, base + query_string(sort=keep_sort, category=current), True))
    return chips


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    parent_id: int | None
    author: str | None
    html: str
    body: str
    created_at: str
    edited: bool
    hidden: bool
    deleted: bool
    mine: bool


@dataclass(slots=True)
class PaperPage:
    card: Card
    abstract: str | None
    authors: list[dict[str, Any]]
    categories: list[str]
    submitted_at: str | None
    updated_at: str | None
    version: int | None
    versions: list[dict[str, Any]]
    arxiv_comments: str | None
    journal_ref: str | None
    doi: str | None
    license: str | None
    links: list[Link]
    project_url: str | None
    comments: list[CommentView]
    collections: list[dict[str, Any]]
    can_edit_links: bool
    my_collections: list[dict[str, Any]] = field(default_factory=list)
    hidden: bool = False
    similar: list[Card] = field(default_factory=list)
    ai_summary: str | None = None  # hf.co's machine summary and keywords, shown as hf.co's
    ai_keywords: list[str] = field(default_factory=list)


def paper_links(row: PaperRow, extras: PaperExtras) -> list[Link]:
    """The buttons of a paper page; a stored link that is not http(s) is left out rather than rendered."""
    doi = f"https://doi.org/{quote(extras.doi, safe='/')}" if extras.doi else None
    candidates = [
        ("arXiv", abs_url(row.arxiv_id)),
        ("PDF", pdf_url(row.arxiv_id)),
        ("DOI", doi),
        ("Code", row.code_url),
        ("Project page", row.project_url),
    ]
    checked = ((label, http_url(url)) for label, url in candidates)
    return [Link(label, url) for label, url in checked if url]


def comment_view(row: CommentRow, viewer: str | None) -> CommentView:
    return CommentView(
        id=row.id,
        parent_id=row.parent_id,
        author=row.author,
        html=row.body_html,
        body=row.body,
        created_at=row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        edited=row.edited_at is not None,
        hidden=row.hidden,
        deleted=row.deleted,
        mine=viewer is not None and viewer == row.author and not row.deleted,
    )
