"""Following a topic of the atlas (issue 31), on both databases: the topic page's Follow button (signed in, CSRF,
an unknown topic refused), `/following` and its OPML, the personal feed, and the digest over the SMTP sink; a
follow survives rebuilds (a merged topic brings the one it went into, a split one its children, a faded one says
so)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.message import EmailMessage

import feedparser
import listparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, Topic, TopicBuild, TopicEvent, TopicPaper
from papertide.services.accounts import create_user
from papertide.services.digests import send_digests
from papertide.services.follows import FollowError, follow, live_topics
from papertide.services.papers import upsert_papers
from papertide.services.subscriptions import Preferences, subscribe
from tests.helpers.factories import make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import sign_up

MONDAY, TUESDAY = date(2026, 7, 6), date(2026, 7, 7)  # Monday's daily digest goes out on Tuesday


@pytest.fixture
def atlas(db: Database) -> dict[str, str]:
    """Live "retrieval" (a paper of Monday and one of the week before), "old-search" merged into it, "vision" split
    into live "video" and "images" (a Monday paper each), and "gone" faded. Returns titles by name."""
    titles = {
        "new": "Dense passages, fresh",
        "old": "Dense passages, last week",
        "video": "Video tokens",
        "images": "Image tokens",
    }
    days = {"new": MONDAY, "old": MONDAY - timedelta(weeks=1), "video": MONDAY, "images": MONDAY}
    records = {name: make_paper_record(title=titles[name], announced_on=days[name]) for name in titles}
    with db.write_session() as session:
        upsert_papers(session, list(records.values()))
        build = TopicBuild(papers=4, topics=3, seconds=1.0, method="test")
        session.add(build)
        session.flush()
        topics = {
            slug: Topic(slug=slug, label=f"{slug} label", words=[slug], status=status, size=1, centroid=b"")
            for slug, status in (
                ("retrieval", "live"),
                ("old-search", "merged"),
                ("vision", "split"),
                ("video", "live"),
                ("images", "live"),
                ("gone", "faded"),
            )
        }
        session.add_all(topics.values())
        session.flush()
        for name, slug in (("new", "retrieval"), ("old", "retrieval"), ("video", "video"), ("images", "images")):
            paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == records[name].arxiv_id))
            session.add(TopicPaper(paper_id=paper_id, topic_id=topics[slug].id, x=0.5, y=0.5))
        for slug, kind, others in (
            ("retrieval", "merged", ["old-search"]),  # the survivor's event names what it absorbed
            ("old-search", "merged", ["retrieval"]),  # the absorbed one's names where it went
            ("vision", "split", ["video", "images"]),
            ("gone", "faded", []),
        ):
            session.add(
                TopicEvent(build_id=build.id, topic_id=topics[slug].id, week=MONDAY, kind=kind, others=others, size=1)
            )
    return titles


def test_a_followed_topic_is_traced_through_merges_and_splits(db: Database, atlas: dict[str, str]) -> None:
    with db.write_session() as session:
        user_id = create_user(session, username="tracer", password="correct horse battery").id
        assert follow(session, user_id, "topic", "old-search") == "old-search"
        with pytest.raises(FollowError, match="No topic called “nothing-here”"):
            follow(session, user_id, "topic", "nothing-here")
        assert [t.slug for t in live_topics(session, "retrieval")] == ["retrieval"]
        assert [t.slug for t in live_topics(session, "old-search")] == ["retrieval"]
        assert [t.slug for t in live_topics(session, "vision")] == ["video", "images"]
        assert live_topics(session, "gone") == [] and live_topics(session, "never-built") == []


def test_follow_a_topic_from_its_page_and_read_it_in_the_personal_feed_and_the_opml(
    db: Database, settings: Settings, client: TestClient, atlas: dict[str, str]
) -> None:
    assert "to follow this topic" in client.get("/topics/retrieval").text  # signed out: a way to sign in
    assert client.post("/topics/retrieval/follow", follow_redirects=False).status_code in (401, 403)
    token = sign_up(client, "atlas-reader")
    assert client.post("/topics/retrieval/follow", follow_redirects=False).status_code == 403  # no CSRF token
    refused = client.post("/topics/nothing-here/follow", data={"csrf_token": token})
    assert refused.status_code == 422 and "/topics lists them all" in refused.text
    done = client.post("/topics/old-search/follow", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/topics/old-search"
    client.post("/topics/old-search/follow", data={"csrf_token": token})  # twice is one follow
    page = client.get("/topics/old-search").text
    assert 'action="/topics/old-search/unfollow"' in page and "In your digest and personal feed" in page
    assert 'its papers are now in <a href="/topics/retrieval">retrieval label</a>' in page
    following = client.get("/following").text
    assert following.count('href="/topics/old-search"') == 1 and "(now " in following

    made = client.post("/settings/feed-token", data={"csrf_token": token}).text
    feed_url = re.search(r'<code class="feed-url">http://[^/]+(/feeds/personal/[^<]+)</code>', made).group(1)  # type: ignore[union-attr]
    personal = feedparser.parse(client.get(feed_url).content)  # the merged topic's successor's papers, newest first
    assert [entry.title for entry in personal.entries] == [atlas["new"], atlas["old"]]

    client.post("/topics/vision/follow", data={"csrf_token": token})
    parsed = listparser.parse(client.get("/following.opml").text)
    assert not parsed.bozo, parsed.bozo_exception
    urls = {feed.url for feed in parsed.feeds}
    assert {f"{settings.base_url}/topics/{slug}.rss" for slug in ("retrieval", "video", "images")} <= urls
    assert f"{settings.base_url}/topics/old-search.rss" not in urls  # a merged topic's own feed has nothing new

    client.post("/topics/old-search/unfollow", data={"csrf_token": token})
    client.post("/topics/vision/unfollow", data={"csrf_token": token})
    assert 'action="/topics/old-search/follow"' in client.get("/topics/old-search").text
    assert "No topics yet" in client.get("/following").text
    assert feedparser.parse(client.get(feed_url).content).entries == []  # no follows, no votes: nothing to pick


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_followed_topics_come_to_the_digest_through_rebuilds(
    settings: Settings, db: Database, smtp: SmtpSink, atlas: dict[str, str]
) -> None:
    settings = mail_settings(settings, smtp)
    with db.write_session() as session:
        user_id = create_user(session, username="digest-reader", password="correct horse battery").id
        for slug in ("old-search", "vision", "gone"):
            follow(session, user_id, "topic", slug)
        subscription = subscribe(
            session, "topics@example.org", "daily", Preferences(trending=False, categories=("cs.DB",)), user_id
        )
        subscription.subscription.status = "active"
    assert send_digests(db, settings, "daily", TUESDAY).sent == 1
    text = _text(smtp.to("topics@example.org")[-1])
    merged = text.split("== In the topic “old-search label” ==")[1].split("==")[0]
    assert atlas["new"] in merged and atlas["old"] not in merged  # the window's paper of the topic it went into
    split = text.split("== In the topic “vision label” ==")[1].split("==")[0]
    assert atlas["video"] in split and atlas["images"] in split
    faded = text.split("== In the topic “gone label” ==")[1].split("==")[0]
    assert "faded in the atlas's newest build" in faded
