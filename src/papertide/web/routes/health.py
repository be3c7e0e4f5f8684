"""Liveness and readiness probes for process managers and load balancers, and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from papertide.services.health import check_readiness
from papertide.web.deps import AppDatabase, AppSettings
from papertide.web.middleware.metrics import render_metrics

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(database: AppDatabase) -> JSONResponse:
    """Ready when the schema is this release's, a table reads and the database takes writes (web processes write:
    votes, comments, sign-ins); 503 with the problems otherwise."""
    readiness = check_readiness(database, writes=True)
    if not readiness.ok:
        problem = {"status": "unavailable", "problems": list(readiness.problems)}
        return JSONResponse(problem, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: AppSettings) -> Response:
    if not settings.metrics_token and settings.env == "production":
        # Counts of users, subscriptions and deliveries are nobody's business by default.
        return Response("metrics are off: set PAPERTIDE_METRICS_TOKEN to serve them\n", status_code=404)
    if settings.metrics_token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            return Response("metrics need the bearer token in PAPERTIDE_METRICS_TOKEN\n", status_code=401)
    return Response(render_metrics(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
