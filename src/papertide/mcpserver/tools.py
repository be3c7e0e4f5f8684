"""The MCP tools' bodies: each parses its arguments, calls the same queries, search and services as the web
routes, and answers a small result (``results.py``). Bad input — a malformed or unknown arXiv id, a bad period,
nothing to search for — raises :class:`ToolError` with a message an assistant can act on; the SDK answers it as a
tool error, never as an exception. Hidden papers are never returned: every read goes through the visible-only
queries, and an id that names a hidden paper is as unknown as one papertide never saw.

Bodies run in the SDK's worker threads (they are synchronous: the database and the model block), one short
transaction each, as the web's routes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy.orm import Session

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.config import Settings
from papertide.db import Database
from papertide.mcpserver.caller import Caller, count_write
from papertide.mcpserver.results import Added, CollectionBrief, CollectionList, PaperBrief, PaperDetail, PaperList
from papertide.periods import InvalidPeriod, Period, PeriodKind, parse_period
from papertide.queries.collections import query_collection_listing
from papertide.queries.listings import Sort, TrendingRules, query_featured, query_latest_featured_day, query_trending
from papertide.queries.papers import PaperRow, query_paper, query_papers_by_ids
from papertide.search.embedder import EmbedderError
from papertide.search.engine import SearchEngine, SearchOptions, SearchSort, merged
from papertide.search.personal import personal_picks
from papertide.search.query import parse_query
from papertide.search.semantic import Semantic
from papertide.search.similar import Examples, SimilarityError, similar_papers
from papertide.services.collections import CollectionError, add_to_collection
from papertide.services.reading import read_paper_markdown

MAX_COLLECTIONS_LISTED = 200
MODEL_DOWN = "The embedding model did not load on this server; {} is unavailable."


@dataclass(frozen=True, slots=True)
class Toolbox:
    """What the tools work with: the app's database, settings and search engine (the CLI opens its own)."""

    database: Database
    settings: Settings
    search: SearchEngine

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def semantic(self, tool: str) -> Semantic:
        if self.search.semantic is None:
            raise ToolError(f"{tool} needs semantic search, which is turned off on this server; use search_papers.")
        return self.search.semantic


@dataclass(frozen=True, slots=True)
class Filters:
    """search_papers' optional filters (the query language can say the same: ``cat:cs.CL after:2025-01-01``)."""

    category: str | None = None
    after: date | None = None
    before: date | None = None
    featured_only: bool = False
    has_code: bool = False
    sort: SearchSort = "relevance"


def visible_paper(session: Session, arxiv_id: str) -> PaperRow:
    """The visible paper an id names in any form (``2503.24322v2``, ``arXiv:…``, an arxiv.org or papertide URL)."""
    try:
        canonical = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        raise ToolError(f"{error}. Give an arXiv id such as 2503.24322 or an arxiv.org/abs/ URL.") from error
    row = query_paper(session, canonical)
    if row is None:
        raise ToolError(f"papertide has no paper {canonical}. Find papers with search_papers first.")
    return row


def search_papers(box: Toolbox, query: str, limit: int, filters: Filters) -> PaperList:
    parsed = parse_query(query)
    with box.database.read_session() as session:
        if parsed.arxiv_id:  # a pasted id is a jump to that paper, as in the search box
            row = visible_paper(session, parsed.arxiv_id)
            return PaperList(papers=[PaperBrief.of(row, box.base_url, "the arXiv id asked for")], total=1)
        options = SearchOptions(
            category=filters.category,
            after=filters.after,
            before=filters.before,
            featured_only=filters.featured_only,
            has_code=filters.has_code,
            sort=filters.sort,
            limit=limit,
        )
        if merged(parsed, options).is_empty and not filters.featured_only:
            raise ToolError("Give words to search for, or a filter such as cat:cs.CL (see the tool's description).")
        results = box.search.search(session, parsed, options)
    papers = [
        PaperBrief.of(row, box.base_url, "matched by " + " and ".join(results.matched_by.get(row.id, ("filters",))))
        for row in results.rows
    ]
    return PaperList(papers=papers, total=results.total, notes=list(results.query.warnings))


def similar_to(
    box: Toolbox, arxiv_id: str | None, query: str | None, like: list[str], unlike: list[str], limit: int
) -> PaperList:
    semantic = box.semantic("similar_papers")
    with box.database.read_session() as session:
        positives = [visible_paper(session, one).id for one in ([arxiv_id] if arxiv_id else []) + like]
        negatives = [visible_paper(session, one).id for one in unlike]
        try:
            hits = similar_papers(session, semantic, Examples(query, positives, negatives), limit)
        except SimilarityError as error:
            raise ToolError(f"{error}: give arxiv_id, query (a text) or like.") from error
        except EmbedderError as error:
            raise ToolError(
                "The embedding model did not load on this server; similar_papers is unavailable."
            ) from error
        rows = {row.id: row for row in query_papers_by_ids(session, [hit.paper_id for hit in hits])}
    papers = [
        PaperBrief.of(rows[hit.paper_id], box.base_url, f"similarity {hit.score:.2f}")
        for hit in hits
        if hit.paper_id in rows
    ]
    return PaperList(papers=papers, total=len(papers))


