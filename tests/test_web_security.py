"""Security by default: CSRF on every state change, escaping of hostile text, body limits, rate limits,
argon2 hashes, and one vote per user under real concurrency."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from argon2 import extract_parameters
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import User, Vote
from papertide.records import AuthorRecord
from papertide.services import accounts
from papertide.services.accounts import configure_password_hashing
from papertide.services.papers import feature_papers, upsert_papers
from tests.helpers.factories import make_featured_record, make_paper_record, make_user
from tests.helpers.web import csrf_token, log_in, sign_up

COST_SETTINGS = ("password_hash_time_cost", "password_hash_memory_kib", "password_hash_parallelism")
XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</textarea><script>alert(2)</script>",
    "{{ 7*7 }}<b>bold</b>",
    '<a href="javascript:alert(3)">x</a>',
    "<iframe src=//evil.example></iframe>",
]
_DANGEROUS = re.compile(r"<script>alert|<img src=x|<svg/onload|<iframe|<b>bold</b>|<a href=\"javascript:", re.I)


def _routes(app: FastAPI) -> list[Any]:
    """Every route, including those of included routers (FastAPI wraps them since 0.16x)."""
    found: list[Any] = []
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        found.extend(nested.routes if nested is not None else [route])
    return found


def _post_routes(app: FastAPI) -> list[str]:
    return sorted({route.path for route in _routes(app) if "POST" in getattr(route, "methods", set())})


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(app: FastAPI, client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    sign_up(client, "csrf_victim")
    concrete = {
        "{arxiv_id}": "2501.00001",
        "{comment_id}": "1",
        "{collection_id}": "1",
        "{paper_id}": "1",
    }
    routes = _post_routes(app)
    assert len(routes) >= 15
    # RFC 8058 one-click unsubscribe is posted by mail clients without a session: its signed token is the authority.
    assert client.post("/unsubscribe", data={"token": "forged"}).status_code == 400
    assert client.post("/unsubscribe?token=forged", content=b"List-Unsubscribe=One-Click").status_code == 400
    # /mcp answers MCP clients, which carry a bearer token or none; it never reads the cookie (test_mcp_server.py).
    for template in (route for route in routes if route not in ("/unsubscribe", "/mcp")):
        path = template.replace(":path", "")
        for placeholder, value in concrete.items():
            path = path.replace(placeholder, value)
        assert client.post(path, data={"value": "1"}).status_code == 403, path
        assert client.post(path, data={"value": "1", "csrf_token": "forged"}).status_code == 403, path
        assert client.post(path, headers={"X-CSRF-Token": "forged"}).status_code == 403, path


def test_every_form_on_a_page_carries_the_token(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        feature_papers(session, [make_featured_record()])
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00005")])
    sign_up(client, "formful")
    for path in ("/", "/papers/date/2026-07-09", "/papers/2501.00005", "/papers/submit", "/settings"):
        html = client.get(path).text
        forms = html.count('method="post"')
        tokens = len(re.findall(r'name="csrf_token" value="[^"]+"', html))
        assert forms >= 1 and tokens == forms, (path, forms, tokens)


def test_no_get_route_changes_state(app: FastAPI) -> None:
    verbs = ("vote", "comment", "delete", "hide", "logout", "submit", "collect", "edit", "remove", "note")
    gets = [route for route in _routes(app) if "GET" in getattr(route, "methods", set())]
    assert len(gets) > 15
    for route in gets:
        last = route.path.rstrip("/").rsplit("/", 1)[-1]
        assert last not in verbs or route.path == "/papers/submit", route.path


def test_hostile_text_comes_back_escaped(client: TestClient, db: Database) -> None:
    records = [
        make_featured_record(
            upvotes=3,  # not a random count: 49 would look like an evaluated {{ 7*7 }}
            paper=make_paper_record(
                version=None,
                title=f"Title {payload}",
                abstract=f"Abstract {payload}",
                authors=(AuthorRecord(f"Author {payload}"),),
            ),
        )
        for payload in XSS
    ]
    with db.write_session() as session:
        feature_papers(session, records)
    token = sign_up(client, "xss_tester")
    paper = records[0].paper.arxiv_id
    for payload in XSS:
        assert client.post(f"/papers/{paper}/comments", data={"body": payload, "csrf_token": token}).status_code == 200
    pages = [client.get("/papers/date/2026-07-09").text, client.get(f"/papers/{paper}").text]
    pages += [client.get(f"/papers/{r.paper.arxiv_id}").text for r in records[1:3]]
    for page in pages:
        assert not _DANGEROUS.search(page), _DANGEROUS.search(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert "{{ 7*7 }}" in pages[1] and ">49<" not in pages[1]


def test_markdown_links_only_allow_web_schemes(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00002")])
    token = sign_up(client, "linker")
    body = "[bad](javascript:alert(1)) [good](https://example.org) $x_1 * y_2$ **ok**"
    client.post("/papers/2501.00002/comments", data={"body": body, "csrf_token": token})
    page = client.get("/papers/2501.00002").text
    assert 'href="javascript' not in page
    assert '<a href="https://example.org" rel="nofollow ugc noopener">good</a>' in page
    assert "$x_1 * y_2$" in page and "<strong>ok</strong>" in page


def test_oversized_body_is_refused_with_413(client: TestClient, settings: Settings) -> None:
    token = csrf_token(client, "/login")
    big = "x" * (settings.max_body_bytes + 1)
    response = client.post("/login", data={"username": big, "password": "p", "csrf_token": token})
    assert response.status_code == 413
    assert client.get("/").status_code == 200


def test_passwords_are_argon2_hashes_and_wrong_ones_fail(client: TestClient, db: Database) -> None:
    sign_up(client, "hashed")
    with db.read_session() as session:
        stored = session.execute(select(User.password_hash).where(User.username == "hashed")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    token = csrf_token(client, "/login")
    wrong = client.post("/login", data={"username": "hashed", "password": "nope nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text


def test_sign_in_changes_the_csrf_token_and_log_out_ends_the_session(client: TestClient) -> None:
    anonymous = csrf_token(client, "/login")
    signed_in = sign_up(client, "rotator")
    assert anonymous != signed_in
    assert "rotator" in client.get("/").text
    client.post("/logout", data={"csrf_token": signed_in})
    assert client.get("/settings", follow_redirects=False).status_code == 303


def test_login_next_cannot_leave_the_site(client: TestClient) -> None:
    sign_up(client, "traveller")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    token = csrf_token(client, "/login")
    for target in ("https://evil.example/", "//evil.example/"):
        response = client.post(
            "/login",
            data={"username": "traveller", "password": "correct horse battery", "next": target, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"
        token = csrf_token(client)
        client.post("/logout", data={"csrf_token": token})
        token = csrf_token(client, "/login")


def test_write_rate_limit_answers_429_with_retry_after(settings: Settings, db: Database) -> None:
    from papertide.app import create_app

    limited = create_app(settings.model_copy(update={"rate_limit_writes_per_minute": 3}))
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00003")])
    with TestClient(limited) as client:
        token = sign_up(client, "chatty")
        codes = [
            client.post(
                "/papers/2501.00003/comments", data={"body": f"c{i}", "csrf_token": token}, follow_redirects=False
            ).status_code
            for i in range(5)
        ]
        assert codes == [303, 303, 303, 429, 429]
        refused = client.post("/papers/2501.00003/comments", data={"body": "x", "csrf_token": token})
        assert 1 <= int(refused.headers["retry-after"]) <= 60


@pytest.mark.timeout(120)
def test_fifty_concurrent_upvotes_by_one_user_make_one_vote(live_server: str, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00004")])
    with httpx.Client(base_url=live_server) as browser:
        page = browser.get("/signup").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        browser.post("/signup", data={"username": "clicker", "password": "correct horse", "csrf_token": token})
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/").text).group(1)  # type: ignore[union-attr]
        cookies = dict(browser.cookies)

    def click(_: int) -> int:
        with httpx.Client(base_url=live_server, cookies=cookies, timeout=60) as tab:
            response = tab.post(
                "/papers/2501.00004/vote",
                data={"value": "1", "csrf_token": token},
                headers={"Accept": "application/json"},
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(click, range(50)))
    assert codes.count(200) == 50, codes
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Vote)).scalar_one() == 1
    with httpx.Client(base_url=live_server) as anyone:
        assert anyone.get("/papers/2501.00004").text.count("data-count>1</span>") == 1


def test_the_timing_equaliser_hash_is_current_and_follows_the_configured_cost(settings: Settings) -> None:
    """A failed log-in for an unknown name verifies against a hash of the hasher's own parameters, so it costs what
    a wrong password costs: at the default cost the stored one, which costs no hashing the first time in a process;
    at another cost (``PAPERTIDE_PASSWORD_HASH_*``) one made once at that cost."""
    defaults = {name: Settings.model_fields[name].default for name in COST_SETTINGS}
    configure_password_hashing(settings.model_copy(update=defaults))
    try:
        fresh = accounts._hasher.hash("any password")
        assert extract_parameters(accounts._STORED_DUMMY_HASH) == extract_parameters(fresh)
        assert accounts._dummy_hash() is accounts._STORED_DUMMY_HASH
    finally:
        configure_password_hashing(settings)
    cheap = accounts._dummy_hash()
    assert cheap is not accounts._STORED_DUMMY_HASH
    assert extract_parameters(cheap) == extract_parameters(accounts._hasher.hash("any password"))


def test_a_log_in_rehashes_a_password_made_at_another_cost(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        user = make_user(session, username="costly")
        before = extract_parameters(session.get_one(User, user.id).password_hash or "")
    stronger = settings.model_copy(update={"password_hash_time_cost": 2, "password_hash_memory_kib": 128})
    with TestClient(create_app(stronger)) as client:
        log_in(client, "costly")
    with db.read_session() as session:
        after = extract_parameters(session.get_one(User, user.id).password_hash or "")
    configure_password_hashing(settings)
    assert (before.time_cost, before.memory_cost) == (1, 64) and (after.time_cost, after.memory_cost) == (2, 128)
