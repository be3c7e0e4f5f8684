"""One keyword index directory (``settings.keyword_index_path``: ``papertide.keyword`` beside a SQLite file) and
its watermark: the ``(modified_at, id)`` of the last paper indexed, committed inside the index with each batch, so
a killed sync resumes where it stopped and a missing or damaged index is rebuilt from the database. Readers in
every process reload when the directory's commit file changes; one process writes at a time (a file lock).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.models import Paper
from papertide.search.filelock import exclusive_lock
from papertide.search.tantivy_keyword.schema import (
    ANALYZER,
    EPOCH,
    INDEXED_COLUMNS,
    MARKER,
    SCHEMA_VERSION,
    STEMMED,
    document_of,
    index_schema,
)

SYNC_BATCH = 5_000  # papers per commit: a kill loses at most one batch of work


Progress = Callable[[int, int], None]  # (papers indexed so far, papers that were pending when the sync began)


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


_START = Mark(EPOCH, 0)


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
                        rows = changed_since(session, mark, batch, *INDEXED_COLUMNS)
                    if not rows:
                        break
                    if writer is None:
                        # A catch-up of a few papers takes one thread; a rebuild both cores.
                        big = len(rows) >= SYNC_BATCH
                        writer = opened.index.writer(256_000_000 if big else 20_000_000, 2 if big else 1)
                    for row in rows:
                        writer.delete_documents_by_term("id", row.id)
                        writer.add_document(document_of(row))
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
        index = tantivy.Index(index_schema(), path=str(self.path), reuse=False)
        index.register_tokenizer(ANALYZER, STEMMED)
        writer = index.writer(20_000_000, 1)
        _write_meta(writer, _START)
        writer.commit()
        writer.wait_merging_threads()
        opened = self.current()
        if opened is None:
            raise RuntimeError(f"the keyword index just created at {self.path} cannot be opened")
        return opened


def _count_since(session: Session, mark: Mark) -> int:
    later = session.scalar(select(func.count()).where(Paper.modified_at > mark.modified_at)) or 0
    ties = session.scalar(select(func.count()).where(Paper.modified_at == mark.modified_at, Paper.id > mark.paper_id))
    return int(later) + int(ties or 0)


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
