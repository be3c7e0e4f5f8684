"""The topic atlas's pages (issue 31) over a stored build, on both databases (the map's per-topic ranking is a
window function): ``/topics`` draws the map as SVG with a table, marks a signed-in reader's upvoted papers, and its
JSON twin has the issue's shape; ``/topics/{slug}`` ranks its papers, charts its weeks, lists its history and
neighbours, has a JSON twin and a feed; an unknown topic is a 404 that says where to look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.db import Database
from papertide.models import Paper, Topic, TopicBuild, TopicEvent, TopicPaper, TopicWeek
from papertide.services.papers import feature_papers
from papertide.services.trends import monday_of
from tests.helpers.factories import make_featured_record
from tests.helpers.web import csrf_token, sign_up


def centroid(*values: float) -> bytes:
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(values)] = values
    return (vector / np.linalg.norm(vector)).tobytes()


@pytest.fixture
def atlas(db: Database) -> dict[str, str]:
    """Three live topics and a merged one; "retrieval" holds three papers (upvotes 30, 20, 10) and a history."""
    records = [make_featured_record(upvotes=upvotes) for upvotes in (30, 20, 10, 5)]
    this_week = monday_of(datetime.now(UTC).date())
    with db.write_session() as session:
        feature_papers(session, records)
        ids = [session.scalar(select(Paper.id).where(Paper.arxiv_id == r.paper.arxiv_id)) for r in records]
        build = TopicBuild(papers=4, topics=3, seconds=1.0, method="test")
        session.add(build)
        session.flush()
        topics = {
            slug: Topic(
                slug=slug, label=label, words=label.split(" · "), size=size, growth=growth, x=x, y=y, centroid=c
            )
            for slug, label, size, growth, x, y, c in (
                ("retrieval", "retrieval · dense passages", 3, 4.2, 0.2, 0.3, centroid(1, 0.1)),
                ("reranking", "reranking · cross encoders", 1, 0.0, 0.3, 0.3, centroid(1, 0.3)),
                ("robots", "robot learning · policies", 0, -1.0, 0.9, 0.8, centroid(0, 1)),
            )
        }
        session.add_all(topics.values())
        session.add(Topic(slug="old-search", label="old search", words=[], status="merged", size=0, centroid=b""))
        session.flush()
        for paper_id, slug in zip(ids, ("retrieval", "retrieval", "retrieval", "reranking"), strict=True):
            session.add(TopicPaper(paper_id=paper_id, topic_id=topics[slug].id, x=0.21, y=0.31))
        session.add(
            TopicWeek(topic_id=topics["retrieval"].id, week=this_week - timedelta(weeks=1), papers=3, upvotes=60)
        )
        session.add(
            TopicEvent(
                build_id=build.id,
                topic_id=topics["retrieval"].id,
                week=this_week,
                kind="merged",
                others=["old-search"],
                size=3,
            )
        )
    return {"top": records[0].paper.arxiv_id, "last": records[2].paper.arxiv_id, "other": records[3].paper.arxiv_id}


def test_the_map_and_a_topic_page(client: TestClient, atlas: dict[str, str]) -> None:
    listed = client.get("/topics.json").json()
    assert [t["slug"] for t in listed["topics"]] == ["retrieval", "reranking", "robots"]
    assert listed["topics"][0] == {
        "slug": "retrieval",
        "label": "retrieval · dense passages",
        "size": 3,
        "growth": 4.2,
        "x": 0.2,
        "y": 0.3,
    }
    html = client.get("/topics").text
    assert html.count('class="bubble') == 3 and '<a href="/topics/retrieval" class="bubble rising"' in html
    assert '<th scope="row"><a href="/topics/retrieval">retrieval · dense passages</a></th><td>3</td>' in html
    assert "style=" not in html and '<script defer src="/static/topics.js' in html

    page = client.get("/topics/retrieval").text
    assert page.index(atlas["top"]) < page.index(atlas["last"]) and atlas["other"] not in page
    assert 'class="line series-0"' in page and 'merged (<a href="/topics/old-search">old-search</a>), 3 papers' in page
    assert page.index('href="/topics/reranking"') < page.index('href="/topics/robots"')  # nearest neighbour first
    twin = client.get("/topics/retrieval.json").json()
    assert [p["arxiv_id"] for p in twin["papers"]] == [atlas["top"], *[p["arxiv_id"] for p in twin["papers"][1:]]]
    assert len(twin["papers"]) == 3 and twin["neighbours"][0] == "reranking" and twin["topic"]["size"] == 3
    feed = feedparser.parse(client.get("/topics/retrieval.rss").text)
    assert not feed.bozo and len(feed.entries) == 3 and "retrieval" in feed.feed.title
    missing = client.get("/topics/no-such-topic")
    assert missing.status_code == 404 and "the atlas at /topics lists them all" in missing.text
    assert client.get("/topics/Not%20A%20Slug").status_code == 422


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_signed_in_reader_sees_their_upvotes_on_the_map(client: TestClient, atlas: dict[str, str]) -> None:
    assert 'class="mark' not in client.get("/topics").text
    sign_up(client, "ada")
    token = csrf_token(client, f"/papers/{atlas['last']}")
    assert client.post(f"/papers/{atlas['last']}/vote", data={"value": "1", "csrf_token": token}).status_code < 400
    html = client.get("/topics").text
    assert f'<a href="/papers/{atlas["last"]}" class="mark upvoted">' in html
    assert 'class="mark' not in client.get("/topics.json").text  # the public twin has no one's marks