def one_period(day: str | None, week: str | None, month: str | None) -> Period | None:
    asked: tuple[tuple[PeriodKind, str | None], ...] = (("day", day), ("week", week), ("month", month))
    given = [(kind, value) for kind, value in asked if value]
    if len(given) > 1:
        raise ToolError("Give at most one of date, week and month.")
    if not given:
        return None
    try:
        return parse_period(*given[0])
    except InvalidPeriod as error:
        raise ToolError(str(error)) from error


def daily(box: Toolbox, period: Period | None, sort: Sort, limit: int) -> PaperList:
    rules, now = TrendingRules.of(box.settings), datetime.now(UTC)
    notes: list[str] = []
    with box.database.read_session() as session:
        if period is None and sort == "trending":
            rows = query_trending(session, rules, now=now, limit=limit)
            notes.append(f"Trending over the last {rules.window_days} days.")
        else:
            if period is None:
                latest = query_latest_featured_day(session)
                if latest is None:
                    return PaperList(papers=[], total=0, notes=["No paper has been featured on this instance yet."])
                period = parse_period("day", latest.isoformat())
                notes.append(f"No period given: the latest featured day, {latest.isoformat()}.")
            rows = query_featured(
                session, start=period.start, end=period.end, sort=sort, limit=limit, trending=rules, now=now
            )
    papers = [PaperBrief.of(row, box.base_url, _featured_why(row)) for row in rows]
    return PaperList(papers=papers, total=len(papers), notes=notes)


def _featured_why(row: PaperRow) -> str:
    day = row.featured_on.isoformat() if row.featured_on else "recently"
    on_hf = f" (+{row.hf_upvotes} on hf.co)" if row.hf_upvotes is not None else ""
    return f"featured {day}, {row.upvotes} upvotes here{on_hf}, {row.comments} comments"


def get_paper(box: Toolbox, arxiv_id: str) -> PaperDetail:
    with box.database.read_session() as session:
        return PaperDetail.of(visible_paper(session, arxiv_id), box.base_url)


def read_paper(box: Toolbox, arxiv_id: str) -> str:
    with box.database.read_session() as session:
        row = visible_paper(session, arxiv_id)
        return read_paper_markdown(session, box.search.semantic, row, box.base_url)


def list_collections(box: Toolbox, caller: Caller, username: str | None) -> CollectionList:
    owner = username or (caller.user.username if caller.user else None)
    if owner is None:
        raise ToolError("Give a username to list their public collections, or use a token to list your own.")
    with box.database.read_session() as session:
        viewer = caller.user.id if caller.user else None
        rows = query_collection_listing(session, viewer, owners=[owner], paper_ids=[], limit=MAX_COLLECTIONS_LISTED)
    return CollectionList(collections=[CollectionBrief.of(row, box.base_url) for row in rows])


def collect(box: Toolbox, caller: Caller, collection_id: int, arxiv_id: str, note: str) -> Added:
    user = caller.writer("add_to_collection")
    with box.database.write_session() as session:
        paper = visible_paper(session, arxiv_id)
        count_write(session, box.settings, user)
        try:
            add_to_collection(
                session, collection_id=collection_id, owner_id=user.id, paper_id=paper.id, note=note or None
            )
        except CollectionError as error:
            raise ToolError(f"{error} List yours with list_collections.") from error
    return Added(collection_id=collection_id, arxiv_id=paper.arxiv_id, detail=f"Added {paper.arxiv_id}.")


def my_feed(box: Toolbox, caller: Caller, limit: int) -> PaperList:
    user = caller.reader("my_feed")
    try:
        found = personal_picks(box.database, box.semantic("my_feed"), user.id, limit=limit)
    except EmbedderError as error:
        raise ToolError(MODEL_DOWN.format("my_feed")) from error
    if not found.ready:
        note = "Upvote or collect a few papers on papertide first: your feed learns from them."
        return PaperList(papers=[], total=0, notes=[note])
    papers = [
        PaperBrief.of(
            p.paper,
            box.base_url,
            f"close to {p.because.arxiv_id} ({' '.join(p.because.title.split())}), which you {p.pick.because}",
        )
        for p in found.picks
    ]
    return PaperList(papers=papers, total=len(papers))
