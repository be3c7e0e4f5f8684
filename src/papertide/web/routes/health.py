"""Liveness and readiness probes for process managers and load balancers, and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from papertide.web.deps import AppSettings, Db
from papertide.web.metrics import render_metrics

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
        problem = {"status": "unavailable", "error": type(error).__name__}
        return JSONResponse(problem, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: AppSettings) -> Response:
    if settings.metrics_token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            return Response("metrics need the bearer token in PAPERTIDE_METRICS_TOKEN\n", status_code=401)
    return Response(render_metrics(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
