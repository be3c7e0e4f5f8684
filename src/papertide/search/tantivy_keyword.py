"""Keyword retrieval over a tantivy index kept beside the database: the index, keeping it in step, the retriever.

FTS5 and PostgreSQL score every match of an OR query, so a natural-language query costs hundreds of milliseconds
at a million papers; tantivy's BM25 skips the documents that cannot reach the top (block-max WAND) and answers in
about a millisecond. What this module owns:

* :class:`TantivyIndex`, one index directory (``settings.keyword_index_path``: ``papertide.keyword`` beside a
  SQLite file). The database is the source of truth and the index a cache of ``papers`` (title, author names,
  abstract), like the vector file in ``search/vectors.py``. A watermark, the ``(modified_at, id)`` of the last
  paper indexed, is committed inside the index with each batch, so a killed sync resumes where it stopped and a
  missing or damaged index is rebuilt from the database.
* :func:`sync_keyword_index`, which the job tick and the CLI call after ingests: indexes the papers changed since
  the watermark, in batches. One process writes at a time (a file lock beside the directory); readers in every
  process reload when the directory's commit file changes.
* :class:`TantivyRetriever`, a :class:`KeywordRetriever` with the semantics of ``search/keyword.py``. Queries are
  built from the parsed :class:`SearchQuery`, never by tantivy's query parser, so user text is never syntax. It
  ranks in tantivy, then filters candidates in the database (the filter clause, hidden papers included), widening
  as ``Fts5Retriever`` does. Only while the index is absent or broken is a search answered by the database's own
  full-text retriever.

A search is a read that may write: when the index lags the database by at most ``CATCH_UP_LIMIT`` papers, the
search indexes them before it answers (if no other process holds the write lock), so a paper submitted a moment
ago is found at once rather than after the next job tick. The index is a cache the database can rebuild, so this
write changes no data, only how fresh the cache is; a bigger lag is left to the sync and the index answers meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import tantivy
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database, among
from papertide.models import Paper
from papertide.search.filelock import exclusive_lock
from papertide.search.query import SearchQuery, Term
from papertide.search.retrieval import WIDEST, Hit, KeywordRetriever, plain_words, prefix_root

# Bump when the schema or the analyzer changes: an index of another version is rebuilt.
SCHEMA_VERSION = 1
ANALYZER = "papertide_english"
MARKER = "papertide-keyword-index"  # a file naming the directory ours, so a rebuild never deletes anything else
# Plain words and unfielded phrases are ranked by one BM25 over title, authors and abstract together ("text"):
# on CACM it beat per-field BM25 with weights 3/2/1, 2/1/1 and 1/1/1, and a title counted twice (bench/RESULTS.md).
# The separate fields serve ``title:``, ``author:`` and ``abstract:`` terms.
TEXT = "text"
_FIELDS = {"title": "title", "author": "authors", "abstract": "abstract"}
CATCH_UP_LIMIT = 100  # papers a search indexes itself before answering; a bigger lag is the sync job's work
SYNC_BATCH = 5_000  # papers per commit: a kill loses at most one batch of work
PREFIX_EXPANSIONS = 16  # the commonest words of a prefix scored by BM25; every other word matches at a flat score
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[int, int], None]  # (papers indexed so far, papers that were pending when the sync began)


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    """Unicode words, lowercased, diacritics folded ("Týr" is "tyr"), English Snowball stems. Function words stay
    in the index so phrases keep them; plain-word queries drop them (``content_words``)."""
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(64))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    return (builder.filter(tantivy.Filter.stemmer("english")) if stem else builder).build()


STEMMED = _analyzer(stem=True)
FOLDED = _analyzer(stem=False)  # for typed prefixes, which must not be stemmed themselves


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)  # paper id; 0 holds the watermark document
    for name in (TEXT, *_FIELDS.values()):
        builder.add_text_field(name, tokenizer_name=ANALYZER, index_option="position")
    # Filters only the upsert changes (and so stamps ``modified_at``), so tantivy can rank only papers that may
    # pass them; the database still checks every filter. Code links, upvotes, featured days and hidden flags
    # change elsewhere, so they are left to the database.
    builder.add_text_field("category", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("published", indexed=True, fast=True)  # the listing day, in days since 1970
    builder.add_text_field("meta", stored=True, tokenizer_name="raw")
    return builder.build()


@dataclass(frozen=True, slots=True)
class Mark:
    """The ``(modified_at, id)`` of the last paper indexed; papers are indexed in that order."""

    modified_at: datetime
    paper_id: int

    def to_json(self) -> list[Any]:
        return [self.modified_at.isoformat(), self.paper_id]

    @classmethod
    def from_json(cls, value: list[Any]) -> Mark:
        return cls(datetime.fromisoformat(value[0]), int(value[1]))


_START = Mark(_EPOCH, 0)


@dataclass(frozen=True, slots=True)
class _Opened:
    """One reader's view: the index, the stat of its commit file when loaded, and the watermark of that commit."""

    index: tantivy.Index
    schema: tantivy.Schema
    stamp: tuple[int, int, int]
    mark: Mark


