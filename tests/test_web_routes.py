"""No input answers 500: every route of the app, GET and POST, signed in with a valid CSRF token, is sent the
values the audit found crashes with (ids past 64 bits, extreme weeks and months, control and private-use characters,
a non-character, very long text), in the path, the query string and the form. Errors must be deliberate: a page or
a clear 4xx (or a documented 503), never the crash page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.services.papers import upsert_papers
from papertide.web.security import PROBE_PATHS
from tests.helpers.factories import make_paper_record
from tests.helpers.web import csrf_token, log_in, make_admin

HOSTILE = [
    "99999999999999999999999",
    "-9223372036854775809",
    "0",
    "9999-W52",
    "0001-W01",
    "9999-12",
    "0000-01-01",
    "9999-12-31",
    "llm\x01",
    "\x0b\x1f",
    "\ue000\ue001",
    "\ufffe",
    "2501.00001\x00",
    "x" * 3000,
]
FIELDS = (
    "q",
    "date",
    "week",
    "month",
    "day",
    "period",
    "value",
    "sort",
    "page",
    "p",
    "limit",
    "cursor",
    "cat",
    "category",
    "org",
    "after",
    "before",
    "text",
    "pos",
    "neg",
    "token",
    "email",
    "username",
    "password",
    "body",
    "parent_id",
    "collection_id",
    "note",
    "title",
    "description",
    "public",
    "paper",
    "organization",
    "code_url",
    "project_url",
    "name",
    "scope",
    "fullname",
    "current",
    "new",
    "cadence",
    "categories",
    "organizations",
    "authors",
    "hidden",
)
_PARAM = re.compile(r"\{[^}]+\}")
CRASH = "Something went wrong on our side"


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        for inner in nested.routes if nested is not None else [route]:
            for method in getattr(inner, "methods", set()) & {"GET", "POST", "PUT", "DELETE"}:
                found.add((method, inner.path))
    return sorted(found)


@pytest.fixture
def hostile_app(settings: Settings) -> FastAPI:
    generous = {
        "rate_limit_votes_per_minute": 100_000,
        "rate_limit_writes_per_minute": 100_000,
        "rate_limit_auth_per_minute": 100_000,
        "semantic_search": False,
    }
    return create_app(settings.model_copy(update=generous))


@pytest.fixture
def admin_client(hostile_app: FastAPI, db: Database) -> Iterator[TestClient]:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    make_admin(db, "root")
    with TestClient(hostile_app, base_url="http://testserver", raise_server_exceptions=False) as client:
        log_in(client, "root")
        yield client


def _send(client: TestClient, method: str, path: str, value: str, token: str) -> Any:
    url = _PARAM.sub(lambda _: quote(value, safe=""), path)
    params = {field: value for field in FIELDS} if len(value) < 100 else {"q": value, "text": value, "body": value}
    if method == "GET":
        return client.get(url, params=params, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, json=params, headers={"X-CSRF-Token": token}, follow_redirects=False)
    return client.request(method, url, data={**params, "csrf_token": token}, follow_redirects=False)


def test_no_route_answers_500_to_hostile_values(hostile_app: FastAPI, admin_client: TestClient) -> None:
    token = csrf_token(admin_client, "/settings")
    crashes = []
    for method, path in _routes(hostile_app):
        if path.startswith(("/static", "/openapi", "/api/docs", "/docs", "/redoc")) or path in ("/logout", "/mcp"):
            continue
        for value in HOSTILE:
            response = _send(admin_client, method, path, value, token)
            if response.status_code == 500 or CRASH in response.text:
                crashes.append(f"{method} {path} with {value[:30]!r}: {response.status_code}")
    assert not crashes, "\n".join(crashes)


def test_every_route_refuses_two_authorization_headers(hostile_app: FastAPI, admin_client: TestClient) -> None:
    token = csrf_token(admin_client, "/settings")
    doubled = [("authorization", "Bearer pt_one"), ("authorization", "Bearer pt_two"), ("x-csrf-token", token)]
    answers = {}
    for method, path in _routes(hostile_app):
        if path.startswith(("/static", "/openapi", "/api/docs", "/docs", "/redoc")) or path in PROBE_PATHS:
            continue
        url = _PARAM.sub("2501.00001", path)
        answers[f"{method} {path}"] = admin_client.request(
            method, url, headers=doubled, follow_redirects=False
        ).status_code
    assert {route: status for route, status in answers.items() if status != 400} == {}
