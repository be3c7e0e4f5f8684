"""Redirects never leave the site: the vote form's way back, ``same_site_path`` and the log-in ``next``.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.services.papers import upsert_papers
from papertide.web.rendering.templating import same_site_path
from tests.helpers.factories import make_paper_record
from tests.helpers.web import csrf_token, sign_up


@pytest.mark.parametrize(
    "referer",
    [
        "http://testserver//evil.example",
        "http://testserver//evil.example/path?x=1",
        "http://testserver/\\evil.example",
        "http://testserver/%2F/evil.example",
        "https://evil.example/papers",
        "//evil.example",
        "javascript:alert(1)",
    ],
)
def test_redirect_back_never_leaves_the_site(client: TestClient, db: Database, referer: str) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    token = sign_up(client, "voter")
    response = client.post(
        "/papers/2501.00001/vote",
        data={"csrf_token": token, "value": "1"},
        headers={"referer": referer},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert same_site_path(location) == location, location


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example/", "/ok\\..\\x"])
def test_same_site_path_refuses_what_a_browser_reads_as_another_host(target: str) -> None:
    assert same_site_path(target) is None


def test_same_site_path_keeps_paths_and_queries() -> None:
    assert same_site_path("/papers/2501.00001?x=1") == "/papers/2501.00001?x=1"


def test_login_next_cannot_point_elsewhere(client: TestClient) -> None:
    page = client.get("/login", params={"next": "/\\evil.example"}).text
    assert "evil.example" not in page
    token = csrf_token(client, "/login")
    assert token
