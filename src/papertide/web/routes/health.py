"""Liveness and readiness probes for process managers and load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from papertide.web.deps import Db

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(db: Db) -> JSONResponse:
    try:
        with db.read_session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return JSONResponse({"status": "unavailable", "error": type(error).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})
