"""The admin page, for administrators: how far background work has got (embedding progress, the vector index, each
automatic source's last run, next run and last error), and signing an account out everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from papertide.jobs.scheduler import SourceOverview, sources_overview
from papertide.models import utcnow
from papertide.services.accounts import AccountError
from papertide.services.embeddings import embedding_status
from papertide.services.sessions import end_sessions_of
from papertide.web.deps import AppDatabase, AppSettings, ReadSession, SemanticSearch, WriteSession
from papertide.web.rendering.templating import render_page
from papertide.web.security import Admin

router = APIRouter()


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


@router.get("/admin")
@router.get("/admin.json")
def admin(
    request: Request,
    session: ReadSession,
    user: Admin,
    semantic: SemanticSearch,
    database: AppDatabase,
    settings: AppSettings,
) -> Response:
    sources = sources_overview(database, settings, utcnow())
    if semantic is None:
        page = AdminPage(False, None, None, 0, 0, 0, 0.0, "off", sources)
        return render_page(request, "admin.html", {"page": page})
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
    return render_page(request, "admin.html", {"page": page})


@router.post("/admin/sessions/end")
def end_user_sessions(session: WriteSession, user: Admin, username: Annotated[str, Form(max_length=64)]) -> Response:
    """Sign an account out of every browser (a stolen laptop, a shared cookie); its tokens stay."""
    try:
        ended = end_sessions_of(session, username)
    except AccountError as error:
        raise HTTPException(404, str(error)) from error
    return RedirectResponse(f"/admin?ended={ended}", status_code=303)
