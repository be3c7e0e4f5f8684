"""Running a search: the :class:`SearchEngine` the app factory builds once (the keyword retriever the settings
choose, the optional semantic side, the fusion settings), the options a caller adds to the query, filters, sorting,
facets and highlights.

The search page, its JSON twin, the APIs and the search feed all call :meth:`SearchEngine.search` with
:class:`SearchOptions` built by keyword, and get plain rows back, so every caller renders the same results. A
search is a read, except that the tantivy engine may first index the few papers it lags by
(``TantivyRetriever.search`` says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import among
from papertide.models import FeaturedPaper, Organization, Paper, PaperCategory, PaperKeyphrase
from papertide.queries.papers import BOTH_UPVOTES, PaperRow, query_papers_by_ids
from papertide.search.fusion import Fused, Fusion
from papertide.search.keyword import database_retriever
from papertide.search.known_items import known_items_first, named_papers
from papertide.search.notices import unmatchable_filters
from papertide.search.proximity import ProximityRanking
from papertide.search.query import SearchQuery
from papertide.search.retrieval import Hit, KeywordRetriever
from papertide.search.semantic import Semantic
from papertide.search.tantivy_keyword.retriever import TantivyRetriever
from papertide.search.tantivy_keyword.sync import open_keyword_index

SearchSort = Literal["relevance", "date", "upvotes"]
SEARCH_SORTS: tuple[SearchSort, ...] = ("relevance", "date", "upvotes")
CANDIDATES = 1_000  # keyword hits considered for facets and non-relevance sorts


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    """What a caller adds to the query language (both apply: the form narrows, the box narrows), the page, and
    whether semantic neighbours may join the keyword hits. Built by keyword only, from the request's parameters."""

    category: str | None = None
    organization: str | None = None
    after: date | None = None
    before: date | None = None
    featured_only: bool = False
    has_code: bool = False
    sort: SearchSort = "relevance"
    limit: int = 20
    offset: int = 0
    semantic: bool = True  # False: keyword hits only, as a feed wants papers that match, not related ones


@dataclass(slots=True)
class SearchResults:
    query: SearchQuery
    rows: list[PaperRow]
    scores: dict[int, float]
    total: int
    facets: list[tuple[str, int]] = field(default_factory=list)
    # Which retrievers found each paper on the page: ("keyword",), ("semantic",) or both.
    matched_by: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # When nothing matched: why the query's filters cannot match here (``search/notices.py``).
    notices: list[str] = field(default_factory=list)
    # Whether more papers match than ``total`` counts: only the best ``CANDIDATES`` are ranked and counted.
    capped: bool = False


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
    for phrase in query.keyphrases:  # kw: papertide's own keyphrases (services/keyphrases.py), by index
        conditions.append(
            select(PaperKeyphrase.paper_id)
            .where(PaperKeyphrase.paper_id == Paper.id, PaperKeyphrase.phrase == phrase)
            .exists()
        )
    if featured_only:
        conditions.append(select(FeaturedPaper.id).where(FeaturedPaper.paper_id == Paper.id).exists())
    if query.after:
        conditions.append(Paper.published_on >= query.after)
    if query.before:
        conditions.append(Paper.published_on <= query.before)
    votes = BOTH_UPVOTES  # hf.co's and this instance's added, as the daily lists sort (docs/ranking.md)
    if query.min_upvotes is not None:
        conditions.append(votes >= query.min_upvotes)
    if query.max_upvotes is not None:
        conditions.append(votes <= query.max_upvotes)
    if query.has_code:
        conditions.append(Paper.code_url.is_not(None))
    return and_(true(), *conditions)


def keyword_retriever(settings: Settings) -> ProximityRanking:
    """tantivy when the settings give it an index directory (``PAPERTIDE_KEYWORD_ENGINE``, auto: beside a SQLite
    file), else the database's own full text, which also answers while no tantivy index is usable; either one's
    first hits re-ranked by proximity (``search/proximity.py``)."""
    database = database_retriever(settings.is_sqlite)
    path = settings.keyword_index_path
    engine = database if path is None else TantivyRetriever(open_keyword_index(path), database)
    return ProximityRanking(engine, settings.search_proximity_weight)


