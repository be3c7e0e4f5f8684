"""JSON twins: every listing's twin has one shape (its papers at the top-level ``cards``, each a card with the
same fields), ``/similar.json`` included, which keeps its old ``page`` one release; a paper has its own twin at
``/papers/{id}.json`` (and on its page URL for ``Accept: application/json``) beside ``.bib``, ``.ris``,
``.csl.json`` and ``.md``."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papertide.config import Settings
from papertide.db import Database
from papertide.services.submissions import set_paper_hidden
from papertide.web.viewmodels.cards import Card
from papertide.web.viewmodels.paper import PaperPage
from tests.helpers.data import HF_FIXTURES, load_daily
from tests.helpers.settings import make_settings

HF_DAY = HF_FIXTURES / "hf_daily_papers_2026-07-09.json"
CARD_FIELDS = {field.name for field in fields(Card)}
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # shapes, not the database


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Without semantic search: the shapes need no model."""
    return make_settings(database_url, tmp_path, semantic_search=False)


@pytest.fixture
def day(db: Database) -> list[dict[str, object]]:
    return load_daily(db, HF_DAY)


def test_every_listing_twin_has_its_papers_at_cards(client: TestClient, day: list[dict[str, object]]) -> None:
    first = day[0]["paper"]  # type: ignore[index]
    author = first["authors"][0]["name"].lower().replace(" ", "-")  # type: ignore[index]
    listings = [
        "/index.json",
        "/papers/date/2026-07-09.json",
        "/papers/week/2026-W28.json",
        "/papers/month/2026-07.json",
        "/papers/trending.json",
        "/search.json?q=structure",
        f"/orgs/{day[0]['organization']['name']}.json",  # type: ignore[index]
        f"/authors/{author}.json",
    ]
    for path in listings:
        twin = client.get(path).json()
        assert twin["cards"] and all(set(card) == CARD_FIELDS for card in twin["cards"]), path
    similar = client.get("/similar.json").json()  # no examples: no model needed, the shape all the same
    assert similar["cards"] == [] and {"text", "positives", "negatives", "similarity", "warnings"} <= set(similar)
    assert similar["page"] == {key: value for key, value in similar.items() if key != "page"}  # until 0.3
    unknown = client.get("/similar.json", params={"pos": "2101.00001"}).json()
    assert "None of those papers" in unknown["message"] and unknown["page"]["message"] == unknown["message"]


def test_a_paper_has_its_own_json(client: TestClient, db: Database, day: list[dict[str, object]]) -> None:
    arxiv_id = str(day[0]["paper"]["id"])  # type: ignore[index]
    twin = client.get(f"/papers/{arxiv_id}.json")
    assert twin.status_code == 200 and twin.headers["content-type"] == "application/json"
    page = twin.json()
    assert set(page) == {field.name for field in fields(PaperPage)} and set(page["card"]) == CARD_FIELDS
    assert page["card"]["arxiv_id"] == arxiv_id and page["abstract"] and page["authors"][0]["name"]
    negotiated = client.get(f"/papers/{arxiv_id}", headers={"Accept": "application/json"})
    assert negotiated.json() == page and "Accept" in negotiated.headers["vary"]
    assert client.get(f"/papers/{arxiv_id}.csl.json").json()[0]["number"] == f"arXiv:{arxiv_id}"  # still CSL
    moved = client.get(f"/papers/arXiv:{arxiv_id}v2.json", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == f"/papers/{arxiv_id}.json"
    assert client.get("/papers/2101.00001.json").status_code == 404
    with db.write_session() as session:
        set_paper_hidden(session, arxiv_id, True)
    gone = client.get(f"/papers/{arxiv_id}.json")
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
