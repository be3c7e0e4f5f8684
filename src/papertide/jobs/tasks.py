"""Task functions: each takes the database and what it needs, re-reads its inputs, and is safe to rerun.

The CLI, the in-process scheduler and (in the scaled mode) the worker call the same functions.
"""

from __future__ import annotations

from collections.abc import Callable

from papertide.db import Database
from papertide.search.semantic import Semantic
from papertide.search.vectors import HnswRetriever
from papertide.services.embeddings import EmbedBatch, embed_pending


def embed_new_papers(
    database: Database,
    semantic: Semantic,
    limit: int | None = None,
    on_batch: Callable[[EmbedBatch], None] | None = None,
) -> int:
    """Embed pending papers, then bring this process's vector index up to date (SQLite's file index)."""
    done = embed_pending(
        database,
        semantic.embedder,
        batch_size=max(semantic.settings.embedding_batch_size * 4, 64),
        limit=limit,
        on_batch=on_batch,
    )
    if isinstance(semantic.retriever, HnswRetriever):
        with database.read_session() as session:
            semantic.retriever.index.sync(session)
        semantic.retriever.index.save()
    return done
