"""Input anyone can import or send, through the real app: links that are not http(s) never become hrefs, text with
characters XML cannot carry is cleaned where it enters, odd comments save, and extreme periods answer a page or a
clear 4xx, never a 500."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.db import Database
from papertide.models import Comment, Paper
from papertide.records import AccountRecord
from papertide.services.papers import feature_papers
from papertide.sources.hf_daily import parse_daily
from tests.helpers.factories import make_featured_record
from tests.helpers.web import log_in, make_admin, sign_up

DAY = date(2026, 7, 9)
FOREIGN_LINKS = [
    "javascript:alert(10)",
    " JaVaScRiPt:alert(11)",
    "java\nscript:alert(12)",
    "\x01javascript:alert(13)",
    "data:text/html,<script>alert(14)</script>",
    "vbscript:msgbox(15)",
    "//evil.example/16",
    "https:alert(17)",
]
# An href that is neither http(s), nor a path on this site, nor a fragment.
FOREIGN_HREF = re.compile(r"""href=(?!["']?(?:https?://|/(?!/)|#))""", re.IGNORECASE)
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def hostile_item(number: int, link: str) -> dict[str, object]:
    """A Daily Papers item the way a tampered export could write it."""
    return {
        "title": f"Hostile\u0001 title {number}\ufffe",
        "paper": {
            "id": f"2607.{number:05d}",
            "summary": "An abstract\u000b with\u001f controls\u0000 and a lone \ud800 surrogate",
            "authors": [{"name": "Eve\u0001 Mallory"}],
            "githubRepo": link,
            "projectPage": link,
            "upvotes": 3,
        },
        "submittedBy": {"user": f"eve{number}", "fullname": "Eve\u0002", "avatarUrl": link},
    }


def pages_of(client: TestClient, arxiv_ids: list[str], submitter: str) -> dict[str, str]:
    paths = ["/", "/index.json", f"/papers/date/{DAY}", "/papers/week/2026-W28", f"/users/{submitter}"]
    paths += [f"/papers/{arxiv_id}" for arxiv_id in arxiv_ids]
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
        pages[path] = response.text
    return pages


def test_imported_links_that_are_not_http_never_become_hrefs(client: TestClient, db: Database) -> None:
    featured, rejected = parse_daily([hostile_item(n, link) for n, link in enumerate(FOREIGN_LINKS, 1)], DAY)
    assert rejected == []
    assert {(item.paper.code_url, item.paper.project_url) for item in featured} == {(None, None)}
    assert {item.submitter.avatar_url for item in featured if item.submitter} == {None}
    with db.write_session() as session:
        feature_papers(session, featured)
    pages = pages_of(client, [item.paper.arxiv_id for item in featured], "eve1")
    for path, page in pages.items():
        assert not FOREIGN_HREF.search(page), path
        assert "script:" not in page.lower(), path
        assert not NOT_XML.search(page), path


def test_links_stored_before_validation_are_not_rendered(client: TestClient, db: Database) -> None:
    """Rows written by an older version keep what they were given; the view-models still refuse it."""
    record = make_featured_record(featured_on=DAY, submitter=AccountRecord("curator"))
    with db.write_session() as session:
        feature_papers(session, [record])
        session.execute(update(Paper).values(code_url="javascript:alert(10)", project_url="data:text/html,x"))
    pages = pages_of(client, [record.paper.arxiv_id], "curator")
    for path, page in pages.items():
        assert not FOREIGN_HREF.search(page) and "javascript:" not in page and "data:text" not in page, path
    assert client.get("/index.json").json()["cards"][0]["code_url"] is None


def test_good_links_are_kept(client: TestClient, db: Database) -> None:
    items = [hostile_item(1, "https://github.com/owner/repo")]
    featured, _ = parse_daily(items, DAY)
    with db.write_session() as session:
        feature_papers(session, featured)
    page = client.get("/papers/2607.00001").text
    assert 'href="https://github.com/owner/repo"' in page
    assert "Hostile title 1" in page and "An abstract with controls and a lone surrogate" in page


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "//evil.example", "https:no-host"])
def test_link_edits_refuse_other_schemes_with_a_clear_message(client: TestClient, db: Database, link: str) -> None:
    record = make_featured_record(featured_on=DAY, submitter=AccountRecord("owner"))
    with db.write_session() as session:
        feature_papers(session, [record])
    make_admin(db, "boss")
    token = log_in(client, "boss")
    arxiv_id = record.paper.arxiv_id
    refused = client.post(f"/papers/{arxiv_id}/links", data={"code_url": link, "csrf_token": token})
    assert 400 <= refused.status_code < 500 and "not an http(s) link" in refused.text
    with db.read_session() as session:
        assert session.execute(select(Paper.code_url)).scalar_one() is None


