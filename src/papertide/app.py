"""The app factory: ``create_app(settings)`` builds the ASGI app (routes, templates, static files, middleware).

Wiring only: settings in, the database, the search engine, middleware, routers and the background jobs out; no
request logic lives here. ``papertide serve`` runs it under uvicorn with ``factory=True`` so every web process
builds its own app, with its own connection pool, from the same settings.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Route

from papertide import __version__
from papertide.config import DEV_SECRET, Settings, get_settings
from papertide.db import connect
from papertide.jobs.scheduler import JobRunner
from papertide.mcpserver import mcp_endpoint as make_mcp_endpoint
from papertide.search.engine import SearchEngine
from papertide.search.semantic import open_semantic
from papertide.services.accounts import configure_password_hashing
from papertide.services.sessions import SESSION_DAYS
from papertide.web.errors import install_error_handlers
from papertide.web.middleware.accesslog import redact_access_log
from papertide.web.middleware.guard import GuardMiddleware
from papertide.web.middleware.head import HeadAsGetMiddleware
from papertide.web.middleware.headers import SecurityHeadersMiddleware
from papertide.web.middleware.metrics import DatabaseCollector, RequestMetricsMiddleware
from papertide.web.middleware.pagecache import PageCacheMiddleware
from papertide.web.routes import (
    accounts,
    admin,
    api_docs,
    api_v1,
    authors,
    claims,
    community,
    discover,
    exports,
    feeds,
    follows,
    health,
    hf_api,
    hf_collections,
    library,
    listings,
    momentum,
    organizations,
    paper,
    reading_group,
    recovery,
    search,
    shortcuts,
    submit,
    subscriptions,
    topics,
    trends,
)
from papertide.web.routes.mcp import MCP_PATH, McpGate
from papertide.web.security import load_user

WEB_DIR = Path(__file__).parent / "web"
SESSION_COOKIE = "papertide_session"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.secret_key == DEV_SECRET:
        log.warning(
            "PAPERTIDE_SECRET_KEY is the development secret: anyone can forge sessions and links on this instance. "
            "Fine on a laptop; anywhere else set PAPERTIDE_SECRET_KEY (and PAPERTIDE_ENV=production)."
        )
    database = connect(settings)
    configure_password_hashing(settings)
    semantic = open_semantic(settings)
    engine = SearchEngine.of(settings, semantic)
    mcp_endpoint = make_mcp_endpoint(database, settings, engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runner = None
        jobs = settings.runs_jobs_in_web
        derived = settings.keyword_index_path is not None or (semantic is not None and semantic.file_index is not None)
        if settings.jobs_interval_seconds > 0 and (jobs or derived):
            runner = JobRunner(
                database,
                settings,
                semantic,
                settings.jobs_interval_seconds,
                schedule=jobs,
                work=jobs,
                apart=settings.jobs_apart,
                keep_indexes=derived,
            )
            runner.start()
        async with mcp_endpoint.running():
            yield
        if runner is not None and not runner.stop():
            # Closing the model and the pool under it would only turn its work into tracebacks; the process is
            # ending, and the job goes on at the next start.
            log.warning("background work did not stop in time; it resumes at the next start")
            return
        if semantic is not None:
            semantic.close()
        database.dispose()

    app = FastAPI(
        title="papertide",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # web/routes/api_docs.py serves it, with no CDN
        redoc_url=None,
        # Starlette's trailing-slash redirect is an absolute URL on the request's Host header; absolute URLs come
        # from PAPERTIDE_BASE_URL only, and "/papers/" is no page of papertide's.
        redirect_slashes=False,
        dependencies=[Depends(load_user)],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.search = engine
    app.state.metrics = DatabaseCollector(database, settings)
    # Starlette runs the last-added middleware first: sessions must be decoded before the guard reads the token.
    # One-click unsubscribe (RFC 8058) is posted by mail clients, which carry the signed token but no CSRF token;
    # MCP clients post to /mcp with a bearer token or none, and the MCP server never reads the session cookie.
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.request_body_timeout_seconds,
        exempt_paths=("/unsubscribe", MCP_PATH),
        upload_limits={"/collections/import": library.UPLOAD_LIMIT},
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_DAYS * 24 * 3600,  # the cookie; the session row it names expires (and ends) on its own
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    app.add_middleware(PageCacheMiddleware, ttl=settings.page_cache_seconds, session_cookie=SESSION_COOKIE)
    if settings.cors_origins:
        # Reads only: a page elsewhere may show papertide's papers, never act as one of its users.
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins.split(), allow_methods=["GET"], allow_credentials=False
        )
    # Outside the page cache, so cached pages carry the headers too; Swagger's page gets its own policy.
    app.add_middleware(SecurityHeadersMiddleware, docs_prefix=api_docs.DOCS_PATH)
    app.add_middleware(HeadAsGetMiddleware)  # inside the metrics, which count HEAD as itself
    app.add_middleware(RequestMetricsMiddleware)  # outermost: it times everything, cached pages included
    # Before /static, which would otherwise take (and 404) these paths.
    app.mount(api_docs.SWAGGER_UI_PATH, StaticFiles(directory=api_docs.swagger_ui_files()), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    install_error_handlers(app)
    # MCP over stateless Streamable HTTP (docs/api.md, Agents): POST only, as there is no stream to GET or end.
    gate = McpGate(mcp_endpoint, database)
    app.router.routes.append(Route(MCP_PATH, gate, methods=["POST"], include_in_schema=False))
    redact_access_log()
    # The paper router has catch-all paths (/papers/{id:path}), so it comes after every other /papers/ route.
    for module in (
        health,
        api_docs,
        hf_api,
        hf_collections,
        api_v1,
        shortcuts,  # exact paths only, before paper's /papers/{id:path} can take /papers/daily
        listings,
        search,
        trends,
        topics,
        discover,
        feeds,
        admin,
        submit,
        subscriptions,
        authors,
        follows,
        accounts,
        recovery,
        exports,  # before community and organizations: a collection's {slug} would take "thesis.bib"
        library,
        community,
        organizations,
        reading_group,
        claims,
        momentum,  # before paper: /papers/{id}/momentum.svg
        paper,
    ):
        app.include_router(module.router)
    return app
