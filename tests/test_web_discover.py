"""More like this, personal picks and the admin page over HTTP, on real records embedded with the real model."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from papertide.db import Database
from papertide.models import PaperCategory, UserRanker
from tests.helpers.data import EMBEDDED_LINES
from tests.helpers.web import log_in, make_admin, sign_up

GRASPING = "2503.12549"
ROBOT_GRASPING = ["2503.12549", "2503.12609", "2503.12779"]  # grasping and manipulation papers of the corpus


def similar_section(html: str) -> str:
    match = re.search(r'<section class="similar".*?</section>', html, re.DOTALL)
    assert match, "the paper page has no similar-papers panel"
    return match.group(0)


def test_paper_page_lists_similar_papers_but_never_itself(client: TestClient, embedded_corpus: Database) -> None:
    panel = similar_section(client.get(f"/papers/{GRASPING}").text)
    linked = re.findall(r'href="/papers/([^"]+)"', panel)
    assert len(linked) == 6 and GRASPING not in linked
    assert "2503.12609" in linked  # VISO-Grasp, the other grasping paper
    assert f'href="/similar?pos={GRASPING}"' in panel


def test_similar_page_by_text_positives_and_negatives(client: TestClient, embedded_corpus: Database) -> None:
    by_text = client.get("/similar.json", params={"text": "robots grasping objects hidden behind others"}).json()
    assert GRASPING in [card["arxiv_id"] for card in by_text["page"]["cards"][:3]]
    by_paper = client.get("/similar.json", params={"pos": GRASPING}).json()["page"]
    found = [card["arxiv_id"] for card in by_paper["cards"]]
    assert GRASPING not in found and len(found) == 30
    negative = found[0]
    steered = client.get("/similar.json", params={"pos": GRASPING, "neg": negative}).json()["page"]
    assert negative not in [card["arxiv_id"] for card in steered["cards"]]
    assert [e["arxiv_id"] for e in steered["negatives"]] == [negative]
    page = client.get("/similar", params={"pos": [GRASPING, "not-an-id", "2101.00001"]}).text
    assert "not-an-id" in page and "2101.00001; it was left out" in page
    nothing = client.get("/similar.json", params={"pos": "2101.00001"}).json()["page"]
    assert nothing["cards"] == [] and "None of those papers" in nothing["message"]


def test_pasted_text_is_escaped(client: TestClient, embedded_corpus: Database) -> None:
    page = client.get("/similar", params={"text": "<script>alert(1)</script> grasping"}).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_search_page_says_why_each_result_matched(client: TestClient, embedded_corpus: Database) -> None:
    page = client.get("/search", params={"q": "grasping occluded"}).text
    assert "keyword and semantic match" in page
    assert "semantic match (no query word in the text)" in page


def test_for_you_learns_from_upvotes_and_not_interested(client: TestClient, embedded_corpus: Database) -> None:
    assert client.get("/for-you", follow_redirects=False).status_code in (303, 401)
    token = sign_up(client, "reader")
    empty = client.get("/for-you.json").json()["page"]
    assert empty["picks"] == [] and "Upvote papers" in empty["message"]
    for arxiv_id in ROBOT_GRASPING:
        assert client.post(f"/papers/{arxiv_id}/vote", data={"csrf_token": token}).status_code in (200, 303)
    page = client.get("/for-you.json").json()["page"]
    picks = page["picks"]
    assert page["positives"] == 3 and len(picks) == 30
    assert not {pick["card"]["arxiv_id"] for pick in picks} & set(ROBOT_GRASPING)
    assert all(pick["because"]["arxiv_id"] in ROBOT_GRASPING for pick in picks)
    with embedded_corpus.read_session() as session:
        base_rate = (
            session.execute(
                select(func.count()).select_from(PaperCategory).where(PaperCategory.category == "cs.RO")
            ).scalar_one()
            / EMBEDDED_LINES
        )
    robotics = sum("cs.RO" in pick["card"]["categories"] for pick in picks[:10]) / 10
    assert robotics >= 3 * base_rate, (base_rate, [pick["card"]["title"] for pick in picks[:10]])
    html = client.get("/for-you").text
    assert "because you upvoted" in html and "Not interested" in html

    with embedded_corpus.read_session() as session:
        first_fit = session.execute(select(UserRanker.fingerprint)).scalar_one()
    dismissed = picks[0]["card"]["arxiv_id"]
    response = client.post("/for-you/dismiss", data={"paper": dismissed, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    again = client.get("/for-you.json").json()["page"]
    assert dismissed not in [pick["card"]["arxiv_id"] for pick in again["picks"]] and again["dismissed"] == 1
    with embedded_corpus.read_session() as session:
        assert session.execute(select(UserRanker.fingerprint)).scalar_one() != first_fit
    assert client.post("/for-you/dismiss", data={"paper": "junk", "csrf_token": token}).status_code == 404


def test_admin_page_shows_embedding_progress(client: TestClient, embedded_corpus: Database) -> None:
    sign_up(client, "visitor")
    assert client.get("/admin").status_code == 403
    client.cookies.clear()
    make_admin(embedded_corpus, "boss")
    log_in(client, "boss")
    status = client.get("/admin.json").json()["page"]
    assert status["papers"] == status["embedded"] == 250 and status["percent"] == pytest.approx(100.0)
    assert "Background work" in client.get("/admin").text
