"""The MCP server, driven by the ``mcp`` SDK's own client against a live papertide: Streamable HTTP through a real
uvicorn on loopback (``/mcp``) and stdio through a ``papertide mcp`` subprocess, on real shared data (the recorded
hf.co Daily Papers day and embedded arXiv snapshot records). Tokens are real personal access tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult
from sqlalchemy import select
from typer.testing import CliRunner

from papertide.app import create_app
from papertide.cli import app as cli
from papertide.config import Settings, get_settings
from papertide.db import Database
from papertide.models import Paper, PaperEmbedding
from papertide.services.accounts import create_user
from papertide.services.collections import create_collection
from papertide.services.submissions import set_paper_hidden
from papertide.services.tokens import create_api_token, revoke_api_tokens
from papertide.services.votes import vote
from tests.helpers.cli import cli_env
from tests.helpers.data import HF_FIXTURES, load_daily
from tests.helpers.factories import PASSWORD
from tests.helpers.servers import serving
from tests.helpers.settings import make_settings
from tests.helpers.web import sign_up

HF_DAY = HF_FIXTURES / "hf_daily_papers_2026-07-09.json"
TOOLS = {
    "search_papers",
    "similar_papers",
    "daily_papers",
    "get_paper",
    "read_paper",
    "list_collections",
    "add_to_collection",
    "my_feed",
}


class Agent:
    """A user with a read token, a write token, a private collection and three upvotes (for my_feed)."""

    def __init__(self, db: Database, upvoted: list[int]) -> None:
        with db.write_session() as session:
            user = create_user(session, username="reader", password=PASSWORD)
            self.read_token = create_api_token(session, user.id, "assistant", "read")
            self.write_token = create_api_token(session, user.id, "assistant", "write")
            self.collection_id = create_collection(session, owner_id=user.id, title="To read", is_public=False).id
            for paper_id in upvoted:
                vote(session, user.id, paper_id, up=True, per_minute=100)


def embedded_ids(db: Database) -> list[tuple[int, str]]:
    with db.read_session() as session:
        rows = session.execute(
            select(Paper.id, Paper.arxiv_id)
            .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
            .order_by(Paper.id)
        )
        return [(row.id, row.arxiv_id) for row in rows]


@asynccontextmanager
async def over_http(url: str, token: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


def answer(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def refused(result: CallToolResult, *words: str) -> str:
    """A tool error with a message (never a crash: no traceback, no bare 'internal error')."""
    assert result.is_error
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert "Traceback" not in text and text.strip(), text
    for word in words:
        assert word in text, text
    return text


def ids(result: CallToolResult) -> list[str]:
    return [paper["arxiv_id"] for paper in answer(result)["papers"]]


def run(test: Callable[[], Awaitable[None]]) -> None:
    anyio.run(test)


def test_every_tool_over_streamable_http(embedded_corpus: Database, live_server: str) -> None:
    db = embedded_corpus
    recorded = load_daily(db, HF_DAY)
    day_ids = {str(item["paper"]["id"]) for item in recorded}  # type: ignore[index]
    first = recorded[0]["paper"]  # type: ignore[index]
    corpus = embedded_ids(db)
    agent = Agent(db, [paper_id for paper_id, _ in corpus[:3]])

    async def check() -> None:
        async with over_http(live_server) as anonymous:
            listed = (await anonymous.list_tools()).tools
            assert {tool.name for tool in listed} == TOOLS
            for tool in listed:
                assert tool.description and tool.input_schema["type"] == "object"
            collect = next(tool for tool in listed if tool.name == "add_to_collection")
            assert set(collect.input_schema["required"]) == {"collection_id", "arxiv_id"}
            templates = (await anonymous.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["papertide://papers/{+arxiv_id}"]

            assert set(ids(await anonymous.call_tool("daily_papers", {"date": "2026-07-09", "limit": 50}))) == day_ids
            assert day_ids <= set(ids(await anonymous.call_tool("daily_papers", {"week": "2026-W28", "limit": 50})))
            latest = answer(await anonymous.call_tool("daily_papers", {}))
            assert set(p["arxiv_id"] for p in latest["papers"]) == day_ids and "2026-07-09" in latest["notes"][0]

            words = " ".join(str(first["title"]).split()[:5])
            found = answer(await anonymous.call_tool("search_papers", {"query": words, "limit": 5}))
            assert found["papers"][0]["arxiv_id"] == first["id"] and found["papers"][0]["why"].startswith("matched by")
            assert found["papers"][0]["published"] == "2026-07-08" and found["papers"][0]["featured_on"] == "2026-07-09"

            paper = answer(
                await anonymous.call_tool("get_paper", {"arxiv_id": f"https://arxiv.org/abs/{first['id']}v2"})
            )
            assert paper["arxiv_id"] == first["id"] and paper["code_url"] == first["githubRepo"]
            assert paper["authors"][0] == first["authors"][0]["name"] and paper["abstract"]
            assert (paper["hf_upvotes"], paper["upvotes"]) == (first["upvotes"], 0)  # hf.co's, kept apart
            assert paper["ai_summary"] == first["ai_summary"] and paper["ai_keywords"] == first["ai_keywords"]

            markdown = await anonymous.call_tool("read_paper", {"arxiv_id": first["id"]})
            text = markdown.content[0].text  # type: ignore[union-attr]
            assert text.startswith("# ") and "## Abstract" in text and "**Featured:** 2026-07-09" in text
            assert f"## AI summary (from hf.co)\n\n{first['ai_summary']}" in text
            resource = await anonymous.read_resource(f"papertide://papers/{first['id']}")
            assert resource.contents[0].text == text  # type: ignore[union-attr]

            like = corpus[0][1]
            refused(await anonymous.call_tool("similar_papers", {}), "arxiv_id, query")
            near = ids(await anonymous.call_tool("similar_papers", {"arxiv_id": like, "limit": 5}))
            assert len(near) == 5 and like not in near
            away = ids(await anonymous.call_tool("similar_papers", {"like": [like], "unlike": [near[0]], "limit": 5}))
            assert near[0] not in away and like not in away
            with db.write_session() as session:  # hidden by an administrator: gone from every answer
                set_paper_hidden(session, near[0], True)
            again = ids(await anonymous.call_tool("similar_papers", {"arxiv_id": like, "limit": 5}))
            assert near[0] not in again and near[1:] == again[: len(near) - 1]
            refused(await anonymous.call_tool("similar_papers", {"like": [near[0]]}), f"no paper {near[0]}")

            refused(await anonymous.call_tool("my_feed", {}), "read or write token")
            refused(await anonymous.call_tool("list_collections", {}), "username")
            assert answer(await anonymous.call_tool("list_collections", {"username": "reader"}))["collections"] == []
            args = {"collection_id": agent.collection_id, "arxiv_id": first["id"]}
            refused(await anonymous.call_tool("add_to_collection", args), "write token", "no token")

        async with over_http(live_server, agent.read_token) as reader:
            picks = answer(await reader.call_tool("my_feed", {"limit": 5}))["papers"]
            upvoted = {arxiv_id for _, arxiv_id in corpus[:3]}
            assert len(picks) == 5 and not upvoted & {p["arxiv_id"] for p in picks}
            assert all(p["why"].startswith("close to ") and p["why"].split()[2] in upvoted for p in picks)
            mine = answer(await reader.call_tool("list_collections", {}))["collections"]
            assert [(c["id"], c["public"], c["size"]) for c in mine] == [(agent.collection_id, False, 0)]
            refused(await reader.call_tool("add_to_collection", args), "read token")

        async with over_http(live_server, agent.write_token) as writer:
            added = answer(await writer.call_tool("add_to_collection", {**args, "note": "for Friday"}))
            assert added["arxiv_id"] == first["id"]
            assert answer(await writer.call_tool("list_collections", {}))["collections"][0]["size"] == 1
            refused(await writer.call_tool("add_to_collection", {**args, "collection_id": 999}), "list_collections")

    run(check)


@pytest.fixture
def keyword_server(settings: Settings) -> Iterator[str]:
    """papertide with semantic search off: these tests need no model, so they load none."""
    with serving(create_app(settings.model_copy(update={"semantic_search": False}))) as url:
        yield url


def test_bad_arguments_are_tool_errors(db: Database, keyword_server: str) -> None:
    live_server = keyword_server
    load_daily(db, HF_DAY)

    async def check() -> None:
        async with over_http(live_server) as agent:
            refused(await agent.call_tool("get_paper", {"arxiv_id": "not an id"}), "not an arXiv id")
            refused(await agent.call_tool("get_paper", {"arxiv_id": "2607.99999"}), "no paper 2607.99999")
            refused(await agent.call_tool("get_paper", {}), "arxiv_id")
            refused(await agent.call_tool("read_paper", {"arxiv_id": "x" * 301}), "arxiv_id")
            refused(await agent.call_tool("daily_papers", {"date": "yesterday"}), "date")
            refused(await agent.call_tool("daily_papers", {"date": "2026-02-30"}), "no such day")
            refused(await agent.call_tool("daily_papers", {"date": "2026-07-09", "week": "2026-W28"}), "at most one")
            refused(await agent.call_tool("daily_papers", {"limit": 0}), "limit")
            refused(await agent.call_tool("search_papers", {"query": ""}), "Give words")
            refused(await agent.call_tool("search_papers", {"query": "robot", "sort": "best"}), "sort")
            refused(await agent.call_tool("my_feed", {}), "read or write token")
            refused(await agent.call_tool("add_to_collection", {"collection_id": -1, "arxiv_id": "2607.07708"}))
            with pytest.raises(Exception, match="no paper"):
                await agent.read_resource("papertide://papers/2607.99999")

    run(check)


def test_a_hidden_paper_is_never_returned(db: Database, keyword_server: str) -> None:
    live_server = keyword_server
    recorded = load_daily(db, HF_DAY)
    hidden = str(recorded[0]["paper"]["id"])  # type: ignore[index]
    with db.write_session() as session:
        set_paper_hidden(session, hidden, True)
    title = " ".join(str(recorded[0]["title"]).split()[:5])

    async def check() -> None:
        async with over_http(live_server) as agent:
            day = ids(await agent.call_tool("daily_papers", {"date": "2026-07-09", "limit": 50}))
            assert len(day) == len(recorded) - 1 and hidden not in day
            assert hidden not in ids(await agent.call_tool("daily_papers", {"sort": "trending"}))
            assert hidden not in ids(await agent.call_tool("search_papers", {"query": title}))
            refused(await agent.call_tool("search_papers", {"query": hidden}), f"no paper {hidden}")
            refused(await agent.call_tool("get_paper", {"arxiv_id": hidden}), f"no paper {hidden}")
            refused(await agent.call_tool("read_paper", {"arxiv_id": hidden}), f"no paper {hidden}")
            with pytest.raises(Exception, match="no paper"):
                await agent.read_resource(f"papertide://papers/{hidden}")

    run(check)


def stdio_server(settings: Settings, token: str | None) -> StdioServerParameters:
    # Semantic search off keeps the subprocess from loading the model; the HTTP test covers the semantic tools.
    env = cli_env(settings, PAPERTIDE_SEMANTIC_SEARCH="false")
    if token:
        env["PAPERTIDE_MCP_TOKEN"] = token
    return StdioServerParameters(command=sys.executable, args=["-m", "papertide", "mcp"], env=env)


# On SQLite only: stdio is a transport, the same tools over the same queries as HTTP, which runs on both backends;
# an interpreter start here costs some ten seconds a backend.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_stdio_subprocess_serves_the_tools(settings: Settings, db: Database) -> None:
    recorded = load_daily(db, HF_DAY)
    agent = Agent(db, [])
    first = str(recorded[0]["paper"]["id"])  # type: ignore[index]

    async def check() -> None:
        async with Client(stdio_server(settings, agent.write_token)) as local:
            assert {tool.name for tool in (await local.list_tools()).tools} == TOOLS
            assert len((await local.list_resource_templates()).resource_templates) == 1
            day = ids(await local.call_tool("daily_papers", {"date": "2026-07-09", "limit": 50}))
            assert len(day) == len(recorded)
            assert answer(await local.call_tool("get_paper", {"arxiv_id": first}))["featured_on"] == "2026-07-09"
            refused(await local.call_tool("similar_papers", {"arxiv_id": first}), "semantic search")
            added = await local.call_tool(
                "add_to_collection", {"collection_id": agent.collection_id, "arxiv_id": first}
            )
            assert answer(added)["arxiv_id"] == first
            resource = await local.read_resource(f"papertide://papers/{first}")
            assert json.dumps(resource.contents[0].model_dump()).count(first) >= 2

    run(check)


def test_stdio_refuses_a_bad_token_before_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``papertide mcp`` with an unknown token stops with exit 1 and a message before it answers anything. Run in
    this process, once, on a fresh SQLite file: the check does not depend on the backend, and a start costs seconds."""
    env = cli_env(make_settings(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path), PAPERTIDE_SEMANTIC_SEARCH="false")
    for key, value in env.items():
        if key.startswith("PAPERTIDE_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        started = CliRunner().invoke(cli, ["mcp", "--token", "pt_revoked-long-ago"])
    finally:
        get_settings.cache_clear()
    assert started.exit_code == 1 and "unknown or revoked" in started.output, started.output


def test_the_session_cookie_opens_nothing_over_mcp(app: FastAPI, db: Database) -> None:
    """/mcp is exempt from the CSRF check because it never reads the cookie: a signed-in browser posting to it
    (a forged cross-site request) is nobody, and gets the public tools only."""
    load_daily(db, HF_DAY)
    assert TestClient(app).post("/mcp", json={}).status_code == 503  # the app not started: no session manager runs
    with TestClient(app) as browser:
        sign_up(browser, "victim")
        assert browser.get("/settings").status_code == 200  # signed in
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

        def call(name: str) -> dict[str, Any]:
            message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}
            response = browser.post("/mcp", content=json.dumps(message), headers=headers)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()["result"]
            return result

        assert call("my_feed")["isError"] and "needs a read or write token" in call("my_feed")["content"][0]["text"]
        assert not call("daily_papers")["isError"]
        assert browser.get("/mcp").status_code == 405