@dataclass(frozen=True, slots=True)
class Hybrid:
    """The semantic side of search and how its hits fuse with the keyword hits."""

    semantic: Semantic
    fusion: Fusion

    def retrieve(
        self, session: Session, query: SearchQuery, where: ColumnElement[bool], keyword: KeywordRetriever
    ) -> Fused:
        # Semantic hits obey the query's phrases, field terms and exclusions too: only the plain words are fuzzy.
        vector_where = and_(where, keyword.constraint(session, query))
        finish = self.semantic.search_ahead(session, query.natural_text, self.fusion.vector_candidates, vector_where)
        keyword_hits = keyword.search(session, query, where, CANDIDATES)
        semantic_hits = finish()
        title_only = _title_only(session, [*keyword_hits[:1], *semantic_hits])
        return self.fusion.fuse(keyword_hits, semantic_hits, title_only)


def _title_only(session: Session, hits: list[Hit]) -> set[int]:
    """The hits whose paper has no abstract: their vector was made from the title alone, their words are the title's."""
    if not hits:
        return set()
    ids = [hit.paper_id for hit in hits]
    return set(
        session.execute(select(Paper.id).where(among(session, Paper.id, ids), Paper.abstract.is_(None))).scalars()
    )


@dataclass(frozen=True, slots=True)
class SearchEngine:
    """Search as configured: built once per app (or bench run) by :meth:`of`, shared by every request."""

    keyword: KeywordRetriever
    hybrid: Hybrid | None = None  # None: keyword search only (``PAPERTIDE_SEMANTIC_SEARCH`` off)

    @classmethod
    def of(cls, settings: Settings, semantic: Semantic | None = None) -> SearchEngine:
        """The keyword retriever the settings choose, fused with ``semantic`` (when given) as the settings say."""
        hybrid = Hybrid(semantic, Fusion.of(settings)) if semantic is not None else None
        return cls(keyword_retriever(settings), hybrid)

    @property
    def semantic(self) -> Semantic | None:
        return self.hybrid.semantic if self.hybrid is not None else None

    def search(self, session: Session, query: SearchQuery, options: SearchOptions) -> SearchResults:
        """Keyword hits, fused with semantic ones when the engine has them, the options allow and the query has
        words; filtered, sorted, one page of rows. May index a few papers into tantivy first (see
        ``TantivyRetriever.search``)."""
        query = merged(query, options)
        where = filter_clause(query, options.featured_only)
        matched_by: dict[int, tuple[str, ...]] = {}
        if query.positive_terms:
            hits, matched_by = self._retrieve(session, query, where, options.semantic)
        elif query.has_filters or options.featured_only:
            hits = _filtered_only(session, where & self.keyword.constraint(session, query))  # its exclusions too
        else:
            return SearchResults(query, [], {}, 0)
        results = _results(session, query, options, hits, matched_by)
        if not hits:
            results.notices = unmatchable_filters(session, query, options.featured_only)
        return results

    def _retrieve(self, session: Session, query: SearchQuery, where: ColumnElement[bool], semantic: bool) -> Fused:
        """The retrievers' ranking with the papers the query names (``search/known_items.py``) first."""
        matched_by: dict[int, tuple[str, ...]] = {}
        if self.hybrid is None or not semantic or not query.natural_text.strip():
            hits = self.keyword.search(session, query, where, CANDIDATES)
        else:
            hits, matched_by = self.hybrid.retrieve(session, query, where, self.keyword)
        return known_items_first(named_papers(session, query, where), hits), matched_by


def _results(
    session: Session,
    query: SearchQuery,
    options: SearchOptions,
    hits: list[Hit],
    matched_by: dict[int, tuple[str, ...]],
) -> SearchResults:
    capped = len(hits) >= CANDIDATES
    ordered = _sorted(session, hits[:CANDIDATES], options.sort)
    page = ordered[options.offset : options.offset + options.limit]
    rows = query_papers_by_ids(session, [hit.paper_id for hit in page])
    return SearchResults(
        query=query,
        rows=rows,
        scores={hit.paper_id: hit.score for hit in page},
        total=len(ordered),
        facets=_facets(session, [hit.paper_id for hit in ordered]),
        matched_by={hit.paper_id: matched_by.get(hit.paper_id, ("keyword",)) for hit in page},
        capped=capped,
    )


def _filtered_only(session: Session, where: ColumnElement[bool]) -> list[Hit]:
    statement = (
        select(Paper.id)
        .where(where)
        .order_by(Paper.published_on.desc().nulls_last(), Paper.id.desc())
        .limit(CANDIDATES)
    )
    return [Hit(paper_id, 0.0) for paper_id in session.execute(statement).scalars()]


def _sorted(session: Session, hits: list[Hit], sort: SearchSort) -> list[Hit]:
    if sort == "relevance" or not hits:
        return hits
    # Upvotes are hf.co's and this instance's added, as the daily lists sort them (docs/ranking.md).
    column = BOTH_UPVOTES if sort == "upvotes" else Paper.published_on
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
