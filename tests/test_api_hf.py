"""hf.co-compatible endpoints: the real ``huggingface_hub`` client pointed at a running papertide gets the right
papers; shapes match the recorded responses; validation, tokens and indexing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import select, update

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper
from papertide.services.papers import upsert_papers
from papertide.services.submissions import set_paper_hidden
from tests.helpers.data import HF_FIXTURES, load_daily
from tests.helpers.factories import make_paper_record
from tests.helpers.replay import ReplayServer, Reply
from tests.helpers.web import new_token, sign_up

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
    # hf.co's order of a day: upvotes, then the feed's own order (two papers with 4 upvotes keep hf.co's order)
    assert [item["paper"]["id"] for item in ours] == [item["paper"]["id"] for item in recorded]
    assert len(ours) == len(daily_day)
    for key in ("paper", "publishedAt", "title", "summary", "numComments", "submittedBy", "isAuthorParticipating"):
        assert key in ours[0] and key in recorded[0]
    paper_keys = {"id", "authors", "publishedAt", "title", "summary", "upvotes", "discussionId", "submittedOnDailyAt"}
    assert paper_keys <= set(ours[0]["paper"]) and paper_keys <= set(recorded[0]["paper"])
    assert set(ours[0]["paper"]["authors"][0]) >= {"_id", "name", "hidden"}
    assert ours[0]["publishedAt"].endswith("Z") and len(ours[0]["paper"]["discussionId"]) == 24
    mine = {item["paper"]["id"]: item["paper"] for item in ours}
    for item in recorded:  # hf.co's counts, summary and keywords come back as hf.co gave them
        paper = item["paper"]
        assert (
            mine[paper["id"]]["upvotes"] == paper["upvotes"] and mine[paper["id"]]["ai_summary"] == paper["ai_summary"]
        )
        assert mine[paper["id"]].get("ai_keywords") == ([k for k in paper["ai_keywords"] if k.strip()] or None)


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


def test_dates_are_the_featured_day_or_the_publication_never_the_import(
    client: TestClient, db: Database, daily_day: list[dict[str, object]], shared_data: Path
) -> None:
    """Against the recorded responses: ``paper.publishedAt`` and ``paper.submittedOnDailyAt`` as hf.co gave them,
    the item's ``publishedAt`` on the featured day (hf.co's is the submission minute, which no file keeps), search
    items dated alike, and no date at all where papertide knows none."""
    old = load_daily(db, HF_FIXTURES / "hf_daily_papers_2024-05-27_oldshape.json")
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00002", submitted_at=None, announced_on=None)])
    for recorded, day in ((daily_day, DAY), (old, "2024-05-27")):
        ours = {item["paper"]["id"]: item for item in client.get("/api/daily_papers", params={"date": day}).json()}
        for item in recorded:
            paper = item["paper"]  # type: ignore[index]
            mine = ours[paper["id"]]
            assert mine["paper"]["publishedAt"] == paper["publishedAt"]
            assert mine["paper"]["submittedOnDailyAt"] == paper.get("submittedOnDailyAt", f"{day}T00:00:00.000Z")
            assert mine["publishedAt"] == f"{day}T00:00:00.000Z"
            assert str(item["publishedAt"]) < mine["publishedAt"][:10] + "T24"  # hf.co's minute is before it ends
    words = " ".join(str(old[0]["title"]).split()[:4])
    found = client.get("/api/papers/search", params={"q": words}).json()
    hit = next(item for item in found if item["paper"]["id"] == old[0]["paper"]["id"])  # type: ignore[index]
    assert hit["publishedAt"] == "2024-05-27T00:00:00.000Z"
    undated = client.get("/api/papers/2501.00002").json()
    assert "publishedAt" not in undated and "submittedOnDailyAt" not in undated
    assert "publishedAt" not in next(i for i in client.get("/api/papers/search", params={"q": "2501.00002"}).json())


def test_every_paper_in_pages_with_links(
    app: FastAPI, live_server: str, client: TestClient, db: Database, daily_day: list[dict[str, object]]
) -> None:
    """``/api/papers`` lists every visible paper newest first, flat paper objects, paged by a cursor in the Link
    header; ``huggingface_hub``'s own paginator follows it, and follows ``/api/daily_papers``' links too."""
    from huggingface_hub.utils import paginate

    # Links are built on the public URL, known here once the server listens.
    app.state.settings = app.state.settings.model_copy(update={"base_url": live_server})

    with db.write_session() as session:
        upsert_papers(session, [make_paper_record() for _ in range(4)])
        set_paper_hidden(session, str(daily_day[1]["paper"]["id"]), True)  # type: ignore[index]
    with db.read_session() as session:
        visible = list(session.execute(select(Paper.arxiv_id).where(Paper.hidden.is_(False))).scalars())
    first = client.get("/api/papers", params={"limit": 3})
    assert first.status_code == 200 and len(first.json()) == 3
    assert set(first.json()[0]) >= {"id", "authors", "title", "summary", "upvotes", "discussionId", "numComments"}
    assert re.fullmatch(r'<http://[^>]+/api/papers\?limit=3&cursor=[\w-]+>; rel="next"', first.headers["link"])
    every = [paper["id"] for paper in paginate(f"{live_server}/api/papers", params={"limit": 3}, headers={})]
    assert sorted(every) == sorted(visible) and len(every) == len(set(every))
    listed = client.get("/api/papers", params={"limit": 100}).json()
    assert [p["id"] for p in listed] == every and "link" not in client.get("/api/papers", params={"limit": 100}).headers
    dates = [p.get("publishedAt", "") for p in listed]
    assert dates == sorted(dates, reverse=True)
    assert client.get("/api/papers", params={"cursor": "garbage"}).status_code == 400

    page = client.get("/api/daily_papers", params={"date": DAY, "limit": 4})
    assert 'p=1>; rel="next"' in page.headers["link"] and page.headers["link"].startswith("<http")
    last = client.get("/api/daily_papers", params={"date": DAY, "limit": 4, "p": 1})
    assert len(last.json()) == len(daily_day) - 1 - 4 and "link" not in last.headers
    followed = [i["paper"]["id"] for i in paginate(f"{live_server}/api/daily_papers", {"date": DAY, "limit": 2}, {})]
    assert len(followed) == len(daily_day) - 1 and str(daily_day[1]["paper"]["id"]) not in followed  # type: ignore[index]


def test_repos_and_hf_404s(live_server: str, client: TestClient, daily_day: list[dict[str, object]]) -> None:
    recorded = daily_day[0]["paper"]  # type: ignore[index]
    repos = client.get(f"/api/arxiv/{recorded['id']}/repos").json()
    assert repos == {
        "models": [],
        "datasets": [],
        "spaces": [],
        "githubRepo": recorded["githubRepo"],
        "githubStars": recorded["githubStars"],
        "projectPage": recorded["projectPage"],
    }
    without_page = next(i["paper"] for i in daily_day if "projectPage" not in i["paper"])  # type: ignore[operator,index]
    assert "projectPage" not in client.get(f"/api/arxiv/arXiv:{without_page['id']}v1/repos").json()
    markdown = client.get(f"/papers/{recorded['id']}.md")
    negotiated = client.get(f"/papers/{recorded['id']}", headers={"Accept": "text/markdown"})
    assert negotiated.headers["content-type"].startswith("text/markdown") and negotiated.text == markdown.text
    for path in ("/api/arxiv/2607.99999/repos", "/api/papers/2607.99999", "/api/arxiv/junk/repos"):
        missing = client.get(path)
        assert missing.status_code == 404 and set(missing.json()) == {"error"}, path
    with pytest.raises(HfHubHTTPError, match="no paper 2607.99999") as raised:
        HfApi(endpoint=live_server, token=False).paper_info("2607.99999")
    assert raised.value.response.status_code == 404


def test_hf_papers_cli_against_papertide(
    live_server: str, daily_day: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed ``hf papers`` commands (list, info, search, read) end to end over HTTP, pointed at papertide
    as ``HF_ENDPOINT`` points them (run in this process: four interpreter starts would cost seconds each)."""
    from huggingface_hub import constants
    from huggingface_hub.cli.hf import app as hf_app

    monkeypatch.setattr(constants, "ENDPOINT", live_server)
    target = daily_day[0]["paper"]  # type: ignore[index]

    def hf(*args: str) -> str:
        done = CliRunner().invoke(hf_app, ["papers", *args])
        assert done.exit_code == 0, done.output
        return done.stdout

    listed = json.loads(hf("ls", "--date", DAY, "--json"))
    assert {paper["id"] for paper in listed} == {i["paper"]["id"] for i in daily_day}  # type: ignore[index]
    info = json.loads(hf("info", str(target["id"]), "--json"))
    assert info["id"] == target["id"] and info["title"] == target["title"]
    assert info["published_at"].startswith("2026-07-08") and info["submitted_at"].startswith(DAY)
    words = " ".join(str(target["title"]).split()[:5])
    assert target["id"] in [paper["id"] for paper in json.loads(hf("search", words, "--limit", "5", "--json"))]
    assert hf("read", str(target["id"])).startswith("# ")


def test_indexing_a_hidden_paper_neither_refetches_nor_overwrites_it(
    settings: Settings, db: Database, shared_data: Path
) -> None:
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2104.12255", title="Kept as the admin left it")])
        session.execute(update(Paper).where(Paper.arxiv_id == "2104.12255").values(hidden=True))
    with ReplayServer() as arxiv:
        arxiv.route("/api/query", Reply(body=fixtures / "api2026_idlist_2104.12255v1.xml"))
        configured = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query", "semantic_search": False})
        with TestClient(create_app(configured)) as client:
            token = sign_up(client, "indexer")
            write = new_token(client, token, "w", "write")
            client.cookies.clear()
            answer = client.post(
                "/api/papers/index", json={"arxivId": "2104.12255"}, headers={"Authorization": f"Bearer {write}"}
            )
        assert answer.status_code == 404 and arxiv.requests == []
    with db.read_session() as session:
        assert session.execute(select(Paper.title)).scalar_one() == "Kept as the admin left it"
