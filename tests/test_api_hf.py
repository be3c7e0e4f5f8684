"""hf.co-compatible endpoints: the real ``huggingface_hub`` client pointed at a running papertide gets the right
papers; shapes match the recorded responses; validation, tokens and indexing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.services.papers import upsert_papers
from tests.factories import make_paper_record
from tests.replay_server import ReplayServer, Reply
from tests.web_helpers import load_daily, sign_up

HF_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "fixtures" / "hf"
DAY = "2026-07-09"


@pytest.fixture
def daily_day(db: Database) -> list[dict[str, object]]:
    """The recorded hf.co response for DAY (full shape: upvotes, submitters, organizations, comments)."""
    return load_daily(db, HF_FIXTURES / f"hf_daily_papers_{DAY}.json")


def test_huggingface_hub_client_reads_papertide(
    live_server: str, db: Database, daily_day: list[dict[str, object]], shared_data: Path
) -> None:
    load_daily(db, shared_data / "hf-daily" / "2026-07-10.json")
    api = HfApi(endpoint=live_server, token=False)
    expected = {item["paper"]["id"] for item in daily_day}  # type: ignore[index]
    by_date = list(api.list_daily_papers(date=DAY))
    assert {paper.id for paper in by_date} == expected
    first = next(paper for paper in by_date if paper.id == daily_day[0]["paper"]["id"])  # type: ignore[index]
    assert first.title == " ".join(str(daily_day[0]["title"]).split())
    assert first.upvotes == daily_day[0]["paper"]["upvotes"]  # type: ignore[index]
    assert first.submitted_by is not None and first.authors and first.authors[0].name
    assert first.comments == daily_day[0]["numComments"]
    week = {paper.id for paper in api.list_daily_papers(week="2026-W28")}
    assert expected < week  # the 9th and the 10th
    assert {paper.id for paper in api.list_daily_papers(month="2026-07")} == week
    assert len(list(api.list_daily_papers(week="2026-W28", limit=3))) == 3

    target = str(daily_day[0]["paper"]["id"])  # type: ignore[index]
    info = api.paper_info(target)
    assert info.id == target and info.summary and info.published_at is not None
    words = " ".join(str(daily_day[0]["title"]).split()[:6])
    assert target in [paper.id for paper in api.list_papers(query=words, limit=10)]
    markdown = api.read_paper(target)
    assert markdown.startswith("# ") and "## Abstract" in markdown and target in markdown
    with pytest.raises(HfHubHTTPError) as missing:
        api.paper_info("1234.56789")
    assert missing.value.response.status_code == 404


def test_daily_items_have_the_recorded_shape(client: TestClient, daily_day: list[dict[str, object]]) -> None:
    recorded = json.loads((HF_FIXTURES / f"hf_daily_papers_{DAY}.json").read_text())
    ours = client.get("/api/daily_papers", params={"date": DAY}).json()
    assert len(ours) == len(daily_day)
    for key in ("paper", "publishedAt", "title", "summary", "numComments", "submittedBy", "isAuthorParticipating"):
        assert key in ours[0] and key in recorded[0]
    paper_keys = {"id", "authors", "publishedAt", "title", "summary", "upvotes", "discussionId", "submittedOnDailyAt"}
    assert paper_keys <= set(ours[0]["paper"]) and paper_keys <= set(recorded[0]["paper"])
    assert set(ours[0]["paper"]["authors"][0]) >= {"_id", "name", "hidden"}
    assert ours[0]["publishedAt"].endswith("Z") and len(ours[0]["paper"]["discussionId"]) == 24


def test_parameters_are_validated(client: TestClient, daily_day: list[dict[str, object]]) -> None:
    assert client.get("/api/daily_papers", params={"limit": 0}).status_code == 422
    assert client.get("/api/daily_papers", params={"limit": 101}).status_code == 422
    bad_date = client.get("/api/daily_papers", params={"date": "2026-13-40"})
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.json()["detail"]
    assert client.get("/api/daily_papers", params={"date": DAY, "week": "2026-W28"}).status_code == 400
    assert client.get("/api/papers/search", params={"q": "x" * 251}).status_code == 422
    assert client.get("/api/papers/search", params={"q": "graph", "limit": 121}).status_code == 422
    assert client.get("/api/papers/not-an-id").status_code == 404
    paged = [client.get("/api/daily_papers", params={"date": DAY, "limit": 2, "p": p}).json() for p in range(2)]
    assert not {i["paper"]["id"] for i in paged[0]} & {i["paper"]["id"] for i in paged[1]}
    trending = client.get("/api/daily_papers", params={"date": DAY, "sort": "trending"}).json()
    assert {i["paper"]["id"] for i in trending} == {
        i["paper"]["id"] for i in client.get("/api/daily_papers", params={"date": DAY}).json()
    }


def test_indexing_needs_a_write_token(settings: Settings, db: Database, shared_data: Path) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with ReplayServer() as arxiv:
        arxiv.route(
            "/api/query", Reply(body=fixtures / "api2026_idlist_2104.12255v1.xml"), params={"id_list": "2104.12255"}
        )
        arxiv.route("/api/query", Reply(body=fixtures / "api2026_idlist_no_results.xml"))
        configured = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query"})
        with TestClient(create_app(configured)) as client:
            assert client.post("/api/papers/index", json={"arxivId": "2501.00001"}).status_code == 403  # no CSRF
            token = sign_up(client, "scripter")
            read_token, write_token = (
                new_token(client, token, name, scope) for name, scope in (("r", "read"), ("w", "write"))
            )
            client.cookies.clear()

            def index(arxiv_id: str, bearer: str) -> Response:
                return client.post(
                    "/api/papers/index", json={"arxivId": arxiv_id}, headers={"Authorization": f"Bearer {bearer}"}
                )

            assert index("2501.00001", "pt_wrong").status_code == 401
            read = index("2501.00001", read_token)
            assert read.status_code == 403 and "only read" in read.json()["detail"]
            known = index("arXiv:2501.00001v1", write_token)
            assert known.status_code == 200 and known.json()["id"] == "2501.00001"
            fetched = index("2104.12255", write_token)
            assert fetched.status_code == 201 and fetched.json()["summary"]
            assert index("2104.99999", write_token).status_code == 404
            assert index("junk", write_token).status_code == 422
            assert client.get("/api/papers/2104.12255", headers={"Authorization": f"Bearer {read_token}"}).is_success


def new_token(client: TestClient, csrf: str, name: str, scope: str) -> str:
    page = client.post("/settings/tokens", data={"name": name, "scope": scope, "csrf_token": csrf}).text
    match = re.search(r'class="api-token">(pt_[\w-]+)<', page)
    assert match, page
    return match.group(1)