class IndexBusy(Exception):
    """Another process (or thread) is writing the index."""


def changed_since(session: Session, mark: Mark, limit: int, *columns: Any) -> list[Any]:
    """Papers after ``mark`` in (modified_at, id) order, at most ``limit``. An ingest batch shares one timestamp,
    so the ties at the mark come first, then the later timestamps (two index range scans, no sort)."""
    wanted = columns or (Paper.id,)
    ties = session.execute(
        select(*wanted)
        .where(Paper.modified_at == mark.modified_at, Paper.id > mark.paper_id)
        .order_by(Paper.id)
        .limit(limit)
    ).all()
    if len(ties) >= limit:
        return list(ties)
    later = session.execute(
        select(*wanted)
        .where(Paper.modified_at > mark.modified_at)
        .order_by(Paper.modified_at, Paper.id)
        .limit(limit - len(ties))
    ).all()
    return list(ties) + list(later)


class TantivyIndex:
    """The index directory at ``path``; one object per directory per process (see :func:`open_keyword_index`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._opened: _Opened | None = None
        self._reload_lock = threading.Lock()

    # Reading -----------------------------------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int, int] | None:
        """Identifies the last commit: the directory's inode (a rebuild makes a new one) and meta.json's change."""
        try:
            directory, meta = os.stat(self.path), os.stat(self.path / "meta.json")
        except OSError:
            return None
        return (directory.st_ino, meta.st_mtime_ns, meta.st_size)

    def current(self) -> _Opened | None:
        """The index as of its last commit, reloaded when another process (or this one) committed; None while it
        is missing, unreadable or of another schema version."""
        stamp = self._stamp()
        opened = self._opened
        if stamp is None or not (self.path / MARKER).exists():
            self._opened = None
            return None
        if opened is not None and opened.stamp == stamp:
            return opened
        with self._reload_lock:
            if self._opened is not None and self._opened.stamp == stamp:
                return self._opened
            self._opened = self._open(stamp, reuse=opened if opened and opened.stamp[0] == stamp[0] else None)
            return self._opened

    def _open(self, stamp: tuple[int, int, int], reuse: _Opened | None) -> _Opened | None:
        try:
            if reuse is not None:
                index = reuse.index
                index.reload()  # same directory, a newer commit: the reader swaps segments, no reopen
            else:
                index = tantivy.Index.open(str(self.path))
                index.register_tokenizer(ANALYZER, STEMMED)
                index.config_reader(reload_policy="Manual")
                index.reload()
            schema = index.schema
            meta = _read_meta(index, schema)
        except (OSError, ValueError, RuntimeError, KeyError, IndexError):
            return None  # damaged: searches use the database until a sync rebuilds it
        if meta is None or meta.get("version") != SCHEMA_VERSION:
            return None
        return _Opened(index, schema, stamp, Mark.from_json(meta["mark"]))

    def searcher(self) -> tuple[tantivy.Searcher, tantivy.Schema] | None:
        opened = self.current()
        return (opened.index.searcher(), opened.schema) if opened else None

    def pending(self, session: Session, limit: int) -> list[int] | None:
        """Ids of papers changed since the index's watermark (at most ``limit``), or None without a usable index."""
        opened = self.current()
        if opened is None:
            return None
        return [row.id for row in changed_since(session, opened.mark, limit)]

    # Writing -----------------------------------------------------------------------------------------------

    @contextmanager
    def writing(self, wait: bool) -> Iterator[None]:
        """Hold the write lock (a flock on a file beside the directory, so a rebuild can replace the directory);
        raises :class:`IndexBusy` when ``wait`` is false and another writer holds it."""
        with exclusive_lock(self.lock_path, wait=wait) as held:
            if not held:
                raise IndexBusy(str(self.path))
            yield

    def sync(
        self,
        session_factory: Callable[[], AbstractContextManager[Session]],
        *,
        wait: bool = True,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Index the papers changed since the watermark (all of them, or the first ``limit``); rebuilds a missing
        or damaged index. Returns how many papers were (re)indexed. Raises :class:`IndexBusy` if not ``wait``."""
        with self.writing(wait):
            self._opened = None  # open afresh: files lost under this process's mapped copy show up only then
            opened = self.current()
            if opened is None:
                opened = self._create()
            with session_factory() as session:
                total = _count_since(session, opened.mark) if progress else 0
            done, mark = 0, opened.mark
            writer = None
            try:
                while limit is None or done < limit:
                    batch = SYNC_BATCH if limit is None else min(SYNC_BATCH, limit - done)
                    with session_factory() as session:
                        rows = changed_since(session, mark, batch, *_INDEXED_COLUMNS)
                    if not rows:
                        break
                    if writer is None:
                        # A catch-up of a few papers takes one thread; a rebuild both cores.
                        big = len(rows) >= SYNC_BATCH
                        writer = opened.index.writer(256_000_000 if big else 20_000_000, 2 if big else 1)
                    for row in rows:
                        writer.delete_documents_by_term("id", row.id)
                        writer.add_document(_document(row))
                    mark = Mark(rows[-1].modified_at, rows[-1].id)
                    _write_meta(writer, mark)
                    writer.commit()  # the batch and its watermark land together
                    done += len(rows)
                    if progress:
                        progress(done, total)
            finally:
                if writer is not None:
                    writer.wait_merging_threads()
            self.current()  # pick up our own commits
            return done

    def _create(self) -> _Opened:
        """A new, empty index in place of whatever is at ``path`` (only if it is ours, or nothing)."""
        if self.path.exists():
            if not (self.path / MARKER).exists() and any(self.path.iterdir()):
                raise RuntimeError(f"{self.path} is not a papertide keyword index; move it away or change the path")
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        (self.path / MARKER).write_text("A tantivy index of papers; rebuilt from the database when missing.\n")
        index = tantivy.Index(_schema(), path=str(self.path), reuse=False)
        index.register_tokenizer(ANALYZER, STEMMED)
        writer = index.writer(20_000_000, 1)
        _write_meta(writer, _START)
        writer.commit()
        writer.wait_merging_threads()
        opened = self.current()
        if opened is None:
            raise RuntimeError(f"the keyword index just created at {self.path} cannot be opened")
        return opened


_INDEXED_COLUMNS = (
    Paper.id,
    Paper.title,
    Paper.author_names,
    Paper.abstract,
    Paper.categories,
    Paper.announced_on,
    Paper.submitted_at,
    Paper.modified_at,
)


def _count_since(session: Session, mark: Mark) -> int:
    later = session.scalar(select(func.count()).where(Paper.modified_at > mark.modified_at)) or 0
    ties = session.scalar(select(func.count()).where(Paper.modified_at == mark.modified_at, Paper.id > mark.paper_id))
    return int(later) + int(ties or 0)


def _document(row: Any) -> tantivy.Document:
    document = tantivy.Document()
    document.add_integer("id", row.id)
    for name, value in (("title", row.title), ("authors", row.author_names), ("abstract", row.abstract)):
        document.add_text(name, value or "")
        document.add_text(TEXT, value or "")  # three values of one field: a phrase never spans two of them
    for category in row.categories or ():
        document.add_text("category", category)
    published = row.announced_on or (row.submitted_at.date() if row.submitted_at else None)
    if published is not None:  # as published_on() in search/service.py computes it
        document.add_integer("published", (published - _EPOCH.date()).days)
    return document


def _write_meta(writer: tantivy.IndexWriter, mark: Mark) -> None:
    writer.delete_documents_by_term("id", 0)
    document = tantivy.Document()
    document.add_integer("id", 0)
    document.add_text("meta", json.dumps({"version": SCHEMA_VERSION, "mark": mark.to_json()}))
    writer.add_document(document)


def _read_meta(index: tantivy.Index, schema: tantivy.Schema) -> dict[str, Any] | None:
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.term_query(schema, "id", 0), 1, count=False).hits
    if not hits:
        return None
    meta: dict[str, Any] = json.loads(searcher.doc(hits[0][1]).to_dict()["meta"][0])
    return meta


_INDEXES: dict[Path, TantivyIndex] = {}
_INDEXES_LOCK = threading.Lock()


def open_keyword_index(path: Path) -> TantivyIndex:
    """This process's object for the index at ``path`` (one per directory, shared by every session and thread)."""
    key = path.resolve()
    with _INDEXES_LOCK:
        if key not in _INDEXES:
            _INDEXES[key] = TantivyIndex(key)
        return _INDEXES[key]


def sync_keyword_index(
    database: Database, settings: Settings, progress: Progress | None = None, *, wait: bool = True
) -> int:
    """Bring the keyword index up to date with ``papers`` (building it if missing or damaged); the number of papers
    indexed. With ``wait=False`` it returns 0 at once when another process is writing the index."""
    path = settings.keyword_index_path
    if path is None:
        return 0
    try:
        return open_keyword_index(path).sync(database.read_session, wait=wait, progress=progress)
    except IndexBusy:
        return 0


class TantivyRetriever:
    """BM25 in tantivy, filters in the database; ``database`` (FTS5 or PostgreSQL) answers while no index is usable."""

    def __init__(self, index: TantivyIndex, database: KeywordRetriever) -> None:
        self.index = index
        self.database = database

    def constraint(self, query: SearchQuery) -> ColumnElement[bool]:
        # The database's full-text index stays maintained by triggers, so the hard parts can be checked in SQL.
        return self.database.constraint(query)

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Ranked in tantivy, filtered in the database. Writes the index first when it lags by a few papers (see
        :meth:`_usable`): a reader that writes, so that a paper just submitted is found by the next search."""
        if not self._usable(session):
            return self.database.search(session, query, where, limit)
        found = self.index.searcher()
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

    def _usable(self, session: Session) -> bool:
        """Whether the index can answer: it exists and is readable. A few papers changed since its mark are indexed
        here first, so a paper submitted a moment ago is found at once. A bigger lag (an ingest in progress) or
        another process writing the index is the sync's to catch up; meanwhile the index answers without the
        newest changes, because the database's own full text takes seconds a query at scale (FTS5 p50 562 ms at
        1M papers, PostgreSQL's past 10 s at 2.7M: bench/RESULTS.md) and would stall every search of an ingest."""
        pending = self.index.pending(session, CATCH_UP_LIMIT + 1)
        if pending is None:
            return False
        if pending and len(pending) <= CATCH_UP_LIMIT:
            with suppress(IndexBusy, OSError, ValueError, RuntimeError):  # another writer: it will catch up
                self.index.sync(lambda: nullcontext(session), wait=False, limit=CATCH_UP_LIMIT)
        return True


def with_filters(ranked: tantivy.Query, query: SearchQuery, schema: tantivy.Schema) -> tantivy.Query:
    """``ranked`` restricted to papers that can pass the query's categories and dates (scoring nothing), so a
    filtered search ranks candidates that pass instead of widening past many that do not."""
    filters = [tantivy.Query.term_query(schema, "category", category) for category in query.categories]
    if query.after or query.before:
        days = [(d - _EPOCH.date()).days if d else None for d in (query.after, query.before)]
        filters.append(tantivy.Query.range_query(schema, "published", tantivy.FieldType.Integer, days[0], days[1]))
    if not filters:
        return ranked
    musts = [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, ranked), *musts])


