"""The Host header never reaches an absolute URL (audit 2, finding 3): every page, feed, API answer and redirect
builds absolute links from ``PAPERTIDE_BASE_URL``, and the page cache keeps one answer per Host besides."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.web.middleware.pagecache import PageCacheMiddleware
from papertide.web.rendering.caching import mark_public
from tests.helpers.data import HF_FIXTURES, load_daily

HF_DAY = HF_FIXTURES / "hf_daily_papers_2026-07-09.json"
EVIL = "evil.example"


def _get_paths(app: Starlette) -> list[str]:
    """Every GET route without a path parameter, as asked and with a trailing slash (Starlette redirects those)."""
    plain = [
        route.path
        for route in app.routes
        if isinstance(route, Route) and "GET" in (route.methods or ()) and "{" not in route.path
    ]
    return plain + [f"{path}/" for path in plain if path != "/"] + ["/static"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_answer_carries_the_host_it_was_asked_with(settings: Settings, db: Database) -> None:
    items = load_daily(db, HF_DAY)
    paper = items[0]["paper"]["id"]  # type: ignore[index]
    submitter = items[0]["submittedBy"]["name"]  # type: ignore[index]
    configured = settings.model_copy(update={"base_url": "https://papers.example.org", "page_cache_seconds": 60})
    app = create_app(configured)
    paged = ["/api/daily_papers?date=2026-07-09&limit=1", "/api/papers?limit=1", "/api/daily_papers?limit=1&p=1"]
    pages = [f"/papers/{paper}", f"/papers/{paper}.md", f"/api/papers/{paper}", f"/users/{submitter}"]
    feeds = [f"/feeds/{name}.{kind}" for name in ("daily", "trending") for kind in ("rss", "atom", "json")]
    with TestClient(app, base_url=f"http://{EVIL}") as attacker, TestClient(app) as visitor:
        for path in _get_paths(app) + paged + pages + feeds:
            answer = attacker.get(path, follow_redirects=False)
            assert EVIL not in answer.text + json.dumps(dict(answer.headers)), (path, answer.status_code)
            assert answer.status_code == 200 or path not in paged + pages + feeds, path
        # What the attacker's request left in the page cache is not what a visitor gets, and is right anyway.
        for path in paged[:2]:
            link = visitor.get(path).headers["link"]
            assert re.fullmatch(r'<https://papers\.example\.org/api/[\w/]+\?[^>]+>; rel="next"', link), link


def _echo_host(request: Request) -> Response:
    """A page that (wrongly) shows the Host it was asked with, marked public: what the cache must never share."""
    return mark_public(PlainTextResponse(request.headers.get("host", "")), request)


def test_the_page_cache_keeps_one_answer_per_host() -> None:
    app = Starlette(routes=[Route("/", _echo_host)])
    app.add_middleware(PageCacheMiddleware, ttl=60, session_cookie="papertide_session")
    with TestClient(app, base_url=f"http://{EVIL}") as attacker, TestClient(app) as visitor:
        assert attacker.get("/").text == EVIL
        assert visitor.get("/").text == "testserver"
