"""Friendly error pages with the right status (and problem+json for API clients), for every failure path."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import Scope

from papertide.db import classify_database_error
from papertide.errors import Conflict, Expired, Forbidden, Invalid, NotFound, Refused, Unavailable
from papertide.services.ratelimit import RateLimited
from papertide.web.rendering.policy import CONTENT_SECURITY_POLICY, with_security_headers
from papertide.web.rendering.templating import is_json_twin, templates

log = logging.getLogger(__name__)


class LoginRequired(Exception):
    """Raised by ``require_user``; the app answers with a redirect to the log-in page (or 401 for JSON)."""


def wants_json(scope: Scope) -> bool:
    """Whether an error should be problem+json: API paths, JSON twins and clients that ask for JSON."""
    headers = dict(scope.get("headers", []))
    accept = headers.get(b"accept", b"").decode("latin-1")
    path = str(scope.get("path", ""))
    return path.startswith("/api/") or is_json_twin(path) or accept.startswith("application/json")


def render_error(scope: Scope, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if wants_json(scope):
        problem = {"type": "about:blank", "title": title, "status": status, "detail": message}
        return JSONResponse(problem, status_code=status, media_type="application/problem+json", headers=headers)
    user = None
    state = scope.get("state") or {}
    if isinstance(state, dict):
        user = state.get("user")
    html = templates.get_template("error.html").render(
        status=status, title=title, message=message, current_user=user, csrf_token=""
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = str(error.detail) if error.detail and error.status_code != 404 else _default_message(error)
        headers = dict(error.headers or {})
        if error.status_code == 405:  # a mount (the static files) says its own
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return render_error(request.scope, error.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()[:5])
        return render_error(request.scope, 422, f"Some values were not valid: {problems}")

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        if wants_json(request.scope) or request.method != "GET":
            return render_error(request.scope, 401, "Log in first.")
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        return render_error(request.scope, status_of(error), str(error))

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, error: RateLimited) -> Response:
        return render_error(request.scope, 429, str(error), {"Retry-After": str(error.retry_after)})

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, error: DBAPIError) -> Response:
        status, message, retry = database_failure(error)
        if status == 500:
            log.exception("database error on %s %s", request.method, request.url.path)
        else:
            log.warning("%s %s: %s (%s)", request.method, request.url.path, message, error.orig)
        return render_error(request.scope, status, message, {"Retry-After": str(retry)} if retry else None)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, _: PoolTimeout) -> Response:
        log.warning("%s %s: no database connection free in time", request.method, request.url.path)
        return render_error(request.scope, 503, "The server is busy; try again in a few seconds.", {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = render_error(request.scope, 500, "Something went wrong on our side; it has been logged.")
        # Starlette answers a crash from its outermost middleware, past the one that adds security headers.
        response.raw_headers = with_security_headers(response.raw_headers, CONTENT_SECURITY_POLICY)
        return response


# A kind's status (papertide/errors.py), the more specific kinds first: an error that is Invalid and NotFound (a
# collection that is not yours) is a 404.
STATUS_OF_KIND: dict[type[Refused], int] = {
    NotFound: 404,
    Expired: 410,
    Conflict: 409,
    Forbidden: 403,
    Unavailable: 503,
    Invalid: 422,
}


def status_of(error: Refused) -> int:
    """The HTTP status of an expected failure, by its kind, never by its words."""
    return next((status for kind, status in STATUS_OF_KIND.items() if isinstance(error, kind)), 400)


def database_failure(error: DBAPIError) -> tuple[int, str, int]:
    """Status, message and Retry-After seconds for a database error: a full disk (507), a database that refuses
    writes or a disk that failed a read or write (503, until someone looks), an unreachable, busy or restarting
    database (503) or a statement past the timeout (503) is a condition, not a bug; a damaged database file and
    anything else is a 500, logged with its traceback."""
    kind = classify_database_error(error)
    if kind == "full":
        return 507, "The server's disk is full, so this change was not saved. Nothing was lost; try again later.", 0
    if kind == "read_only":
        return 503, "The database is read-only right now, so this change was not saved. Reading still works.", 60
    if kind == "io":
        return 503, "The server's disk failed to read or write the database, so this was not done. Try again later.", 60
    if kind == "corrupt":
        return 500, "The database file is damaged; this has been logged for the site's operator.", 0
    if kind == "unavailable":
        return 503, "The database is not reachable right now; try again in a few seconds.", 5
    if kind == "timeout":  # the same request would take as long again: no Retry-After
        return 503, "This took longer than the server allows and was stopped. For a search, try more specific words.", 0
    return 500, "Something went wrong on our side; it has been logged.", 0


def allowed_methods(request: Request) -> str:
    """The ``Allow`` of a 405: the methods of every route whose path matches the request's, of the most literal
    paths only, as OpenAPI matches them (``POST /api/papers/index``, not ``GET /api/papers/{id}``); empty when
    no route's path matches.

    Starlette names the methods of the first route that matched the path only, so ``OPTIONS /api/v1/collections``
    was told ``GET`` although ``POST`` is the reason the path exists."""
    path = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
    matching = [
        (len(re.sub(r"\{[^}]*\}", "", route.path)), route.methods)
        for route in iter_route_contexts(request.app.routes)
        if route.path and route.methods and route.path_regex.match(path)
    ]
    most = max((literal for literal, _ in matching), default=0)
    return ", ".join(sorted({method for literal, methods in matching if literal == most for method in methods}))


def _default_message(error: HTTPException) -> str:
    if error.status_code == 404:
        return str(error.detail) if error.detail and error.detail != "Not Found" else "There is nothing here."
    return HTTPStatus(error.status_code).phrase