@pytest.mark.parametrize(
    "body",
    [
        "\ue000",
        "\ue001",
        "\ue0000\ue001",
        "before \ue0007\ue001 $x_1$ after",
        "a \x01, a \x0b and a \x1f control",  # a NUL never gets this far: web/security.py answers it with 400
        "$a$ \ue000\ue001 $b$",
    ],
)
def test_any_comment_text_saves_and_renders(client: TestClient, db: Database, body: str) -> None:
    record = make_featured_record(featured_on=DAY)
    with db.write_session() as session:
        feature_papers(session, [record])
    token = sign_up(client, "commenter")
    path = f"/papers/{record.paper.arxiv_id}"
    saved = client.post(f"{path}/comments", data={"body": body, "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303, saved.text[-2000:]
    with db.read_session() as session:
        stored, html = session.execute(select(Comment.body, Comment.body_html)).one()
    expected = NOT_XML.sub("", body)
    assert stored == expected.strip()
    # What the person typed comes back as text: private-use characters included, math spans where they were.
    assert re.sub("<[^>]+>", "", html).strip() == expected.strip()
    assert client.get(path).status_code == 200


EXTREME_PERIODS = [
    "/papers/week/0001-W01",
    "/papers/week/0001-W02",
    "/papers/week/9999-W51",
    "/papers/week/9999-W52",
    "/papers/week/9999-W53",
    "/papers/week/0000-W01",
    "/papers/week/2026-W53",
    "/papers/month/0001-01",
    "/papers/month/9999-12",
    "/papers/month/0000-12",
    "/papers/date/0001-01-01",
    "/papers/date/9999-12-31",
]
EXTREME_API = [
    "/api/daily_papers?week=9999-W52",
    "/api/daily_papers?week=0001-W01",
    "/api/daily_papers?month=9999-12",
    "/api/daily_papers?month=0001-01",
    "/api/daily_papers?date=9999-12-31",
    "/api/v1/papers?period=month&value=9999-12",
    "/api/v1/papers?period=week&value=9999-W52",
    "/api/v1/papers?period=week&value=0001-W01",
    "/api/v1/papers?period=day&value=0001-01-01",
]


@pytest.mark.parametrize("path", EXTREME_PERIODS)
def test_extreme_periods_are_a_page_or_a_clear_404(client: TestClient, path: str) -> None:
    """And every period link on such a page leads somewhere: the pager stops at the ends of the calendar."""
    for twin in (path, f"{path}.json"):
        response = client.get(twin)
        assert response.status_code in (200, 404), (twin, response.text[-2000:])
        if response.status_code == 404:
            assert "is not a" in response.text or "no such" in response.text
    page = client.get(path)
    for link in sorted(set(re.findall(r'href="(/papers/(?:date|week|month)/[^"?#]+)', page.text))):
        assert client.get(link).status_code == 200, (path, link)


@pytest.mark.parametrize("path", EXTREME_API)
def test_extreme_periods_in_the_apis_are_an_answer_or_a_clear_400(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 400), (path, response.text[-2000:])


def test_a_paper_featured_at_the_end_of_the_calendar_breaks_no_listing(client: TestClient, db: Database) -> None:
    """An import may name its file 9999-12-31.json: the latest week and month then end with the calendar."""
    with db.write_session() as session:
        feature_papers(session, [make_featured_record(featured_on=date.max)])
    for path in ("/", "/papers/week", "/papers/month", "/papers/date", "/feeds/weekly.rss", "/feeds/monthly.atom"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])


@pytest.mark.parametrize("char", ["\x01", "\x0b", "\x1f", "\ufffe"])
def test_search_pages_and_feeds_take_any_query(client: TestClient, char: str) -> None:
    query = quote(f"llm{char}")
    for path in (f"/search?q={query}", f"/feeds/search.rss?q={query}", f"/feeds/search.atom?q={query}"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
