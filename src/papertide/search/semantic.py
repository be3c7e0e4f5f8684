"""The semantic side of search for one database: the embedder, the vector retriever that fits the engine, and
the vectors of stored papers. The app factory (for its search engine, ``search/service.py``) and the CLI each open
one; everything semantic goes through it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database, make_engine
from papertide.errors import Unavailable
from papertide.models import PaperEmbedding
from papertide.search.embedder import Embedder, load_embedder, vector_model
from papertide.search.retrieval import Candidates, Hit, VectorRetriever
from papertide.search.vectors import FileVectorIndex, FileVectorRetriever, PgVectorRetriever

QUERY_CACHE_SIZE = 512
# Threads that embed queries and find their nearest neighbours (the vector file, or pgvector on connections of the
# retriever's own) beside keyword searches; two keep both cores busy, and a search whose turn has not come waits
# for a thread, not for the request pool.
AHEAD_THREADS = 2
_AHEAD = ThreadPoolExecutor(max_workers=AHEAD_THREADS, thread_name_prefix="papertide-semantic")


class Semantic:
    def __init__(self, settings: Settings, retriever: VectorRetriever, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.model = model_name(settings)
        self.retriever = retriever
        self._embedder = embedder
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            settings = self.settings
            self._embedder = load_embedder(
                settings.embedding_model,
                settings.embedding_device,
                settings.embedding_batch_size,
                settings.embedding_precision,
            )
        return self._embedder

    @property
    def file_index(self) -> FileVectorIndex | None:
        """SQLite's vector file (which the process running jobs folds new vectors into), or None on PostgreSQL."""
        return self.retriever.index if isinstance(self.retriever, FileVectorRetriever) else None

    def fold_vectors(self, database: Database, progress: Callable[[int], None] | None = None) -> int:
        """Fold new vectors into SQLite's vector file when enough wait outside it (see :meth:`FileVectorIndex.fold`);
        nothing on PostgreSQL. Returns how many were folded."""
        if self.file_index is None:
            return 0
        with database.read_session() as session:
            return self.file_index.fold(session, progress=progress)

    @property
    def device(self) -> str | None:
        """Where the model runs, or None while this process has not loaded it."""
        return getattr(self._embedder, "device", None)

    def embed_query(self, text_value: str) -> np.ndarray:
        """The query's vector; repeated queries (pagination, sorts, facets) skip the model."""
        key = text_value.strip().lower()
        with self._cache_lock:
            if key in self._query_cache:
                self._query_cache.move_to_end(key)
                return self._query_cache[key]
        vector = self.embedder.encode([text_value])[0]
        with self._cache_lock:
            self._query_cache[key] = vector
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        with self._cache_lock:
            self._query_cache.clear()

    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
    ) -> list[Hit]:
        return self.retriever.search(session, vector, where, limit, exclude)

    def search_ahead(
        self, session: Session, text_value: str, limit: int, where: ColumnElement[bool]
    ) -> Callable[[], list[Hit]]:
        """Start a search for ``text_value`` on a worker thread and return the function that finishes it.

        Embedding the query and reading its nearest neighbours need neither the GIL (ONNX Runtime, usearch and the
        database driver's waits release it) nor the caller's session: from the vector file, or on PostgreSQL on a
        connection of the retriever's own. So they run while the caller does its keyword search. The returned
        function, called on the caller's thread, finishes with the caller's session (filtering the file's
        neighbours; the request's pool is never asked for a second connection, so a busy pool cannot deadlock) and
        raises what the worker raised."""
        self.retriever.prepare(session)
        ahead = _AHEAD.submit(self._embed_and_fetch, text_value, limit, where)

        def finish() -> list[Hit]:
            vector, first = ahead.result()
            return self.retriever.search(session, vector, where, limit, first=first)

        return finish

    def _embed_and_fetch(
        self, text_value: str, limit: int, where: ColumnElement[bool]
    ) -> tuple[np.ndarray, Candidates | None]:
        vector = self.embed_query(text_value)
        return vector, self.retriever.first_candidates(vector, limit, where)

    def close(self) -> None:
        self.retriever.close()

    def vectors_of(self, session: Session, paper_ids: Iterable[int]) -> dict[int, np.ndarray]:
        ids = list(paper_ids)
        if not ids:
            return {}
        rows = session.execute(
            select(PaperEmbedding.paper_id, PaperEmbedding.vector).where(
                PaperEmbedding.paper_id.in_(ids), PaperEmbedding.model == self.model
            )
        )
        return {paper_id: vector for paper_id, vector in rows}


def model_name(settings: Settings) -> str:
    """The name the configured embedder's vectors are stored and searched under (see ``vector_model``)."""
    return vector_model(settings.embedding_model, settings.embedding_precision)


class SemanticSearchOff(Unavailable):
    """More like this and personal picks need semantic search, which this server has turned off."""

    def __init__(self) -> None:
        super().__init__("Semantic search is turned off on this server (PAPERTIDE_SEMANTIC_SEARCH).")


def required(semantic: Semantic | None) -> Semantic:
    """``semantic``, for what cannot work without it; :class:`SemanticSearchOff` when it is off."""
    if semantic is None:
        raise SemanticSearchOff
    return semantic


def open_semantic(settings: Settings, embedder: Embedder | None = None) -> Semantic | None:
    """The semantic side for these settings, or None when ``PAPERTIDE_SEMANTIC_SEARCH`` is off."""
    if not settings.semantic_search:
        return None
    retriever: VectorRetriever
    if settings.is_sqlite:
        retriever = FileVectorRetriever(FileVectorIndex(settings.vector_index_path, model_name(settings)))
    else:
        # Connections for the searches run ahead: one per thread that runs them.
        ahead = make_engine(settings.resolved_database_url, settings, pool_size=AHEAD_THREADS)
        retriever = PgVectorRetriever(model_name(settings), ahead)
    return Semantic(settings, retriever, embedder)
