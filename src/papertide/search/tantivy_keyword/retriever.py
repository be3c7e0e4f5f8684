"""The :class:`KeywordRetriever` over the tantivy index: BM25 in tantivy, filters in the database (widening as
``Fts5Retriever`` does); the database's own full text answers while no index is usable.

A search is a read that may write: when the index lags the database by at most ``CATCH_UP_LIMIT`` papers, the
search indexes them before it answers (if no other process holds the write lock), so a paper submitted a moment
ago is found at once rather than after the next job tick. The index is a cache the database can rebuild, so this
write changes no data, only how fresh the cache is; a bigger lag is left to the sync and the index answers
meanwhile.
"""

from __future__ import annotations

from contextlib import nullcontext, suppress
from dataclasses import replace
from typing import cast

import tantivy
from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from papertide.db import among
from papertide.models import Paper
from papertide.search.query import SearchQuery
from papertide.search.retrieval import WIDEST, Hit, KeywordRetriever
from papertide.search.tantivy_keyword.index import IndexBusy, TantivyIndex
from papertide.search.tantivy_keyword.query import build_query, excluded, with_filters

CATCH_UP_LIMIT = 100  # papers a search indexes itself before answering; a bigger lag is the sync job's work


class TantivyRetriever:
    """BM25 in tantivy, filters in the database; ``database`` (FTS5 or PostgreSQL) answers while no index is usable."""

    def __init__(self, index: TantivyIndex, database: KeywordRetriever) -> None:
        self.index = index
        self.database = database

    def constraint(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        """Required phrases and field terms checked by the database's full text (kept by triggers); exclusions
        read from the index when it can answer, as its own ranking reads them (``build_query``), so a search of
        filters alone, its trend and the semantic side exclude the same papers as a search with words. It is also
        one index pass and a list of ids however many papers the filters leave: PostgreSQL checked each of 50,000
        papers' text for one excluded word of a trend series (436 ms at a million papers, bench/RESULTS.md)."""
        found = self._searcher(session) if any(term.negated for term in query.terms) else None
        if found is None:
            return self.database.constraint(session, query)
        searcher, schema = found
        kept = replace(query, terms=tuple(term for term in query.terms if not term.negated))
        removed = excluded(query, schema, searcher)
        required = self.database.constraint(session, kept)
        return required if removed is None else required & ~among(session, Paper.id, _every_id(searcher, removed))

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Ranked in tantivy, filtered in the database. Writes the index first when it lags by a few papers (see
        :meth:`_lag`): a reader that writes, so that a paper just submitted is found by the next search."""
        found = self._searcher(session)
        if found is None:
            return self.database.search(session, query, where, limit)
        searcher, schema = found
        built = build_query(query, schema, searcher)
        if built is None:
            return []
        built = with_filters(built, query, schema)
        fetch = limit
        while fetch <= WIDEST:
            hits = searcher.search(built, fetch, count=False).hits
            addresses = [address for _, address in hits]
            ids = cast(list[int], searcher.fast_field_values("id", addresses)) if hits else []  # an integer field
            passing = set(session.execute(select(Paper.id).where(among(session, Paper.id, ids), where)).scalars())
            ranked = [Hit(pid, float(score)) for (score, _), pid in zip(hits, ids, strict=True) if pid in passing]
            if len(ranked) >= limit or len(hits) < fetch:
                return ranked[:limit]
            fetch *= 4
        # A filter so narrow that the best 16,000 matches hold too few of its papers: filter first in SQL.
        return self.database.search_exact(session, query, where, limit)

    def search_exact(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        return self.database.search_exact(session, query, where, limit)

    def matching(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        """Every paper the index matches, within the query's dates and categories (which the index narrows by), as
        a list of ids: one pass in tantivy however many match, where the database's full text takes seconds for a
        common word at a million papers (bench/RESULTS.md)."""
        found = self._searcher(session)
        if found is None:
            return self.database.matching(session, query)
        searcher, schema = found
        built = build_query(query, schema, searcher)
        if built is None:
            return false()
        return among(session, Paper.id, _every_id(searcher, with_filters(built, query, schema)))

    def narrowing(self, session: Session, query: SearchQuery, most: int) -> ColumnElement[bool] | None:
        """The papers of the query's categories within its dates, when the index holds every paper written (after
        the catch-up of :meth:`_lag`) and there are at most ``most``: the index narrows by both at once, where the
        database reads a category's papers of all times (200,000 of cs.CL at a million papers) to keep a window's."""
        found = self._searcher(session, current=True) if query.categories else None
        if found is None:
            return None
        searcher, schema = found
        within = with_filters(tantivy.Query.all_query(), query, schema)
        total = _count(searcher, within)
        return None if total > most else among(session, Paper.id, _every_id(searcher, within, total))

    def _searcher(self, session: Session, current: bool = False) -> tuple[tantivy.Searcher, tantivy.Schema] | None:
        """The index's searcher when it can answer (:meth:`_lag`), else None: the database answers instead. With
        ``current``, only when the index also lacks no paper written."""
        lag = self._lag(session)
        return None if lag is None or (current and lag) else self.index.searcher()

    def _lag(self, session: Session) -> int | None:
        """How many papers written the index lacks (up to ``CATCH_UP_LIMIT`` + 1), or None when it cannot answer
        (missing or unreadable). A few papers changed since its mark are indexed here first, so a paper submitted a
        moment ago is found at once. A bigger lag (an ingest in progress) or another process writing the index is
        the sync's to catch up; meanwhile the index answers without the newest changes, because the database's own
        full text takes seconds a query at scale (FTS5 p50 562 ms at 1M papers, PostgreSQL's past 10 s at 2.7M:
        bench/RESULTS.md) and would stall every search of an ingest."""
        pending = self.index.pending(session, CATCH_UP_LIMIT + 1)
        if pending is None or not pending or len(pending) > CATCH_UP_LIMIT:
            return None if pending is None else len(pending)
        with suppress(IndexBusy, OSError, ValueError, RuntimeError):  # another writer: it will catch up
            self.index.sync(lambda: nullcontext(session), wait=False, limit=CATCH_UP_LIMIT)
            return len(self.index.pending(session, 1) or [])  # what was written meanwhile
        return len(pending)


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    return searcher.search(query, 1, count=True).count or 0  # type: ignore[attr-defined]  # not in the stubs


def _every_id(searcher: tantivy.Searcher, query: tantivy.Query, total: int | None = None) -> list[int]:
    """The ids of every paper ``query`` matches (``total`` of them, counted here unless known), in one unranked
    pass however many, in order: the database then reads its index in order too (50,000 ids at a million papers:
    60 → 49 ms on SQLite, bench/RESULTS.md)."""
    total = _count(searcher, query) if total is None else total
    addresses = [address for _, address in searcher.search(query, total, count=False).hits] if total else []
    return sorted(cast(list[int], searcher.fast_field_values("id", addresses))) if addresses else []  # an integer
