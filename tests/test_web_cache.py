"""The anonymous page cache: hits skip the database, writes through the app clear it, sessions bypass it."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.services.papers import feature_papers
from tests.helpers.databases import count_queries
from tests.helpers.factories import make_featured_record
from tests.helpers.web import sign_up


def test_anonymous_pages_are_cached_until_a_write(settings: Settings, db: Database) -> None:
    first = make_featured_record(upvotes=5)
    with db.write_session() as session:
        feature_papers(session, [first])
    app = create_app(settings.model_copy(update={"page_cache_seconds": 60}))
    with TestClient(app) as anonymous, TestClient(app) as member:
        assert first.paper.arxiv_id in anonymous.get("/papers/date/2026-07-09").text
        assert "set-cookie" not in anonymous.get("/papers/date/2026-07-09").headers
        with count_queries(app.state.database) as queries:
            cached = anonymous.get("/papers/date/2026-07-09")
        assert cached.status_code == 200 and queries == [] and "x-page-cache" not in cached.headers
        second = make_featured_record(upvotes=50)
        with db.write_session() as session:  # behind the app's back: the cache may serve the old page
            feature_papers(session, [second])
        assert second.paper.arxiv_id not in anonymous.get("/papers/date/2026-07-09").text
        token = sign_up(member, "writer")  # a write through the app clears this process's cache
        assert second.paper.arxiv_id in member.get("/papers/date/2026-07-09").text
        member.post(f"/papers/{first.paper.arxiv_id}/vote", data={"value": "1", "csrf_token": token})
        assert second.paper.arxiv_id in anonymous.get("/papers/date/2026-07-09").text


def test_signed_in_pages_and_cookie_setting_pages_are_never_cached(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        feature_papers(session, [make_featured_record()])
    app = create_app(settings.model_copy(update={"page_cache_seconds": 60}))
    with TestClient(app) as member, TestClient(app) as anonymous:
        sign_up(member, "personal")
        assert "personal" in member.get("/papers/date/2026-07-09").text
        assert "personal" not in anonymous.get("/papers/date/2026-07-09").text
        login_page = anonymous.get("/login")
        assert "set-cookie" in login_page.headers
        with count_queries(app.state.database):
            other = TestClient(app).get("/login")
        assert other.headers["set-cookie"] != login_page.headers["set-cookie"]


def test_every_anonymous_page_kind_is_cached(settings: Settings, db: Database) -> None:
    item = make_featured_record()
    with db.write_session() as session:
        feature_papers(session, [item])
    app = create_app(settings.model_copy(update={"page_cache_seconds": 60}))
    submitter = item.submitter.name if item.submitter else ""
    paths = [
        "/",
        "/index.json",
        f"/papers/{item.paper.arxiv_id}",
        "/papers/week/2026-W28",
        "/papers/month/2026-07",
        "/papers/trending",
        f"/users/{submitter}",
        "/search?q=the",
    ]
    with TestClient(app) as anonymous:
        for path in paths:
            assert anonymous.get(path).status_code == 200, path
            with count_queries(app.state.database) as queries:
                again = anonymous.get(path)
            assert again.status_code == 200 and queries == [], path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_several_web_processes_each_serve_a_stale_page_for_at_most_the_ttl(settings: Settings, db: Database) -> None:
    """Each web process (``PAPERTIDE_WEB_WORKERS``) keeps its own cache: a write through one clears only its own,
    and another serves its copy until ``PAPERTIDE_PAGE_CACHE_SECONDS`` have passed, never longer."""
    ttl = 2.0
    configured = settings.model_copy(update={"page_cache_seconds": ttl})
    one, two = create_app(configured), create_app(configured)
    listing = "/papers/date/2026-07-09"
    with TestClient(one) as first, TestClient(two) as second, TestClient(two) as member:
        token = sign_up(member, "writer")  # before the pages are cached: hashing a password takes a while
        caching = time.monotonic()
        assert first.get(listing).status_code == second.get(listing).status_code == 200
        cached = time.monotonic()
        late = make_featured_record()
        with db.write_session() as session:
            feature_papers(session, [late])
        assert member.post("/logout", data={"csrf_token": token}).status_code == 200  # a write through the second
        assert late.paper.arxiv_id in second.get(listing).text
        stale = first.get(listing).text
        if time.monotonic() < caching + ttl:  # a loaded box may take longer than the ttl to get here
            assert late.paper.arxiv_id not in stale
        time.sleep(max(0.0, cached + ttl - time.monotonic()))
        assert late.paper.arxiv_id in first.get(listing).text
