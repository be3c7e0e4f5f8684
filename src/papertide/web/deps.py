"""Request-scoped dependencies shared by routes, and the template environment with its globals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from papertide import __version__
from papertide.config import Settings
from papertide.db import Database
from papertide.search.semantic import Semantic
from papertide.text import latex_text
from papertide.web.feeds import feed_links
from papertide.web.pagecache import mark_public


def get_db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_semantic(request: Request) -> Semantic | None:
    semantic: Semantic | None = request.app.state.semantic
    return semantic


def read_session(request: Request) -> Iterator[Session]:
    with get_db(request).read_session() as session:
        yield session


class LazyCsrfToken:
    """Creates the session's CSRF token only when a template prints it, so pages without forms set no cookie
    (and stay cacheable for anonymous visitors)."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        from papertide.web.security import csrf_token  # security imports this module

        return csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)


def _page_context(request: Request) -> dict[str, Any]:
    return {
        "current_user": getattr(request.state, "user", None),
        "csrf_token": LazyCsrfToken(request),
        "feed_links": feed_links(request.url.path, dict(request.query_params)),
    }


def static_url(path: str) -> str:
    """A static file's URL with the release as cache buster, usable without a request (error pages)."""
    return f"/static/{path}?v={__version__}"


def redirect_back(request: Request, fallback: str) -> RedirectResponse:
    """Redirect to the page a form came from when it is on this site, else to ``fallback`` (no open redirect)."""
    parts = urlsplit(request.headers.get("referer", ""))
    same_site = parts.netloc == request.url.netloc and parts.path.startswith("/")
    target = (parts.path + (f"?{parts.query}" if parts.query else "")) if same_site else fallback
    return RedirectResponse(target, status_code=303)


def render_page(request: Request, template: str, context: dict[str, Any]) -> Response:
    """The HTML page, or its JSON twin (the same context) when the path ends in ``.json``."""
    if request.url.path.endswith(".json"):
        return mark_public(JSONResponse(jsonable_encoder(context)), request)
    return mark_public(templates.TemplateResponse(request, template, context), request)


templates = Jinja2Templates(directory=Path(__file__).parent / "templates", context_processors=[_page_context])
templates.env.globals["static_url"] = static_url
templates.env.globals["version"] = __version__
templates.env.filters["latex"] = latex_text

DbSession = Annotated[Session, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
SemanticSearch = Annotated[Semantic | None, Depends(get_semantic)]
