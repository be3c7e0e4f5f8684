"""papertide's own API: listings with cursors, search with facets, similar papers, comments, votes,
collections, subscriptions; token scopes; rate limits; and the whole OpenAPI schema fuzzed by schemathesis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import update

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, upgrade
from papertide.models import RateLimitHit
from tests.helpers.data import HF_FIXTURES, load_daily
from tests.helpers.replay import ReplayServer, Reply
from tests.helpers.settings import mail_settings, make_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import new_token, sign_up

DAY = "2026-07-09"


@pytest.fixture
def day(db: Database) -> list[dict[str, object]]:
    return load_daily(db, HF_FIXTURES / f"hf_daily_papers_{DAY}.json")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_listing_pages_with_cursors(client: TestClient, day: list[dict[str, object]]) -> None:
    first = client.get("/api/v1/papers", params={"period": "day", "value": DAY, "limit": 4}).json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    upvotes = [paper["upvotes"] for paper in first["items"]]
    assert upvotes == sorted(upvotes, reverse=True)
    rest = client.get(
        "/api/v1/papers", params={"period": "day", "value": DAY, "limit": 4, "cursor": first["next_cursor"]}
    )
    second = rest.json()
    assert len(second["items"]) == 3 and second["next_cursor"] is None
    everything = {p["arxiv_id"] for p in first["items"] + second["items"]}
    assert everything == {item["paper"]["id"] for item in day}  # type: ignore[index]
    assert client.get("/api/v1/papers", params={"cursor": "forged"}).status_code == 400
    bad = client.get("/api/v1/papers", params={"period": "week", "value": "2026-99"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    paper = client.get(f"/api/v1/papers/{first['items'][0]['arxiv_id']}v1").json()
    assert paper["arxiv_id"] == first["items"][0]["arxiv_id"] and paper["abstract"]


def test_search_and_similar(client: TestClient, embedded_corpus: Database) -> None:
    found = client.get("/api/v1/search", params={"q": "grasping occluded", "limit": 5}).json()
    assert found["items"][0]["arxiv_id"] in ("2503.12549", "2503.12609") and found["total"] > 5
    assert found["facets"] and found["next_cursor"]
    filtered = client.get("/api/v1/search", params={"q": "robot cat:cs.RO", "sort": "date"}).json()
    assert all("cs.RO" in paper["categories"] for paper in filtered["items"])
    like = client.get("/api/v1/similar", params={"pos": "2503.12549", "neg": "2503.12609", "limit": 5}).json()
    assert len(like["items"]) == 5
    assert {"2503.12549", "2503.12609"}.isdisjoint(item["paper"]["arxiv_id"] for item in like["items"])
    unknown = client.get("/api/v1/similar", params={"pos": "2101.00001"})
    assert unknown.status_code == 400
    by_text = client.get("/api/v1/similar", params={"text": "robots grasping hidden objects", "limit": 3}).json()
    assert "2503.12549" in [item["paper"]["arxiv_id"] for item in by_text["items"]]


def test_writes_need_a_write_token_and_are_rate_limited(
    settings: Settings, db: Database, day: list[dict[str, object]]
) -> None:
    paper = str(day[0]["paper"]["id"])  # type: ignore[index]
    limited = settings.model_copy(update={"rate_limit_votes_per_minute": 3})
    with TestClient(create_app(limited)) as client:
        csrf = sign_up(client, "api-user")
        read, write = new_token(client, csrf, "r", "read"), new_token(client, csrf, "w", "write")
        client.cookies.clear()
        assert client.put(f"/api/v1/papers/{paper}/vote").status_code == 403  # no token, no session: CSRF refuses
        assert client.put(f"/api/v1/papers/{paper}/vote", headers=bearer(read)).status_code == 403
        voted = client.put(f"/api/v1/papers/{paper}/vote", headers=bearer(write)).json()
        again = client.put(f"/api/v1/papers/{paper}/vote", headers=bearer(write)).json()
        assert voted["voted"] and again["upvotes"] == voted["upvotes"]  # idempotent
        assert client.delete(f"/api/v1/papers/{paper}/vote", headers=bearer(write)).json()["voted"] is False
        over = client.put(f"/api/v1/papers/{paper}/vote", headers=bearer(write))
        assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
        with db.write_session() as session:  # a minute passes: the counters' window is over
            session.execute(update(RateLimitHit).values(window_start=RateLimitHit.window_start - 60))
        assert client.put(f"/api/v1/papers/{paper}/vote", headers=bearer(write)).status_code == 200
        comment = client.post(
            f"/api/v1/papers/{paper}/comments", json={"body": "<script>x</script> $a^2$"}, headers=bearer(write)
        )
        assert comment.status_code == 201 and "<script>" not in comment.json()["html"]
        listed = client.get(f"/api/v1/papers/{paper}/comments", headers=bearer(read)).json()
        assert [c["id"] for c in listed] == [comment.json()["id"]]
        made = client.post("/api/v1/collections", json={"title": "Reading"}, headers=bearer(write))
        assert made.status_code == 201
        added = client.post(
            f"/api/v1/collections/{made.json()['id']}/items", json={"arxiv_id": paper}, headers=bearer(write)
        )
        assert added.status_code == 204
        mine = client.get("/api/v1/collections", headers=bearer(read)).json()
        assert mine[0]["size"] == 1
        other = client.post("/api/v1/collections/999/items", json={"arxiv_id": paper}, headers=bearer(write))
        assert other.status_code == 404


def test_subscribing_through_the_api_sends_the_opt_in(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    with TestClient(create_app(mail_settings(settings, smtp))) as client:
        refused = client.post("/api/v1/subscriptions", json={"email": "api@example.org"})
        assert refused.status_code == 403  # neither a token nor a session's CSRF token
        csrf = sign_up(client, "subscriber")
        accepted = client.post(
            "/api/v1/subscriptions",
            json={"email": "api@example.org", "cadence": "weekly", "categories": ["cs.CL"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert accepted.status_code == 202, accepted.text
    assert len(smtp.to("api@example.org")) == 1


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[FastAPI]:
    """One SQLite instance with a real featured day, shared by the fuzzed operations; "arXiv" is a replay server
    that knows no paper, so indexing an unknown id answers 404 instead of trying the internet."""
    arxiv = ReplayServer()
    arxiv.route("/api/query", Reply(body=shared_data / "fixtures" / "arxiv_api" / "api2026_idlist_no_results.xml"))
    folder = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(
        f"sqlite:///{folder / 'fuzz.db'}",
        folder,
        rate_limit_auth_per_minute=100_000,
        rate_limit_writes_per_minute=100_000,
        rate_limit_votes_per_minute=100_000,
        arxiv_api_url=f"{arxiv.url}/api/query",
    )
    app = create_app(settings)
    upgrade(app.state.database)
    load_daily(app.state.database, HF_FIXTURES / f"hf_daily_papers_{DAY}.json")
    with arxiv:
        yield app


def fuzz(app: FastAPI, method: str, headers: dict[str, str] | None = None) -> int:
    """Run schemathesis's generated cases against every ``method`` operation under /api/; returns how many.

    Driven through its strategies (its pytest plugin does not run under pytest 9). Schema-valid values can still be
    refused on purpose (2026-13-40 has a date's shape), with a documented 400 saying why; every other check runs:
    no 5xx, documented statuses, content types, response schemas."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(method=method, path_regex="^/api/")
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
    return len(operations)


def test_every_read_endpoint_survives_fuzzing(fuzz_app: FastAPI) -> None:
    assert fuzz(fuzz_app, "GET") >= 8


def test_every_write_endpoint_survives_fuzzing(fuzz_app: FastAPI) -> None:
    """With a write token, so the requests get past authentication to the code that handles them."""
    with TestClient(fuzz_app) as client:
        token = new_token(client, sign_up(client, "fuzzer"), "fuzz", "write")
    assert fuzz(fuzz_app, "POST", bearer(token)) + fuzz(fuzz_app, "PUT", bearer(token)) >= 5
    assert fuzz(fuzz_app, "DELETE", bearer(token)) >= 1


def test_openapi_documents_both_apis(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/daily_papers", "/api/papers/search", "/api/v1/papers", "/api/v1/search", "/api/v1/similar"):
        assert path in paths
    assert client.get("/api/docs").status_code == 200


def test_cors_allows_configured_origins_to_read_only(settings: Settings, db: Database) -> None:
    with TestClient(create_app(settings.model_copy(update={"cors_origins": "https://lab.example"}))) as client:
        read = client.get("/api/v1/papers", headers={"Origin": "https://lab.example"})
        assert read.headers["access-control-allow-origin"] == "https://lab.example"
        stranger = client.get("/api/v1/papers", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        preflight = client.options(
            "/api/v1/papers/2501.00001/vote",
            headers={"Origin": "https://lab.example", "Access-Control-Request-Method": "PUT"},
        )
        assert preflight.status_code == 400  # writes are not allowed cross-origin


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # routing, not the database
def test_a_method_a_path_does_not_take_is_told_the_ones_it_does(client: TestClient) -> None:
    """405's Allow names every method of the path, the most literal route winning as in OpenAPI (POST
    /api/papers/index, not GET /api/papers/{id}), where Starlette named the first route's alone."""
    for method, path, allowed in [
        ("OPTIONS", "/api/v1/collections", "GET, POST"),
        ("OPTIONS", "/api/papers/index", "POST"),
        ("OPTIONS", "/api/v1/papers/2501.00001/vote", "DELETE, PUT"),
        ("OPTIONS", "/papers/2501.00001/vote", "POST"),
        ("OPTIONS", "/api/papers/2501.00001", "GET"),
        ("GET", "/mcp", "POST"),
        ("OPTIONS", "/static/papertide.css", "GET, HEAD"),  # the static files answer for themselves
    ]:
        answered = client.request(method, path)
        assert (answered.status_code, answered.headers.get("allow")) == (405, allowed), (method, path)
