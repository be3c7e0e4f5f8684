"""papertide's own API, ``/api/v1``: so far the administrators' full export, streamed as JSON lines. Clients sign
in with a personal access token (``Authorization: Bearer pt_…``) or a session."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from papertide.services.export import jsonl_lines
from papertide.web.deps import Db
from papertide.web.security import Admin

router = APIRouter(prefix="/api/v1", tags=["papertide API v1"])


@router.get("/export", summary="Everything, as `papertide export` writes it (administrators)")
def export(db: Db, user: Admin) -> StreamingResponse:
    return StreamingResponse(
        jsonl_lines(db),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="papertide-export.jsonl"'},
    )
