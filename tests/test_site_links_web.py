"""No dead ends (issue 33): a crawler follows every same-site link of every page type, signed out and signed in (as
an administrator who has a collection, comments and follows), and fails on any 404 or 405 it was led to.

Links are followed up to ``CHECK_PER_SHAPE`` per page type (a path's shape and its query's keys) and pages read for
more links up to ``READ_PER_SHAPE``, so the crawl covers every kind of page, and many of each, without walking the
whole corpus (a full walk of two days is 900 requests)."""

from __future__ import annotations

import re
from collections import Counter, deque
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.db import Database
from papertide.models import Paper, User
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.comments import add_comment
from papertide.services.follows import follow
from papertide.web.routes.shortcuts import SHORT_FORMS
from tests.helpers.data import load_daily
from tests.helpers.web import log_in, make_admin

DAYS = ("2025-06-10", "2025-06-11")
READ_PER_SHAPE = 2
CHECK_PER_SHAPE = 8
_HREF = re.compile(r'<a\s[^>]*?href="([^"#]*)', re.IGNORECASE)
_NOT_PAGES = ("/static/", "/feeds/", "/api/", "/mcp")


def _shape(app: FastAPI, path: str, query: str) -> str:
    """A page type: the route that answers the path (``/authors/{name}``), and the names of its query's keys."""
    routes = iter_route_contexts(app.routes)
    route = next((r.path for r in routes if r.path and "GET" in (r.methods or ()) and r.path_regex.match(path)), path)
    return f"{route}?{','.join(sorted(key for key, _ in parse_qsl(query)))}"


def _crawl(app: FastAPI, client: TestClient, starts: list[str]) -> tuple[dict[str, tuple[int, str]], int]:
    """Every link found, with its status and the page it was found on; and how many pages were read."""
    checked: dict[str, tuple[int, str]] = {}
    read: Counter[str] = Counter()
    followed: Counter[str] = Counter()
    queue = deque((start, "(start)") for start in starts)
    while queue:
        url, found_on = queue.popleft()
        parts = urlsplit(url)
        kind = _shape(app, parts.path, parts.query)
        if url in checked or followed[kind] >= CHECK_PER_SHAPE:
            continue
        followed[kind] += 1
        response = client.get(url, follow_redirects=True)
        checked[url] = (response.status_code, found_on)
        parts = urlsplit(str(response.url))
        shape = _shape(app, parts.path, parts.query)
        if not response.headers.get("content-type", "").startswith("text/html") or read[shape] >= READ_PER_SHAPE:
            continue
        read[shape] += 1
        for href in _HREF.findall(response.text):
            target = urlsplit(urljoin(str(response.url), href.replace("&amp;", "&")))
            if target.hostname == "testserver" and not target.path.startswith(_NOT_PAGES):
                queue.append((target.path + (f"?{target.query}" if target.query else ""), url))
    return checked, sum(read.values())


@pytest.fixture
def seeded(db: Database, shared_data: Path) -> str:
    """Two real days, and an administrator with a public collection, a comment and follows; returns a paper id."""
    for day in DAYS:
        load_daily(db, shared_data / "hf-daily" / f"{day}.json")
    make_admin(db, "boss")
    with db.write_session() as session:
        boss = session.execute(select(User.id).where(User.username == "boss")).scalar_one()
        papers = session.execute(select(Paper.id, Paper.arxiv_id).order_by(Paper.id).limit(2)).all()
        collection = create_collection(session, owner_id=boss, title="Reading group", description="Week one: $x^2$")
        for paper_id, _ in papers:
            add_to_collection(session, collection_id=collection.id, owner_id=boss, paper_id=paper_id, note="Read")
        add_comment(session, user_id=boss, paper_id=papers[0][0], body="See section 3, and $\\alpha$.")
        follow(session, boss, "author", "Anh Tuan Luu")
        follow(session, boss, "search", "diffusion")
    return str(papers[0][1])


def _starts(arxiv_id: str) -> list[str]:
    return [
        "/",
        "/papers/trending",
        "/papers/week",
        "/papers/month",
        f"/papers/date/{DAYS[0]}",
        f"/papers/{arxiv_id}",
        "/search?q=diffusion",
        "/collections",
        "/users/boss",
        "/similar",
        "/papers/submit",
        "/subscribe",
        *SHORT_FORMS,
    ]


def _dead(checked: dict[str, tuple[int, str]]) -> list[str]:
    return [f"{status} {url} (linked from {page})" for url, (status, page) in checked.items() if status in (404, 405)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_link_leads_to_a_404_or_405_signed_out_or_in(app: FastAPI, client: TestClient, seeded: str) -> None:
    signed_out, read_out = _crawl(app, client, _starts(seeded))
    assert not _dead(signed_out), _dead(signed_out)
    log_in(client, "boss")
    signed_in, read_in = _crawl(app, client, [*_starts(seeded), "/for-you", "/following", "/settings", "/admin"])
    assert not _dead(signed_in), _dead(signed_in)
    # The crawl saw the site: every page type, and the header's links for a signed-in reader.
    assert read_out >= 30 and read_in > read_out, (read_out, read_in)
    for page in ("/collections", "/following", "/users/boss/collections/reading-group", "/admin"):
        assert signed_in[page][0] == 200, page
