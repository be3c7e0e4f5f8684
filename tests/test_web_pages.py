"""Listing and paper pages over HTTP: order, counts, navigation, JSON twins, 404s, no N+1 queries."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.records import AuthorRecord
from papertide.services.papers import upsert_papers
from tests.helpers.data import load_daily
from tests.helpers.databases import SQLITE_ONLY, count_queries
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.web import sign_up

DAY = "2025-03-20"


def _day_file(shared_data: Path) -> Path:
    return shared_data / "hf-daily" / f"{DAY}.json"


def test_daily_page_shows_the_day_ranked_by_upvotes(client: TestClient, db: Database, shared_data: Path) -> None:
    items = load_daily(db, _day_file(shared_data))
    expected = sorted(items, key=lambda i: (-i["paper"].get("upvotes", 0), i["paper"]["id"]))  # type: ignore[index]
    data = client.get(f"/papers/date/{DAY}.json").json()
    cards = data["cards"]
    assert len(cards) == len(items) == 40
    # Ranked by hf.co's upvotes plus this instance's votes (none yet); the two figures stay apart.
    hf_counts = [c["hf_upvotes"] or 0 for c in cards]
    assert hf_counts == sorted(hf_counts, reverse=True) and {c["upvotes"] for c in cards} == {0}
    assert cards[0]["arxiv_id"] == expected[0]["paper"]["id"]  # type: ignore[index]
    assert cards[0]["hf_upvotes"] == expected[0]["paper"]["upvotes"]  # type: ignore[index]
    html = client.get(f"/papers/date/{DAY}").text
    titles = re.findall(r'<h2 class="title"><a href="/papers/([^"]+)"', html)
    assert titles == [c["arxiv_id"] for c in cards]


def test_front_page_is_the_newest_featured_day(client: TestClient, db: Database, shared_data: Path) -> None:
    load_daily(db, shared_data / "hf-daily" / "2024-01-03.json")
    load_daily(db, shared_data / "hf-daily" / "2024-01-04.json")
    front = client.get("/index.json").json()
    assert front["period"] == "2024-01-04"
    assert front["previous"]["url"] == "/papers/date/2024-01-03" and front["next"] is None


def test_week_and_month_pages_and_navigation(client: TestClient, db: Database, shared_data: Path) -> None:
    for day in ("2024-01-03", "2024-01-04", "2024-01-09"):
        load_daily(db, shared_data / "hf-daily" / f"{day}.json")
    week = client.get("/papers/week/2024-W01.json").json()
    assert len(week["cards"]) == 11 + 12
    assert week["previous"] is None and week["next"]["url"] == "/papers/week/2024-W02"  # the data's first week
    month = client.get("/papers/month/2024-01.json").json()
    assert len(month["cards"]) == 11 + 12 + 11
    newest = client.get("/papers/month/2024-01.json?sort=newest").json()
    assert newest["cards"][0]["featured_on"] == "2024-01-09"


def test_trending_shows_scores_and_ignores_young_accounts(client: TestClient, db: Database) -> None:
    older = make_featured_record(upvotes=10)
    newer = make_featured_record(upvotes=9, featured_on=older.featured_on)
    from papertide.services.papers import feature_papers

    with db.write_session() as session:
        feature_papers(session, [older, newer])
    token = sign_up(client, "fresh_account")
    for _ in range(2):  # a brand-new account's upvotes count on the card but not toward trending
        client.post(f"/papers/{newer.paper.arxiv_id}/vote", data={"value": "1", "csrf_token": token})
    trending = client.get("/papers/trending.json").json()
    assert [c["arxiv_id"] for c in trending["cards"]] == [older.paper.arxiv_id, newer.paper.arxiv_id]
    assert all(isinstance(c["trending_score"], float) and c["trending_score"] > 0 for c in trending["cards"])
    # The card shows this instance's one vote beside hf.co's nine.
    assert (trending["cards"][1]["upvotes"], trending["cards"][1]["hf_upvotes"]) == (1, 9)


def test_category_chips_filter(client: TestClient, db: Database) -> None:
    from papertide.services.papers import feature_papers

    items = [
        make_featured_record(paper=make_paper_record(version=None, categories=("cs.CL",))),
        make_featured_record(paper=make_paper_record(version=None, categories=("cs.CV", "cs.CL"))),
        make_featured_record(paper=make_paper_record(version=None, categories=("cs.CV",))),
    ]
    with db.write_session() as session:
        feature_papers(session, items)
    page = client.get("/papers/date/2026-07-09.json").json()
    labels = [chip["label"] for chip in page["chips"]]
    assert labels[:3] == ["All", "cs.CL · 2", "cs.CV · 2"]
    filtered = client.get("/papers/date/2026-07-09.json?category=cs.CV").json()
    assert {c["arxiv_id"] for c in filtered["cards"]} == {items[1].paper.arxiv_id, items[2].paper.arxiv_id}
    assert client.get("/papers/date/2026-07-09?category=<script>").status_code == 422


def test_unknown_dates_and_ids_are_404_pages_with_navigation(client: TestClient) -> None:
    for path in (
        "/papers/date/2024-13-40",
        "/papers/week/2024-W60",
        "/papers/month/2024-1",
        "/papers/9999.99999",
        "/papers/not-an-id",
        "/users/nobody",
        "/orgs/none",
        "/no/such/page",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert 'href="/"' in response.text and "404" in response.text, path
    assert client.get("/papers/date/2024-13-40.json").headers["content-type"] == "application/problem+json"


def test_empty_instance_says_how_to_ingest(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "papertide ingest" in page.text


def test_paper_page_resolves_versions_and_old_style_ids(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(
            session,
            [
                make_paper_record(arxiv_id="hep-th/9901001", title="Strings $\\mathbb{R}^n$"),
                make_paper_record(arxiv_id="2503.24322"),
            ],
        )
    assert client.get("/papers/hep-th/9901001").status_code == 200
    redirect = client.get("/papers/2503.24322v3", follow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["location"] == "/papers/2503.24322"
    redirect = client.get("/papers/HEP-TH/9901001v2", follow_redirects=False)
    assert redirect.headers["location"] == "/papers/hep-th/9901001"
    page = client.get("/papers/hep-th/9901001").text
    assert "<title>Strings R^n · papertide</title>" in page
    assert "https://arxiv.org/pdf/hep-th/9901001" in page


# The statements are the code's, not the backend's: counted once, on SQLite (as in tests/test_web_queries.py).
@SQLITE_ONLY
def test_daily_and_paper_pages_make_a_fixed_number_of_queries(client: TestClient, db: Database, app: object) -> None:
    from papertide.services.papers import feature_papers

    app_db: Database = app.state.database  # type: ignore[attr-defined]
    token = sign_up(client, "counter")
    few = [make_featured_record() for _ in range(3)]
    with db.write_session() as session:
        feature_papers(session, few)
    with count_queries(app_db) as small:
        assert client.get("/papers/date/2026-07-09").status_code == 200
    many = [
        make_featured_record(paper=make_paper_record(version=None, authors=(AuthorRecord("A B"),))) for _ in range(40)
    ]
    with db.write_session() as session:
        feature_papers(session, many)
    with count_queries(app_db) as large:
        assert client.get("/papers/date/2026-07-09").status_code == 200
    assert len(large) == len(small), "the daily page's query count grows with the number of papers"
    paper = few[0].paper.arxiv_id
    for body in ("first", "second"):
        client.post(f"/papers/{paper}/comments", data={"body": body, "csrf_token": token})
    with count_queries(app_db) as two_comments:
        client.get(f"/papers/{paper}")
    for body in ("third", "fourth", "fifth"):
        client.post(f"/papers/{paper}/comments", data={"body": body, "csrf_token": token})
    with count_queries(app_db) as five_comments:
        client.get(f"/papers/{paper}")
    assert len(two_comments) == len(five_comments)
    assert len(large) <= 12, large


def test_json_twin_matches_the_html(client: TestClient, db: Database, shared_data: Path) -> None:
    load_daily(db, shared_data / "hf-daily" / "2024-01-04.json")
    html = client.get("/papers/date/2024-01-04").text
    data = client.get("/papers/date/2024-01-04.json").json()
    for card in data["cards"]:
        assert f'href="/papers/{card["arxiv_id"]}"' in html
        assert f'<span class="count" data-count>{card["upvotes"]}</span>' in html
    assert json.loads(json.dumps(data)) == data


def test_latex_text_commands_become_html_and_math_is_left_for_katex() -> None:
    from papertide.text import latex_text

    html = str(
        latex_text(r"Use \texttt{Fast<Rank>}, \emph{really}, $\texttt{x} < y$ and \url{https://a.example/b} <b>x</b>")
    )
    assert "<code>Fast&lt;Rank&gt;</code>" in html and "<em>really</em>" in html
    assert r"$\texttt{x} &lt; y$" in html
    assert '<a href="https://a.example/b" rel="nofollow noopener">' in html
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
