"""Running a search: filters from the box and the form, the keyword retriever, sorting, facets, highlights.

This is what the search page, its JSON twin and (later) the API call. It returns plain rows, so every caller
renders the same results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import among
from papertide.models import FeaturedPaper, Organization, Paper, PaperCategory
from papertide.queries import PaperRow, query_papers_by_ids
from papertide.search.fusion import fuse
from papertide.search.keyword import Hit, KeywordRetriever, keyword_retriever
from papertide.search.query import SearchQuery
from papertide.search.semantic import Semantic

SearchSort = Literal["relevance", "date", "upvotes"]
SEARCH_SORTS: tuple[SearchSort, ...] = ("relevance", "date", "upvotes")
CANDIDATES = 1_000  # keyword hits considered for facets and non-relevance sorts


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """What the form adds to the query language (both apply: the form narrows, the box narrows)."""

    category: str | None = None
    organization: str | None = None
    after: date | None = None
    before: date | None = None
    featured_only: bool = False
    has_code: bool = False
    sort: SearchSort = "relevance"
    limit: int = 20
    offset: int = 0


@dataclass(slots=True)
class SearchResults:
    query: SearchQuery
    rows: list[PaperRow]
    scores: dict[int, float]
    total: int
    facets: list[tuple[str, int]] = field(default_factory=list)
    # Which retrievers found each paper on the page: ("keyword",), ("semantic",) or both.
    matched_by: dict[int, tuple[str, ...]] = field(default_factory=dict)


def merged(query: SearchQuery, options: SearchOptions) -> SearchQuery:
    return replace(
        query,
        categories=query.categories + ((options.category,) if options.category else ()),
        organizations=query.organizations + ((options.organization,) if options.organization else ()),
        after=max(filter(None, (query.after, options.after)), default=None),
        before=min(filter(None, (query.before, options.before)), default=None),
        has_code=query.has_code or options.has_code,
    )


def filter_clause(query: SearchQuery, featured_only: bool = False) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [Paper.hidden.is_(False)]
    for category in query.categories:
        conditions.append(
            select(PaperCategory.paper_id)
            .where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
            .exists()
        )
    for organization in query.organizations:
        conditions.append(
            select(FeaturedPaper.id)
            .join(Organization, Organization.id == FeaturedPaper.organization_id)
            .where(FeaturedPaper.paper_id == Paper.id, func.lower(Organization.name) == organization.lower())
            .exists()
        )
    if featured_only:
        conditions.append(select(FeaturedPaper.id).where(FeaturedPaper.paper_id == Paper.id).exists())
    published = published_on()
    if query.after:
        conditions.append(published >= query.after)
    if query.before:
        conditions.append(published <= query.before)
    if query.min_upvotes is not None:
        conditions.append(Paper.upvote_count >= query.min_upvotes)
    if query.max_upvotes is not None:
        conditions.append(Paper.upvote_count <= query.max_upvotes)
    if query.has_code:
        conditions.append(Paper.code_url.is_not(None))
    return and_(true(), *conditions)


def published_on() -> ColumnElement[Any]:
    """The day a paper appeared: its arXiv listing date, else the day of its first version."""
    return func.coalesce(Paper.announced_on, func.date(Paper.submitted_at))


def search_papers(
    session: Session,
    query: SearchQuery,
    options: SearchOptions,
    semantic: Semantic | None = None,
    *,
    settings: Settings | None = None,
) -> SearchResults:
    """Keyword hits fused with semantic ones (when ``semantic`` is given and the query has words), filtered.

    ``settings`` (or, without them, ``semantic``'s) choose the keyword engine; with neither, the database's own
    full-text search ranks."""
    query = merged(query, options)
    where = filter_clause(query, options.featured_only)
    matched_by: dict[int, tuple[str, ...]] = {}
    if query.positive_terms:
        keyword = keyword_retriever(session, settings or (semantic.settings if semantic else None))
        hits, matched_by = _retrieve(session, query, where, keyword, semantic)
    elif query.has_filters or options.featured_only:
        hits = _filtered_only(session, where)
    else:
        return SearchResults(query, [], {}, 0)
    ordered = _sorted(session, hits, options.sort)
    page = ordered[options.offset : options.offset + options.limit]
    rows = query_papers_by_ids(session, [hit.paper_id for hit in page])
    return SearchResults(
        query=query,
        rows=rows,
        scores={hit.paper_id: hit.score for hit in page},
        total=len(hits),
        facets=_facets(session, [hit.paper_id for hit in hits]),
        matched_by={hit.paper_id: matched_by.get(hit.paper_id, ("keyword",)) for hit in page},
    )


def _retrieve(
    session: Session,
    query: SearchQuery,
    where: ColumnElement[bool],
    keyword: KeywordRetriever,
    semantic: Semantic | None,
) -> tuple[list[Hit], dict[int, tuple[str, ...]]]:
    if semantic is None or not query.natural_text.strip():
        return keyword.search(session, query, where, CANDIDATES), {}
    # Semantic hits obey the query's phrases, field terms and exclusions too: only the plain words are fuzzy.
    vector_where = and_(where, keyword.constraint(query))
    semantic_search = semantic.search_ahead(
        session, query.natural_text, semantic.settings.vector_candidates, vector_where
    )
    keyword_hits = keyword.search(session, query, where, CANDIDATES)
    vector_hits = semantic_search()
    share = semantic.settings.search_keyword_weight
    return fuse(
        {"keyword": keyword_hits, "semantic": vector_hits},
        semantic.settings.search_fusion,
        {"keyword": share, "semantic": 1.0 - share},
        k=semantic.settings.search_rrf_k,
    )


def _filtered_only(session: Session, where: ColumnElement[bool]) -> list[Hit]:
    statement = (
        select(Paper.id)
        .where(where)
        .order_by(Paper.announced_on.desc().nulls_last(), Paper.id.desc())
        .limit(CANDIDATES)
    )
    return [Hit(paper_id, 0.0) for paper_id in session.execute(statement).scalars()]


def _sorted(session: Session, hits: list[Hit], sort: SearchSort) -> list[Hit]:
    if sort == "relevance" or not hits:
        return hits
    column = (
        Paper.upvote_count if sort == "upvotes" else func.coalesce(Paper.announced_on, func.date(Paper.submitted_at))
    )
    order = session.execute(
        select(Paper.id)
        .where(among(session, Paper.id, [h.paper_id for h in hits]))
        .order_by(column.desc().nulls_last(), Paper.id.desc())
    ).scalars()
    by_id = {hit.paper_id: hit for hit in hits}
    return [by_id[paper_id] for paper_id in order]


def _facets(session: Session, paper_ids: list[int]) -> list[tuple[str, int]]:
    if not paper_ids:
        return []
    statement = (
        select(PaperCategory.category, func.count())
        .where(among(session, PaperCategory.paper_id, paper_ids))
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
        .limit(15)
    )
    return [(category, count) for category, count in session.execute(statement)]


def highlight(text_value: str | None, query: SearchQuery) -> Markup:
    """Escape, then wrap the words that start like a query word in <mark> (a display aid, not the matcher)."""
    if not text_value:
        return Markup("")
    stems = sorted({_stem(word) for term in query.positive_terms for word in term.text.split()}, key=len, reverse=True)
    escaped = str(escape(text_value))
    stems = [s for s in stems if len(s) >= 3]
    if not stems:
        return Markup(escaped)
    pattern = re.compile(r"(?<![&#\w])(" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))


def _stem(word: str) -> str:
    """A crude stem, enough to highlight 'pruning' for 'pruners': drop common English endings."""
    lowered = word.lower()
    for ending in ("ations", "ation", "ings", "ing", "ers", "ies", "es", "er", "ed", "s"):
        if lowered.endswith(ending) and len(lowered) - len(ending) >= 4:
            return lowered[: -len(ending)]
    return lowered
