"""Trends (issue 31): ``/trends``'s weekly counts equal what search finds for the same query in the same weeks, on
both databases; the page draws its charts as SVG with a table beside them, ``/trends.json`` has the issue's shape,
``/trends.csv`` quotes formulas, every search page links its trend, and bad requests are told what to change."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, PaperKeyphrase
from papertide.records import AccountRecord
from papertide.search.tantivy_keyword.sync import sync_keyword_index
from papertide.services.papers import feature_papers
from tests.helpers.factories import make_featured_record, make_paper_record

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MONDAY = date(2026, 6, 1)  # ISO week 2026-W23
WEEKS = ["2026-W22", "2026-W23", "2026-W24", "2026-W25"]
# (week offset from MONDAY, day in the week, title, category, upvotes on hf.co)
PAPERS = [
    (0, 0, "Diffusion models for speech", "cs.CL", 5),
    (0, 3, "Latent diffusion at scale", "cs.CV", 7),
    (0, 6, "Parsing with grammars", "cs.CL", 1),
    (1, 1, "Diffusion policies for robots", "cs.RO", 2),
    (1, 2, "Translation by retrieval", "cs.CL", 0),
    (2, 4, "Video diffusion transformers", "cs.CV", 11),
    (2, 5, "Discrete diffusion for text", "cs.CL", 3),
    (2, 6, "Reward models for dialogue", "cs.CL", 4),
]
HF_UPVOTES = {title: upvotes for _, _, title, _, upvotes in PAPERS}


@pytest.fixture
def papers(db: Database) -> None:
    records = []
    for weeks, day, title, category, upvotes in PAPERS:
        listed = MONDAY + timedelta(weeks=weeks, days=day)
        paper = make_paper_record(title=title, categories=(category,), announced_on=listed)
        organization = AccountRecord(name="Acme") if category == "cs.CL" else None
        records.append(
            make_featured_record(paper=paper, featured_on=listed, upvotes=upvotes, organization=organization)
        )
    with db.write_session() as session:
        feature_papers(session, records)
        for paper_id, title in session.execute(select(Paper.id, Paper.title)):  # as the insights job stores them
            if "iffusion" in title:
                session.add(PaperKeyphrase(phrase="diffusion", paper_id=paper_id))


def trend_of(client: TestClient, *queries: str) -> dict[str, object]:
    response = client.get("/trends.json", params={"q": list(queries), "weeks": 4, "until": WEEKS[-1]})
    assert response.status_code == 200, response.text
    return response.json()


def test_trend_counts_equal_search_totals(client: TestClient, papers: None) -> None:
    # Words are counted from the database's full text's matches; one cat:, kw: or org: filter from the counts
    # kept by day.
    counts_equal_search_totals(client)


@SQLITE
def test_trend_counts_equal_search_totals_read_through_the_keyword_index(
    client: TestClient, db: Database, settings: Settings, papers: None
) -> None:
    # Words are counted from the keyword index's matches; filters with a category are narrowed by the index.
    assert sync_keyword_index(db, settings) == len(PAPERS)
    counts_equal_search_totals(client)
    two = trend_of(client, "cat:cs.CL upvotes:>2", "cat:cs.CL cat:cs.CV")["series"]
    assert [w["papers"] for w in two[0]["weeks"]] == [0, 1, 0, 2]  # 5, then 3 and 4 upvotes
    assert [w["upvotes"] for w in two[0]["weeks"]] == [0, 5, 0, 7]
    assert [w["papers"] for w in two[1]["weeks"]] == [0, 0, 0, 0]


def counts_equal_search_totals(client: TestClient) -> None:
    queries = ["diffusion", "cat:cs.CL", '"diffusion models" OR translation', "-diffusion cat:cs.CL"]
    answer = trend_of(client, *queries)
    assert [s["q"] for s in answer["series"]] == queries
    kept = trend_of(client, "kw:diffusion", "org:ACME", "kw:diffusion cat:cs.CV")["series"]
    for series in answer["series"] + kept:
        assert [w["week"] for w in series["weeks"]] == WEEKS
        for week in series["weeks"]:
            monday = date.fromisocalendar(int(week["week"][:4]), int(week["week"][-2:]), 1)
            bounded = f"{series['q']} after:{monday} before:{monday + timedelta(days=6)}"
            found = client.get("/api/v1/search", params={"q": bounded, "limit": 100}).json()
            assert week["papers"] == found["total"], bounded
            assert week["upvotes"] == sum(HF_UPVOTES[p["title"]] + p["upvotes"] for p in found["items"])
    diffusion = answer["series"][0]["weeks"]
    assert [w["papers"] for w in diffusion] == [0, 2, 1, 2]  # the numbers themselves, not only their agreement
    assert [w["upvotes"] for w in diffusion] == [0, 12, 2, 14]
    assert kept[0]["weeks"] == diffusion  # kw:diffusion
    assert [w["papers"] for w in kept[1]["weeks"]] == [0, 2, 1, 2]  # Acme's: the cs.CL papers
    assert [w["papers"] for w in answer["series"][3]["weeks"]] == [0, 1, 1, 1]  # cs.CL less its diffusion papers


@SQLITE
def test_the_page_draws_svg_with_a_table_csv_and_a_link_from_search(client: TestClient, papers: None) -> None:
    page = client.get("/trends", params={"q": ["diffusion", "cat:cs.CL"], "weeks": 4, "until": WEEKS[-1]})
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 2 and html.count('<polyline class="line series-') == 4
    assert "<table" in html and '<th scope="row">2026-W23</th><td>2</td><td>12</td>' in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # the chart needs no JavaScript
    assert "style=" not in html  # the CSP forbids style attributes
    rows = list(
        csv.reader(io.StringIO(client.get(f"/trends.csv?q=%3DHYPERLINK(1)&q=diffusion&until={WEEKS[-1]}").text))
    )
    assert rows[0] == ["query", "week", "papers", "upvotes"]
    assert {row[0] for row in rows[1:]} == {"'=HYPERLINK(1)", "diffusion"}
    assert ["diffusion", "2026-W23", "2", "12"] in rows
    search = client.get("/search", params={"q": "diffusion"}).text
    assert 'href="/trends?q=diffusion"' in search
    empty = client.get("/trends").text
    assert "Name a search above" in empty and "<svg" not in empty


@SQLITE
@pytest.mark.parametrize(
    ("params", "told"),
    [
        ({"q": ["a", "b", "c", "d", "e", "f"]}, "at most 5 queries; this asked for 6"),
        ({"q": "a", "until": "2026-13"}, "is not an ISO week such as 2025-W12"),
        ({"q": "a", "until": "2026-W54"}, "is not an ISO week such as 2025-W12"),
        ({"q": "a", "weeks": "0"}, "weeks must be a whole number from 1 to 260"),
        ({"q": "a", "weeks": "many"}, "weeks must be a whole number from 1 to 260"),
    ],
)
def test_bad_requests_say_what_to_change(client: TestClient, params: dict[str, object], told: str) -> None:
    for path in ("/trends", "/trends.json"):
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, response.status_code)  # Invalid (web/errors.py)
        assert told in response.text


@SQLITE
def test_exclusions_mean_the_same_with_words_and_without(client: TestClient, db: Database, settings: Settings) -> None:
    # SQLite's full text stems "generalization" and "generate" alike (Porter), the keyword index does not
    # (Snowball): a search of filters alone, its trend and a search with words must all exclude as the index does.
    listed = MONDAY + timedelta(days=1)
    titles = ("We generate images", "Domain generalization of images", "Images of tables")
    records = [make_paper_record(title=t, categories=("cs.CV",), announced_on=listed) for t in titles]
    with db.write_session() as session:
        feature_papers(session, [make_featured_record(paper=r, featured_on=listed) for r in records])
    assert sync_keyword_index(db, settings) == len(titles)
    dated = f"after:{MONDAY} before:{MONDAY + timedelta(days=6)}"
    for q in (f"cat:cs.CV -generalization {dated}", f"images cat:cs.CV -generalization {dated}"):
        found = client.get("/api/v1/search", params={"q": q, "semantic": "false"}).json()
        assert sorted(item["title"] for item in found["items"]) == ["Images of tables", "We generate images"], q
    series = trend_of(client, "cat:cs.CV -generalization")["series"][0]
    assert [w["papers"] for w in series["weeks"]] == [0, 2, 0, 0]