def test_writes_count_against_the_api_write_limit(settings: Settings, db: Database) -> None:
    """add_to_collection spends the same per-account write budget as the API: over it, a tool error saying when."""
    recorded = load_daily(db, HF_DAY)
    agent = Agent(db, [])
    limited = settings.model_copy(update={"semantic_search": False, "rate_limit_writes_per_minute": 2})

    async def check(url: str) -> None:
        async with over_http(url, agent.write_token) as writer:
            for item in recorded[:2]:
                added = {"collection_id": agent.collection_id, "arxiv_id": item["paper"]["id"]}  # type: ignore[index]
                answer(await writer.call_tool("add_to_collection", added))
            third = {"collection_id": agent.collection_id, "arxiv_id": recorded[2]["paper"]["id"]}  # type: ignore[index]
            refused(await writer.call_tool("add_to_collection", third), "Too many requests", "try again in")

    with serving(create_app(limited)) as url:
        anyio.run(check, url)


def test_the_sdk_loads_with_the_first_mcp_request(tmp_path: Path) -> None:
    """A web process pays for the SDK (~25 MB) only once an assistant connects: building and starting the app
    imports none of it; the first request to /mcp does, and is answered."""
    program = f"""
import sys
from fastapi.testclient import TestClient
from papertide.app import create_app
from papertide.config import Settings
from papertide.db import connect, upgrade
settings = Settings(data_dir={str(tmp_path)!r}, semantic_search=False, jobs_interval_seconds=0)
upgrade(connect(settings))
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    print("before", "mcp" in sys.modules)
    message = {{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {{}}}}
    headers = {{"Accept": "application/json, text/event-stream"}}
    response = client.post("/mcp", json=message, headers=headers)
    print("after", "mcp" in sys.modules, response.status_code, len(response.json()["result"]["tools"]))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["before False", f"after True 200 {len(TOOLS)}"]


def test_a_server_that_fails_to_build_answers_errors_not_hangs() -> None:
    """If building the server fails (a broken install), each MCP request fails at once with the cause, and the
    app still stops cleanly."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from papertide.mcpserver.endpoint import LazyHttpEndpoint

    def broken() -> Any:
        raise ImportError("mcp is missing: pip install papertide")

    endpoint = LazyHttpEndpoint(broken)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with endpoint.running():
            yield

    app = Starlette(routes=[Route("/mcp", endpoint, methods=["POST"])], lifespan=lifespan)
    with TestClient(app, raise_server_exceptions=True) as client:
        for _ in range(2):
            with pytest.raises(ImportError, match="pip install papertide"):
                client.post("/mcp", json={})


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the endpoint's answer, not the database
def test_an_unknown_or_revoked_token_gets_401(settings: Settings, db: Database) -> None:
    """As the MCP authorization spec asks and as the REST API answers: 401 with ``WWW-Authenticate: Bearer``,
    even for the public tools, before the SDK sees the request; the SDK's client stops at its first request. No
    token is nobody, who gets the public tools; a live token gets in."""
    agent = Agent(db, [])
    with db.write_session() as session:
        revoked = create_api_token(session, 1, "old laptop", "read")
        revoke_api_tokens(session, 1)
        live = create_api_token(session, 1, "assistant", "read")  # revoke_api_tokens took the Agent's too

    app = create_app(settings.model_copy(update={"semantic_search": False}))
    with TestClient(app) as http:
        for token in ("pt_not-a-real-token", revoked, agent.read_token):
            answered = http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})
            assert answered.status_code == 401, answered.text
            assert answered.headers["www-authenticate"].startswith('Bearer realm="papertide", error="invalid_token"')
            assert answered.json()["error"] == "invalid_token" and "Settings" in answered.json()["error_description"]
            api = http.get("/api/v1/papers", headers={"Authorization": f"Bearer {token}"})
            assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
        assert http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS).status_code == 200
        authorized = {**MCP_HEADERS, "Authorization": f"Bearer {live}"}
        assert http.post("/mcp", json=INITIALIZE, headers=authorized).status_code == 200

    async def connect(url: str) -> None:
        statuses: list[int] = []

        async def note(response: httpx2.Response) -> None:
            statuses.append(response.status_code)

        headers = {"Authorization": "Bearer pt_not-a-real-token"}
        async with httpx2.AsyncClient(headers=headers, event_hooks={"response": [note]}) as http:
            with pytest.raises(ExceptionGroup) as refusal:
                async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as stranger:
                    await stranger.call_tool("daily_papers", {})
        assert refusal.group_contains(MCPError) and set(statuses) == {401}

    with serving(app) as url:
        anyio.run(connect, url)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_argument_mistakes_say_what_to_send(db: Database, keyword_server: str) -> None:
    """Missing and mistyped arguments get a message naming the argument, what was wrong and what it takes, never
    pydantic's text; an arXiv id sent as a number is taken when the number spells the whole id, and refused, with
    the id it may have been, when a number cannot say (2506.10 arrives as 2506.1)."""
    recorded = load_daily(db, HF_DAY)
    first = str(recorded[0]["paper"]["id"])  # type: ignore[index]

    async def check() -> None:
        async with over_http(keyword_server) as agent:
            answers = [
                refused(await agent.call_tool("get_paper", {}), "arxiv_id is missing", "2503.24322"),
                refused(await agent.call_tool("get_paper", {"arxivId": first}), "takes no arxivId", "arxiv_id"),
                refused(await agent.call_tool("read_paper", {"arxiv_id": ["x"]}), "must be a string", "not a list"),
                refused(await agent.call_tool("daily_papers", {"limit": 0}), "limit must be at least 1", "1-50"),
                refused(await agent.call_tool("daily_papers", {"date": "yesterday"}), "'yesterday'", "YYYY-MM-DD"),
                refused(await agent.call_tool("search_papers", {"query": "x", "sort": "best"}), "'relevance'"),
                refused(await agent.call_tool("add_to_collection", {"collection_id": "a", "arxiv_id": first}), "whole"),
                refused(await agent.call_tool("get_paper", {"arxiv_id": 2506.10}), '"2506.10000"', "as a string"),
                refused(await agent.call_tool("get_paper", {"arxiv_id": 2506.11130}), '"2506.11130"'),  # a real id
                refused(await agent.call_tool("get_paper", {"arxiv_id": 704.0001}), '"0704.0001"', "as a string"),
                refused(await agent.call_tool("get_paper", {"arxiv_id": 2506}), "as a string", "not the number 2506"),
            ]
            for text in answers:  # none of pydantic's own wording
                for raw in ("Field required", "Input should", "validation error", "pydantic", "type="):
                    assert raw not in text, text
            by_number = answer(await agent.call_tool("get_paper", {"arxiv_id": float(first)}))
            assert by_number["arxiv_id"] == first

    run(check)
