"""The administrator's page: how far background work has got (embedding progress, the vector index, each automatic
source's last run, next run and last error)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.scheduler import SourceOverview, sources_overview
from papertide.models import utcnow
from papertide.search.semantic import Semantic
from papertide.services.embeddings import embedding_status


@dataclass(slots=True)
class AdminPage:
    semantic_search: bool
    model: str | None
    device: str | None
    papers: int
    embedded: int
    pending: int
    percent: float
    index: str
    sources: list[SourceOverview]


def admin_page(session: Session, database: Database, settings: Settings, semantic: Semantic | None) -> AdminPage:
    sources = sources_overview(database, settings, utcnow())
    if semantic is None:
        page = AdminPage(False, None, None, 0, 0, 0, 0.0, "off", sources)
        return page
    status = embedding_status(session, semantic.model)
    index = semantic.file_index
    if index is not None:
        described = f"usearch file {index.path} · {len(index)} vectors, {index.in_memory} of them not yet folded in"
    else:
        described = "pgvector HNSW index in PostgreSQL"
    device = getattr(semantic._embedder, "device", None) if semantic._embedder is not None else None
    page = AdminPage(
        True,
        semantic.model,
        device,
        status.papers,
        status.embedded,
        status.pending,
        round(status.percent, 1),
        described,
        sources,
    )
    return page
