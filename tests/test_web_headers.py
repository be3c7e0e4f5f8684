"""Security headers: the policy and framing ban on every HTML page (error pages and cached pages too), nosniff
and the referrer policy on everything, Swagger's own policy, and templates free of what the policy refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from papertide.app import WEB_DIR, create_app
from papertide.config import Settings
from papertide.web.middleware.headers import SecurityHeadersMiddleware
from papertide.web.rendering.policy import CONTENT_SECURITY_POLICY, DOCS_POLICY
from tests.helpers.settings import make_settings

EVERY_RESPONSE = {"x-content-type-options": "nosniff", "referrer-policy": "strict-origin-when-cross-origin"}
HTML_ONLY = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-frame-options": "DENY"}
# What the policy refuses in markup: inline scripts, event-handler attributes, style attributes and elements,
# javascript: URLs.
# A JSON-LD block (schema.org metadata on paper pages) is data: browsers never run it, so script-src does not apply.
REFUSED_MARKUP = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/ld\+json\"))[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:",
    re.I,
)


def secured(app: FastAPI) -> FastAPI:
    """``app`` with its security headers (installed here until ``create_app`` installs them itself)."""
    if not any(entry.cls is SecurityHeadersMiddleware for entry in app.user_middleware):
        app.add_middleware(SecurityHeadersMiddleware, docs_prefix="/api/docs")
    return app


@pytest.fixture
def secured_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(secured(app)) as client:
        yield client


def _has(response_headers: object, wanted: dict[str, str]) -> bool:
    return all(response_headers.get(name) == value for name, value in wanted.items())  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/", "/search?q=rank", "/login", "/papers/9999.99999", "/no/such/page"])
def test_html_pages_and_error_pages_carry_every_header(secured_client: TestClient, path: str) -> None:
    response = secured_client.get(path)
    assert response.headers["content-type"].startswith("text/html")
    assert _has(response.headers, EVERY_RESPONSE | HTML_ONLY), dict(response.headers)


@pytest.mark.parametrize("path", ["/api/v1/papers?limit=1", "/static/papertide.js", "/healthz", "/feeds/daily.rss"])
def test_other_responses_carry_nosniff_and_the_referrer_policy_only(secured_client: TestClient, path: str) -> None:
    response = secured_client.get(path)
    assert _has(response.headers, EVERY_RESPONSE), dict(response.headers)
    assert "content-security-policy" not in response.headers and "x-frame-options" not in response.headers


def test_cached_pages_carry_the_headers_too(tmp_path: Path, settings: Settings) -> None:
    cached = make_settings(settings.database_url, tmp_path, page_cache_seconds=60.0)
    with TestClient(secured(create_app(cached))) as client:
        first, second = client.get("/"), client.get("/")
    assert first.status_code == second.status_code == 200
    assert _has(second.headers, EVERY_RESPONSE | HTML_ONLY)


def test_the_api_reference_loads_nothing_from_other_hosts(secured_client: TestClient) -> None:
    response = secured_client.get("/api/docs")
    assert response.headers["content-security-policy"] == DOCS_POLICY
    assert "http" not in DOCS_POLICY and "unsafe-inline" not in DOCS_POLICY
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets and all(url.startswith("/") for url in assets), assets
    assert "<script>" not in response.text  # the start-up is static/api-docs.js, under script-src 'self'
    for url in assets:
        assert secured_client.get(url).status_code == 200, url


def test_a_header_a_response_sets_itself_is_kept(app: FastAPI) -> None:
    @app.get("/framable")
    def framable() -> HTMLResponse:
        return HTMLResponse("<p>embed me</p>", headers={"X-Frame-Options": "SAMEORIGIN"})

    with TestClient(secured(app)) as client:
        response = client.get("/framable")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_crash_page_carries_the_headers_too(app: FastAPI, accept: str) -> None:
    """A crash is answered by Starlette's outermost middleware, past the one that adds the headers."""

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("a bug")

    with TestClient(secured(app), raise_server_exceptions=False) as client:
        response = client.get("/crash", headers={"accept": accept})
    assert response.status_code == 500 and "went wrong" in response.text
    wanted = EVERY_RESPONSE | (HTML_ONLY if accept == "text/html" else {})
    assert _has(response.headers, wanted), dict(response.headers)


def test_templates_hold_nothing_the_policy_refuses() -> None:
    offending = {
        path.name: match.group(0)
        for path in sorted((WEB_DIR / "templates").glob("*.html"))
        if (match := REFUSED_MARKUP.search(path.read_text()))
    }
    assert offending == {}
