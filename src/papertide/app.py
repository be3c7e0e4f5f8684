"""The app factory: ``create_app(settings)`` builds the ASGI app (routes, templates, static files, lifespan).

No logic lives here. ``papertide serve`` runs it under uvicorn with ``factory=True`` so every web process
builds its own app, with its own connection pool, from the same settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from papertide import __version__
from papertide.config import Settings, get_settings
from papertide.db import connect
from papertide.web.routes import health, pages

WEB_DIR = Path(__file__).parent / "web"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = connect(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = FastAPI(title="papertide", version=__version__, lifespan=lifespan, docs_url="/api/docs")
    app.state.settings = settings
    app.state.db = database
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(health.router)
    app.include_router(pages.router)
    return app
