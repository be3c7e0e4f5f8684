"""Rendering pages: the Jinja environment with its globals and filters, the JSON-twin rule, and redirects back.

Every HTML listing has a JSON twin at the same path with ``.json``, rendered from the same context
(:func:`render_page`); :func:`is_json_twin` is the one place that decides whether a path is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from papertide import __version__
from papertide.text import latex_text
from papertide.web.csrf import csrf_token
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.feeds import FeedRef, feed_links
from papertide.web.rendering.formats import card_coins
from papertide.web.viewmodels.cards import author_url


class LazyCsrfToken:
    """Creates the session's CSRF token only when a template prints it, so pages without forms set no cookie
    (and stay cacheable for anonymous visitors)."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)


def _page_context(request: Request) -> dict[str, Any]:
    return {
        "current_user": getattr(request.state, "user", None),
        "csrf_token": LazyCsrfToken(request),
    }


def static_url(path: str) -> str:
    """A static file's URL with the release as cache buster, usable without a request (error pages)."""
    return f"/static/{path}?v={__version__}"


def is_json_twin(path: str) -> bool:
    """Whether ``path`` asks for the JSON twin of a page."""
    return path.endswith(".json")


def same_site_path(target: str) -> str | None:
    """``target`` as a path on this site (with its query), or None when it could lead anywhere else: a
    scheme or host of its own, a protocol-relative ``//host`` or a backslash that browsers read as one."""
    parts = urlsplit(target)
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith(("//", "/\\")) or "\\" in path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def redirect_back(request: Request, fallback: str) -> RedirectResponse:
    """Redirect to the page a form came from when it is on this site, else to ``fallback`` (no open redirect)."""
    parts = urlsplit(request.headers.get("referer", ""))
    target = None
    if parts.netloc == request.url.netloc:
        target = same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    return RedirectResponse(target or fallback, status_code=303)


def render_page(request: Request, template: str, context: dict[str, Any], feeds: Sequence[FeedRef] = ()) -> Response:
    """The HTML page, or its JSON twin (the same context) when the path asks for one. ``feeds`` are the feeds that
    follow the page, which its route declares; the HTML links them for feed readers to discover."""
    if is_json_twin(request.url.path):
        return mark_public(JSONResponse(jsonable_encoder(context)), request)
    return mark_public(templates.TemplateResponse(request, template, {**context, "feeds": feeds}), request)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``3|counted("paper")`` is "3 papers", ``1|counted("paper")`` "1 paper": one rule instead of a number
    followed by a plural that is wrong once."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


templates = Jinja2Templates(directory=Path(__file__).parents[1] / "templates", context_processors=[_page_context])
templates.env.globals["static_url"] = static_url
templates.env.globals["version"] = __version__
templates.env.filters["latex"] = latex_text
templates.env.filters["author_url"] = author_url
templates.env.filters["coins"] = card_coins
templates.env.filters["feed_links"] = feed_links
templates.env.filters["counted"] = counted
