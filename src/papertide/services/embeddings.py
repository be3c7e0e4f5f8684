"""Embedding papers: give every paper a vector of the configured model, once per distinct title + abstract, and
say how far that got. The embed job and `papertide embed` both call :func:`embed_new_papers`.

It walks the papers whose vector is missing, was made by another model, or predates the paper's last change, in
id order and in batches. A paper whose title and abstract hash to what was embedded before gets its bookkeeping
updated and keeps its vector (re-ingest never re-embeds). The model runs outside any transaction; each batch is
then written in one short transaction, so a kill loses at most the batch in flight and the next run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.models import Paper, PaperEmbedding
from papertide.search.embedder import Embedder, paper_text, text_hash
from papertide.search.semantic import Semantic

PendingRow = Row[Any]


@dataclass(frozen=True, slots=True)
class EmbeddingStatus:
    model: str
    papers: int
    embedded: int

    @property
    def pending(self) -> int:
        return self.papers - self.embedded

    @property
    def percent(self) -> float:
        return 100.0 * self.embedded / self.papers if self.papers else 100.0


@dataclass(frozen=True, slots=True)
class EmbedBatch:
    encoded: int
    reused: int


def embedding_status(session: Session, model: str) -> EmbeddingStatus:
    papers = session.scalar(select(func.count()).select_from(Paper)) or 0
    embedded = (
        session.scalar(
            select(func.count())
            .select_from(PaperEmbedding)
            .join(Paper, Paper.id == PaperEmbedding.paper_id)
            .where(PaperEmbedding.model == model, PaperEmbedding.paper_hash == Paper.content_hash)
        )
        or 0
    )
    return EmbeddingStatus(model, papers, embedded)


def embed_pending(
    database: Database,
    embedder: Embedder,
    batch_size: int = 256,
    limit: int | None = None,
    on_batch: Callable[[EmbedBatch], None] | None = None,
) -> int:
    """Embed what is pending (at most ``limit`` papers); returns how many papers were brought up to date."""
    done = 0
    after_id = 0
    while limit is None or done < limit:
        take = batch_size if limit is None else min(batch_size, limit - done)
        with database.read_session() as session:
            rows = _pending(session, embedder.name, after_id, take)
        if not rows:
            break
        batch = _embed_batch(database, embedder, rows)
        done += len(rows)
        after_id = rows[-1].id
        if on_batch:
            on_batch(batch)
    return done


def embed_new_papers(
    database: Database,
    semantic: Semantic,
    limit: int | None = None,
    on_batch: Callable[[EmbedBatch], None] | None = None,
) -> int:
    """Embed pending papers with ``semantic``'s model, one model call per batch: ``on_batch`` runs after each is
    stored, so a stop waits for at most one call (about a second on two cores)."""
    batch_size = semantic.settings.embedding_batch_size
    return embed_pending(database, semantic.embedder, batch_size=batch_size, limit=limit, on_batch=on_batch)


def _pending(session: Session, model: str, after_id: int, count: int) -> list[PendingRow]:
    statement = (
        select(Paper.id, Paper.title, Paper.abstract, Paper.content_hash)
        .outerjoin(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
        .where(
            Paper.id > after_id,
            or_(
                PaperEmbedding.id.is_(None),
                PaperEmbedding.model != model,
                PaperEmbedding.paper_hash != Paper.content_hash,
            ),
        )
        .order_by(Paper.id)
        .limit(count)
    )
    rows: list[PendingRow] = list(session.execute(statement))
    return rows


def _embed_batch(
    database: Database, embedder: Embedder, rows: list[Row[tuple[int, str, str | None, str]]]
) -> EmbedBatch:
    texts = {row.id: paper_text(row.title, row.abstract) for row in rows}
    hashes = {paper_id: text_hash(value) for paper_id, value in texts.items()}
    with database.read_session() as session:
        existing = {
            paper_id: (model, stored_hash)
            for paper_id, model, stored_hash in session.execute(
                select(PaperEmbedding.paper_id, PaperEmbedding.model, PaperEmbedding.text_hash).where(
                    PaperEmbedding.paper_id.in_(list(texts))
                )
            )
        }
    unchanged = [pid for pid in texts if existing.get(pid) == (embedder.name, hashes[pid])]
    to_encode = [pid for pid in texts if pid not in set(unchanged)]
    vectors = embedder.encode([texts[pid] for pid in to_encode]) if to_encode else np.zeros((0, 0))
    paper_hashes = {row.id: row.content_hash for row in rows}
    with database.write_session() as session:
        for paper_id in unchanged:
            session.execute(
                update(PaperEmbedding)
                .where(PaperEmbedding.paper_id == paper_id)
                .values(paper_hash=paper_hashes[paper_id])
            )
        if to_encode:
            # Delete then insert, never update: a new row gets a higher id, which is how file indexes catch up.
            session.execute(delete(PaperEmbedding).where(PaperEmbedding.paper_id.in_(to_encode)))
            live = set(session.execute(select(Paper.id).where(Paper.id.in_(to_encode))).scalars())
            session.add_all(
                PaperEmbedding(
                    paper_id=paper_id,
                    model=embedder.name,
                    text_hash=hashes[paper_id],
                    paper_hash=paper_hashes[paper_id],
                    vector=vector,
                )
                for paper_id, vector in zip(to_encode, vectors, strict=True)
                if paper_id in live  # deleted while the model ran
            )
    return EmbedBatch(encoded=len(to_encode), reused=len(unchanged))
