"""Nearest-neighbour retrieval over stored paper vectors: pgvector's HNSW index on PostgreSQL, a usearch HNSW file
beside the SQLite database, each a ``VectorRetriever`` (``search/retrieval.py``) returning :class:`Hit` lists like
the keyword retrievers.

The database is the source of truth; the SQLite-side file is a cache of it, built for a large corpus. Vectors are
stored in half precision (recall as with 32-bit floats, half the bytes) and every process *maps* the file rather
than loading it, so N web processes share one copy in the page cache and a process's own memory does not grow with
the corpus (2.7M papers: a 2.5 GB file, not 4.5 GB of RAM in each process). A mapped index is read-only, so vectors
written after the file was last *folded* live in a small in-memory side index, caught up before each search (a
changed paper gets a new, higher embedding id; its new vector shadows the old one in the file). The process that
runs jobs folds the side index into a new file once it is big enough; others notice the new file and map it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# usearch's extension carries a static libstdc++ of its own: loaded first, it makes ONNX Runtime's extension crash
# as it loads (a segfault in std::codecvt, usearch 2.26 with onnxruntime 1.32); loaded after the runtime, both work.
# Every papertide import of usearch is this one, so the runtime is imported here, first (isort order keeps it so).
import onnxruntime  # noqa: F401
from sqlalchemy import ColumnElement, Connection, Engine, Float, func, select, text, true
from sqlalchemy.orm import Session
from usearch.index import Index

from papertide.db import among
from papertide.models import VECTOR_DIMENSIONS, Paper, PaperEmbedding
from papertide.search.filelock import exclusive_lock
from papertide.search.retrieval import Candidates, Hit

SYNC_BATCH = 20_000
SIDE_INDEX_LIMIT = 50_000  # vectors a search may add to a process's memory; a fold takes the rest
FOLD_AT = 20_000  # side-index size that makes a fold worth rewriting a large file
MAX_WIDENING = 8_192  # the most ANN candidates fetched to fill a heavily filtered page
FILE_FORMAT = 1
SEARCH_EXPANSION = 128


class PgVectorRetriever:
    """pgvector's HNSW index, filters applied inside the index scan. With an engine of its own (a pool as large as
    the threads that search ahead, so they never wait for a connection the requests hold), a search runs on a
    worker thread while the request does its keyword search: the graph walk is the larger half of a hybrid search
    at 2.7M papers (bench/RESULTS.md, scale)."""

    def __init__(self, model: str, engine: Engine) -> None:
        self.model = model
        self.engine = engine

    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
        first: Candidates | None = None,
    ) -> list[Hit]:
        if first is not None and not exclude:
            return [Hit(paper_id, similarity) for paper_id, similarity in first]  # filtered when fetched
        return self._nearest(session, vector, where, limit, exclude)

    def _nearest(
        self,
        connection: Session | Connection,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        # Iterative scans keep reading the graph until enough rows pass the filters (pgvector 0.8), so a narrow
        # filter still fills the page.
        connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        # The graph walk keeps ef_search candidates: as many as the page found 89 % of the true top 100 (held-out
        # stand-ins, 20k vectors), twice the page 97 %, as the file index reads twice too (bench/pgvector_scale.py).
        ef_search = min(max(_first_fetch(limit + len(exclude)), 100), 1_000)  # pgvector accepts at most 1,000
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {ef_search}"))
        distance = PaperEmbedding.vector.op("<=>", return_type=Float)(vector)
        statement = (
            select(Paper.id, distance)
            .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
            .where(where, PaperEmbedding.model == self.model, Paper.id.not_in(list(exclude)) if exclude else true())
            .order_by(distance)
            .limit(limit)
        )
        return [Hit(paper_id, 1.0 - float(d)) for paper_id, d in connection.execute(statement)]

    def prepare(self, session: Session) -> None:
        pass  # the vectors live in the database

    def first_candidates(self, vector: np.ndarray, limit: int, where: ColumnElement[bool]) -> Candidates | None:
        with self.engine.connect() as connection, connection.begin():
            return [(hit.paper_id, hit.score) for hit in self._nearest(connection, vector, where, limit)]

    def close(self) -> None:
        self.engine.dispose()


class FileVectorIndex:
    """One model's paper vectors (keys are paper ids): the mapped file plus the in-memory side index."""

    def __init__(
        self,
        path: Path | None,
        model: str,
        dimensions: int = VECTOR_DIMENSIONS,
        *,
        side_limit: int = SIDE_INDEX_LIMIT,
        fold_at: int = FOLD_AT,
    ) -> None:
        self.path = path
        self.model = model
        self.dimensions = dimensions
        self.side_limit = side_limit
        self.fold_at = fold_at
        self._lock = threading.RLock()
        self._file: Index | None = None
        self._file_watermark = 0  # highest embedding id the mapped file holds
        self._file_stamp: tuple[int, int] | None = None  # its metadata file's (inode, mtime): changes on a fold
        self._side = self._new_index("f32")
        self._shadowed = 0  # side-index keys that also have an (older) vector in the file
        self.watermark = 0  # highest embedding id held, file or side index
        self._map_file()

    # The file ------------------------------------------------------------------------------------------------

    def _new_index(self, dtype: str) -> Index:
        return Index(
            ndim=self.dimensions,
            metric="cos",
            dtype=dtype,
            connectivity=16,
            expansion_add=100,
            expansion_search=SEARCH_EXPANSION,
        )

    def _meta_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".json")

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._meta_path().stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns)

    def _map_file(self) -> None:
        """Map the current file (metadata first: a fold replaces the index before its metadata, so the watermark
        read here is never above what the mapped index holds), and start a fresh side index above it."""
        self._file, self._file_watermark = None, 0
        if self.path is not None:
            self._file_stamp = self._stamp()
            self._file, self._file_watermark = self._open_file()
        self._side = self._new_index("f32")
        self._shadowed = 0
        self.watermark = self._file_watermark

    def _open_file(self) -> tuple[Index | None, int]:
        assert self.path is not None
        try:
            meta = json.loads(self._meta_path().read_text())
            expected = {"format": FILE_FORMAT, "model": self.model, "dimensions": self.dimensions}
            if any(meta.get(key) != value for key, value in expected.items()):
                return None, 0  # another model's or an older layout's file: the next fold replaces it
            index = Index.restore(str(self.path), view=True)
        except (OSError, ValueError, KeyError, RuntimeError):
            return None, 0  # missing or damaged: searches use the side index, the next fold rewrites the file
        if index is None:
            return None, 0
        _set_expansion(index, SEARCH_EXPANSION)
        return index, int(meta["watermark"])

    def _notice_fold(self) -> None:
        if self.path is not None and self._stamp() != self._file_stamp:
            self._map_file()

    # Catching up ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        in_file = len(self._file) if self._file is not None else 0
        return in_file + len(self._side) - self._shadowed

    @property
    def in_memory(self) -> int:
        """Vectors this process holds itself (the side index); the file's are mapped."""
        return len(self._side)

    def sync(self, session: Session) -> int:
        """Add the vectors written since the last sync to the side index (up to its limit); returns how many."""
        added = 0
        with self._lock:
            self._notice_fold()
            while len(self._side) < self.side_limit:
                room = min(SYNC_BATCH, self.side_limit - len(self._side))
                rows = self._rows_above(session, self.watermark, room)
                if not rows:
                    break
                self._add_to_side([row.paper_id for row in rows], np.vstack([row.vector for row in rows]))
                self.watermark = rows[-1].id
                added += len(rows)
        return added

    def _rows_above(self, session: Session, watermark: int, limit: int) -> Sequence[Any]:
        return session.execute(
            select(PaperEmbedding.id, PaperEmbedding.paper_id, PaperEmbedding.vector)
            .where(PaperEmbedding.id > watermark, PaperEmbedding.model == self.model)
            .order_by(PaperEmbedding.id)
            .limit(limit)
        ).all()

    def _add_to_side(self, paper_ids: list[int], vectors: np.ndarray) -> None:
        keys = np.asarray(paper_ids, dtype=np.uint64)
        if self._file is not None:
            shadowing = np.asarray(self._file.contains(keys), dtype=bool)
            if len(self._side):
                shadowing = shadowing & ~np.asarray(self._side.contains(keys), dtype=bool)  # those already counted
            self._shadowed += int(np.count_nonzero(shadowing))
        _replace(self._side, keys, vectors)

    def nearest(self, vector: np.ndarray, count: int) -> list[tuple[int, float]]:
        """The ``count`` nearest papers by cosine similarity, best first; a paper's newest vector answers for it."""
        with self._lock:
            count = min(count, len(self))
            if count == 0:
                return []
            found: dict[int, float] = {}
            for index in (self._side, self._file):
                if index is None or len(index) == 0:
                    continue
                _set_expansion(index, max(SEARCH_EXPANSION, count))
                shadowed = min(self._shadowed, count) if index is self._file else 0
                wanted = min(count + shadowed, len(index))
                matches = index.search(vector, wanted, threads=1)
                keys, distances = matches.keys, matches.distances
                if index is self._file and self._shadowed:
                    newer = self._side.contains(keys)  # re-embedded papers: the side index answers for them
                    keys, distances = keys[~newer], distances[~newer]
                for key, distance in zip(keys, distances, strict=True):
                    found[int(key)] = 1.0 - float(distance)
        return sorted(found.items(), key=lambda item: item[1], reverse=True)[:count]

    # Folding -------------------------------------------------------------------------------------------------

    def fold(self, session: Session, *, force: bool = False, progress: Callable[[int], None] | None = None) -> int:
        """Write a new file holding every vector in the database and map it, under a lock that makes one process
        the writer. Without ``force`` only when enough vectors wait outside the file to be worth rewriting it: 1 in
        20 of the file's, at most :data:`FOLD_AT`. ``progress`` hears the count folded so far (a first build of
        millions takes tens of minutes). Returns how many vectors were folded in."""
        if self.path is None:
            return 0
        # Only the fold lock is held while the new file is built (minutes for millions of vectors): this process's
        # searches go on against the old file and side index, and swap to the new file at the end.
        with exclusive_lock(self.path.with_name(self.path.name + ".lock"), wait=True):
            with self._lock:
                self._notice_fold()  # another process may have folded while this one waited
                mapped, folded_up_to = self._file is not None, self._file_watermark
                in_file = len(self._file) if self._file is not None else 0
            threshold = 1 if force else min(self.fold_at, max(in_file // 20, 1))
            if self._waiting(session, folded_up_to, threshold) < threshold:
                return 0
            writable = self._writable_copy() if mapped else self._new_index("f16")
            folded, watermark = 0, folded_up_to
            for rows in self._batches(session, watermark):
                keys = np.asarray([row.paper_id for row in rows], dtype=np.uint64)
                _replace(writable, keys, np.vstack([row.vector for row in rows]))
                folded, watermark = folded + len(rows), rows[-1].id
                if progress is not None:
                    progress(folded)
            self._write(writable, watermark)
            del writable
            with self._lock:
                self._map_file()
        self.sync(session)
        return folded

    def _waiting(self, session: Session, watermark: int, limit: int) -> int:
        """Vectors above ``watermark``, counted up to ``limit``."""
        above = (
            select(PaperEmbedding.id)
            .where(PaperEmbedding.id > watermark, PaperEmbedding.model == self.model)
            .limit(limit)
            .subquery()
        )
        return int(session.execute(select(func.count()).select_from(above)).scalar_one())

    def _writable_copy(self) -> Index:
        """The file loaded into memory (a mapped index cannot take additions)."""
        assert self.path is not None
        loaded = Index.restore(str(self.path), view=False)
        if loaded is None:
            raise RuntimeError(f"{self.path} is no longer a vector index; delete it and it is rebuilt")
        return loaded

    def _batches(self, session: Session, watermark: int) -> Iterator[Sequence[Any]]:
        while rows := self._rows_above(session, watermark, SYNC_BATCH):
            yield rows
            watermark = rows[-1].id

    def _write(self, index: Index, watermark: int) -> None:
        """Replace the index file, then its metadata (the order readers rely on), each atomically."""
        assert self.path is not None
        temporary = self.path.with_name(self.path.name + ".tmp")
        index.save(str(temporary))
        os.replace(temporary, self.path)
        meta = {
            "format": FILE_FORMAT,
            "model": self.model,
            "dimensions": self.dimensions,
            "watermark": watermark,
            "count": len(index),
        }
        meta_temporary = self._meta_path().with_name(self._meta_path().name + ".tmp")
        meta_temporary.write_text(json.dumps(meta))
        os.replace(meta_temporary, self._meta_path())


def _set_expansion(index: Index, expansion: int) -> None:
    # usearch declares this setter apart from its getter, which mypy does not follow
    index.expansion_search = expansion  # type: ignore[misc]


def _replace(index: Index, keys: np.ndarray, vectors: np.ndarray) -> None:
    """Add vectors under ``keys``, replacing a key's earlier vector (a re-embedded paper)."""
    present = keys[index.contains(keys)] if len(index) else keys[:0]
    if len(present):
        index.remove(present)
    # A backfill may use every core; a few new papers take one.
    index.add(keys, vectors.astype(np.float32, copy=False), threads=0 if len(keys) > 1_000 else 1)


class FileVectorRetriever:
    """ANN candidates from the file index, then the filters in SQL, widening the candidate set until the page
    fills (or the whole index was read)."""

    def __init__(self, index: FileVectorIndex) -> None:
        self.index = index

    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
        first: Candidates | None = None,
    ) -> list[Hit]:
        if first is None:
            self.index.sync(session)
        fetch = _first_fetch(limit + len(exclude))
        checked: set[int] = set()
        passing: set[int] = set()
        while True:
            nearest = first if first is not None else self.index.nearest(vector, fetch)
            first = None
            candidates = [(pid, score) for pid, score in nearest if pid not in exclude]
            # A wider fetch repeats the narrower one's candidates: only the new ones go to the database.
            new = [pid for pid, _ in candidates if pid not in checked]
            passing.update(session.execute(select(Paper.id).where(among(session, Paper.id, new), where)).scalars())
            checked.update(new)
            hits = [Hit(pid, score) for pid, score in candidates if pid in passing]
            exhausted = fetch >= len(self.index) or fetch >= MAX_WIDENING
            if len(hits) >= limit or exhausted:
                return hits[:limit]
            fetch *= 4

    def prepare(self, session: Session) -> None:
        self.index.sync(session)

    def first_candidates(self, vector: np.ndarray, limit: int, where: ColumnElement[bool]) -> Candidates | None:
        return self.index.nearest(vector, _first_fetch(limit))  # filtered in the search, on the caller's session

    def close(self) -> None:
        pass  # the mapped file stays for the process's other searches


def _first_fetch(wanted: int) -> int:
    """Candidates read before filtering: twice the page, so most filters still fill it at the first try."""
    return max(wanted * 2, 64)
