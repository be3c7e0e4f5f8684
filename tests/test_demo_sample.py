"""The demo's bundled sample (``papertide.demo``, what ``papertide demo`` serves offline): every page the header
links shows real content on it, anchored at the sample's newest day rather than today. (The demo command itself,
offline and stopped, is in tests/test_cli_stopping.py.)"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.demo import SAMPLE_DAILY, SAMPLE_SNAPSHOT
from papertide.services.embeddings import embed_pending
from papertide.services.ingest import ingest_daily, ingest_snapshot
from tests.helpers.embedder import MemoEmbedder
from tests.helpers.web import sign_up

NEWEST_DAY = "2025-04-16"


def test_the_sample_is_complete_days_of_real_papers() -> None:
    items = json.loads(SAMPLE_DAILY.read_text(encoding="utf-8"))
    assert len(items) == 485
    assert len({item["publishedAt"][:10] for item in items}) == 31
    for item in items:
        paper = item["paper"]
        assert paper["authors"] and paper["summary"] and isinstance(paper["upvotes"], int), paper["id"]
    assert SAMPLE_SNAPSHOT.stat().st_size < 1_000_000  # a few MB at most, the daily file included
    assert SAMPLE_DAILY.stat().st_size < 2_000_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_the_header_links_shows_the_sample(client: TestClient, db: Database, embedder: MemoEmbedder) -> None:
    ingest_snapshot(db, SAMPLE_SNAPSHOT)
    ingest_daily(db, SAMPLE_DAILY)
    embed_pending(db, embedder, limit=96)

    front = client.get("/index.json").json()
    assert front["period"] == NEWEST_DAY and len(front["cards"]) >= 10
    assert all(card["authors"] and card["hf_upvotes"] is not None for card in front["cards"])
    for path, period in (("/papers/week", "2025-W16"), ("/papers/month", "2025-04")):
        listing = client.get(path)
        assert listing.url.path.endswith(period) and "data-paper=" in listing.text
    trending = client.get("/papers/trending.json").json()
    assert len(trending["cards"]) >= 10 and trending["cards"][0]["trending_score"] > 0
    assert client.get("/search.json", params={"q": "reinforcement learning"}).json()["total"] > 10

    similar = client.get("/similar.json", params={"text": "vision language model benchmark"}).json()
    liked = similar["cards"][0]["arxiv_id"]
    paper = client.get(f"/papers/{liked}")
    assert paper.status_code == 200 and 'class="similar"' in paper.text
    token = sign_up(client, "newcomer")
    assert client.post(f"/papers/{liked}/vote", data={"value": "1", "csrf_token": token}).status_code in (200, 303)
    assert len(client.get("/for-you.json").json()["page"]["picks"]) >= 10