def build_query(query: SearchQuery, schema: tantivy.Schema, searcher: tantivy.Searcher) -> tantivy.Query | None:
    """The tantivy query for ``query``: plain content words as alternatives (at least one must match), phrases and
    field terms required, exclusions removed; None when nothing positive remains. Built from the parsed terms,
    each analysed like the index, so nothing a user types is query syntax."""
    occur = tantivy.Occur
    build = _QueryBuilder(schema, searcher)
    words = [q for q in (build.anywhere(t) for t in plain_words(query)) if q is not None]
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if words:
        clauses.append((occur.Must, words[0] if len(words) == 1 else _any(words)))
    for term in query.positive_terms:
        if term.phrase or term.field is not None:
            clauses.append((occur.Must, build.required(term)))
    if not clauses:
        return None
    for term in query.terms:
        if term.negated:
            excluded = build.anywhere(term)
            if excluded is not None:
                clauses.append((occur.MustNot, excluded))
    if len(clauses) == 1:
        return clauses[0][1]  # unwrapped, a disjunction of words is ranked by block-max WAND
    return tantivy.Query.boolean_query(clauses)


def _any(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


class _QueryBuilder:
    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher) -> None:
        self.schema = schema
        self.searcher = searcher

    def anywhere(self, term: Term) -> tantivy.Query | None:
        """The term in its field, or in title, authors and abstract together; None without an indexable word."""
        return self.in_field(term, _FIELDS[term.field] if term.field else TEXT)

    def required(self, term: Term) -> tantivy.Query:
        # A required term with no indexable word (a 70-letter token) matches nothing, as it would in FTS5.
        return self.anywhere(term) or tantivy.Query.empty_query()

    def in_field(self, term: Term, name: str) -> tantivy.Query | None:
        if term.prefix:
            return self._prefix(term, name)
        tokens = STEMMED.analyze(term.text)
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self.schema, name, tokens[0])
        # "state-of-the-art" and quoted phrases: the words in order, as FTS5 reads a quoted string.
        words: list[str | tuple[int, str]] = list(tokens)
        return tantivy.Query.phrase_query(self.schema, name, words)

    def _prefix(self, term: Term, name: str) -> tantivy.Query | None:
        """Stored words are stems, which a typed prefix can overrun ("splatt*" against "splat"), so the last two
        letters are dropped as FTS5 does (``prefix_root``). Every word with the root matches; the commonest ones
        are scored by BM25 like typed words, the rest at a flat score."""
        tokens = FOLDED.analyze(prefix_root(term.text))
        if not tokens:
            return None
        if len(tokens) > 1:
            stems = [STEMMED.analyze(t)[0] if STEMMED.analyze(t) else t for t in tokens[:-1]]
            return tantivy.Query.phrase_prefix_query(self.schema, name, [*stems, tokens[-1]])
        root = tokens[0]
        expansions = self.searcher.terms_with_prefix(name, root, limit=PREFIX_EXPANSIONS)
        scored = [tantivy.Query.term_query(self.schema, name, word) for word, _ in expansions]
        everything = tantivy.Query.const_score_query(tantivy.Query.phrase_prefix_query(self.schema, name, [root]), 0.1)
        return _any([everything, *scored])
