"""The paper page's view-model: the paper, its versions and metadata, its links, comments, collections and similar
papers, and what the viewer may do there; the page's HTML and its JSON twin (``/papers/{id}.json``) render it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from papertide.arxiv_ids import abs_url, pdf_url
from papertide.queries.claims import query_claimed_authors
from papertide.queries.collections import query_collections_with, query_own_collections
from papertide.queries.comments import CommentRow, query_comments
from papertide.queries.papers import PaperExtras, PaperRow, query_paper_extras, query_papers_by_ids, query_votes_of
from papertide.search.embedder import EmbedderError
from papertide.search.semantic import Semantic
from papertide.search.similar import Examples, similar_papers
from papertide.services.accounts import Identity
from papertide.services.submissions import can_edit_links
from papertide.text import http_url
from papertide.web.viewmodels.cards import Card, Link, card

log = logging.getLogger(__name__)
SIMILAR_SHOWN = 6


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
    claimed_by: dict[int, str] = field(default_factory=dict)  # author position -> the account that claimed it


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


def paper_page(session: Session, row: PaperRow, viewer: Identity | None, semantic: Semantic | None) -> PaperPage:
    """The page's view-model, which the HTML and the JSON twin both render."""
    viewer_id = viewer.id if viewer else None
    extras = query_paper_extras(session, row.id)
    comments = query_comments(session, row.id, include_hidden=bool(viewer and viewer.is_admin))
    return PaperPage(
        card=card(row, query_votes_of(session, viewer_id, [row.id])),
        abstract=row.abstract,
        authors=row.authors,
        categories=row.categories,
        submitted_at=row.submitted_at.strftime("%Y-%m-%d") if row.submitted_at else None,
        updated_at=extras.updated_at.strftime("%Y-%m-%d") if extras.updated_at else None,
        version=extras.version,
        versions=extras.versions,
        arxiv_comments=extras.comments_field,
        journal_ref=extras.journal_ref,
        doi=extras.doi,
        license=extras.license,
        links=paper_links(row, extras),
        project_url=row.project_url,
        comments=[comment_view(c, viewer.username if viewer else None) for c in comments],
        collections=[
            {"title": c.title, "url": c.path, "owner": c.owner}
            for c in query_collections_with(session, row.id, viewer_id)
        ],
        can_edit_links=bool(viewer_id and can_edit_links(session, row.id, viewer_id)),
        my_collections=[{"id": ident, "title": title} for ident, title in query_own_collections(session, viewer_id)],
        hidden=extras.hidden,
        similar=_similar_cards(session, semantic, row.id),
        ai_summary=row.ai_summary,
        ai_keywords=row.ai_keywords or [],
        claimed_by={
            position: claimed.username
            for position, claimed in query_claimed_authors(session, [row.id]).get(row.id, {}).items()
        },
    )


def _similar_cards(session: Session, semantic: Semantic | None, paper_id: int) -> list[Card]:
    if semantic is None:
        return []
    try:
        hits = similar_papers(session, semantic, Examples(positives=[paper_id]), limit=SIMILAR_SHOWN)
    except EmbedderError:
        log.exception("similar papers are unavailable: the embedding model did not load")
        return []
    return [card(row, set()) for row in query_papers_by_ids(session, [hit.paper_id for hit in hits])]
