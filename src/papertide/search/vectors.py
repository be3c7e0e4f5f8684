"""Nearest-neighbour retrieval over stored paper vectors: pgvector's HNSW index on PostgreSQL, an hnswlib graph in
a file beside the SQLite database, one interface returning :class:`Hit` lists like the keyword retrievers.

The database is the source of truth; the SQLite-side file is a cache of it. :class:`HnswIndex` remembers the
highest ``paper_embeddings.id`` it holds and, before each search, adds the rows above it (a changed paper gets a
new, higher id, and hnswlib replaces the vector stored under that paper's label), so a paper the embed job just
wrote is searchable in the next query of every process, and a restart loads the file instead of rebuilding.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

import hnswlib
import numpy as np
from sqlalchemy import ColumnElement, Float, select, text, true
from sqlalchemy.orm import Session

from papertide.models import VECTOR_DIMENSIONS, Paper, PaperEmbedding
from papertide.search.keyword import Hit

SYNC_BATCH = 20_000
SAVE_EVERY_SECONDS = 60.0
MAX_WIDENING = 8_192  # the most ANN candidates fetched to fill a heavily filtered page


class VectorRetriever(Protocol):
    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        """Papers passing ``where`` nearest to ``vector``, best first, scored by cosine similarity."""
        ...


class PgVectorRetriever:
    def __init__(self, model: str) -> None:
        self.model = model

    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        # Filters are applied inside the index scan; iterative scans keep reading the graph until enough rows pass
        # them (pgvector 0.8), so a narrow filter still fills the page.
        session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        session.execute(text("SET LOCAL hnsw.ef_search = 100"))
        distance = PaperEmbedding.vector.op("<=>", return_type=Float)(vector)
        statement = (
            select(Paper.id, distance)
            .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
            .where(where, PaperEmbedding.model == self.model, Paper.id.not_in(list(exclude)) if exclude else true())
            .order_by(distance)
            .limit(limit)
        )
        return [Hit(paper_id, 1.0 - float(d)) for paper_id, d in session.execute(statement)]


class HnswIndex:
    """An hnswlib graph of one model's paper vectors (labels are paper ids), persisted next to the database."""

    def __init__(self, path: Path | None, model: str, dimensions: int = VECTOR_DIMENSIONS) -> None:
        self.path = path
        self.model = model
        self.dimensions = dimensions
        self.watermark = 0
        self._lock = threading.RLock()
        self._saved_at = time.monotonic()
        self._dirty = False
        self._index = self._load() or self._empty(1_024)

    def _empty(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="cosine", dim=self.dimensions)
        index.init_index(max_elements=capacity, ef_construction=100, M=16, allow_replace_deleted=False)
        index.set_ef(128)
        self.watermark = 0
        return index

    def _meta_path(self) -> Path:
        assert self.path is not None
        return self.path.with_suffix(self.path.suffix + ".json")

    def _load(self) -> hnswlib.Index | None:
        if self.path is None or not self.path.exists() or not self._meta_path().exists():
            return None
        try:
            meta = json.loads(self._meta_path().read_text())
            if meta.get("model") != self.model or meta.get("dimensions") != self.dimensions:
                return None
            index = hnswlib.Index(space="cosine", dim=self.dimensions)
            index.load_index(str(self.path), max_elements=int(meta["capacity"]))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None  # a damaged cache is rebuilt from the database
        index.set_ef(128)
        self.watermark = int(meta["watermark"])
        return index

    def __len__(self) -> int:
        return int(self._index.get_current_count())

    def sync(self, session: Session) -> int:
        """Add every vector written since the last sync; returns how many were added."""
        added = 0
        with self._lock:
            while True:
                rows = session.execute(
                    select(PaperEmbedding.id, PaperEmbedding.paper_id, PaperEmbedding.vector)
                    .where(PaperEmbedding.id > self.watermark, PaperEmbedding.model == self.model)
                    .order_by(PaperEmbedding.id)
                    .limit(SYNC_BATCH)
                ).all()
                if not rows:
                    break
                self._add([row.paper_id for row in rows], np.vstack([row.vector for row in rows]))
                self.watermark = rows[-1].id
                added += len(rows)
            if added:
                self._dirty = True
            if self._dirty and time.monotonic() - self._saved_at > SAVE_EVERY_SECONDS:
                self.save()
        return added

    def _add(self, labels: list[int], vectors: np.ndarray) -> None:
        needed = len(self) + len(labels)
        capacity = int(self._index.get_max_elements())
        if needed > capacity:
            self._index.resize_index(max(needed, capacity * 2))
        # A catch-up of many vectors (a restart, a backfill) may use every core; a few new papers take one.
        threads = -1 if len(labels) > 1_000 else 1
        self._index.add_items(vectors, np.asarray(labels, dtype=np.int64), num_threads=threads)

    def nearest(self, vector: np.ndarray, count: int) -> list[tuple[int, float]]:
        with self._lock:
            count = min(count, len(self))
            if count == 0:
                return []
            self._index.set_ef(max(128, count))
            labels, distances = self._index.knn_query(vector.reshape(1, -1), k=count, num_threads=1)
        return [(int(label), 1.0 - float(distance)) for label, distance in zip(labels[0], distances[0], strict=True)]

    def save(self) -> None:
        """Write the graph and its watermark atomically (a crash leaves the previous pair, which sync catches up)."""
        if self.path is None:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            self._index.save_index(str(temporary))
            os.replace(temporary, self.path)
            meta = {
                "model": self.model,
                "dimensions": self.dimensions,
                "watermark": self.watermark,
                "capacity": int(self._index.get_max_elements()),
                "count": len(self),
            }
            meta_temporary = self._meta_path().with_suffix(".tmp")
            meta_temporary.write_text(json.dumps(meta))
            os.replace(meta_temporary, self._meta_path())
            self._saved_at = time.monotonic()
            self._dirty = False


class HnswRetriever:
    """ANN candidates from the file index, then the filters in SQL, widening the candidate set until the page
    fills (or the whole index was read)."""

    def __init__(self, index: HnswIndex) -> None:
        self.index = index

    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        self.index.sync(session)
        wanted = limit + len(exclude)
        fetch = max(wanted * 2, 64)
        while True:
            candidates = [(pid, score) for pid, score in self.index.nearest(vector, fetch) if pid not in exclude]
            passing = set(
                session.execute(select(Paper.id).where(Paper.id.in_([pid for pid, _ in candidates]), where)).scalars()
            )
            hits = [Hit(pid, score) for pid, score in candidates if pid in passing]
            exhausted = fetch >= len(self.index) or fetch >= MAX_WIDENING
            if len(hits) >= limit or exhausted:
                return hits[:limit]
            fetch *= 4
