"""Feeds: every kind in RSS, Atom and JSON Feed parses with feedparser without bozo, carries the right papers in
the right order, answers conditional GETs with 304, is announced on its page; personal feeds are private. Atom
feeds pass the W3C validator's rules for Atom (``tests/data/w3c_atom.sch``, run by lxml's Schematron), and every
feed names its own URL, a search's query included."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import feedparser
import feedparser_rs
import pytest
from fastapi.testclient import TestClient
from lxml import etree, isoschematron
from sqlalchemy import select, update

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Collection, FeaturedPaper, Paper, User
from papertide.records import AccountRecord, AuthorRecord
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.papers import feature_papers
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.web import sign_up

DAY = date(2026, 7, 9)
FORMATS = ("rss", "atom", "json")


@pytest.fixture
def featured(db: Database) -> list[str]:
    """Five papers featured on DAY (upvotes 50, 40, …), the first with LaTeX and markup in its title."""
    records = [
        make_featured_record(
            featured_on=DAY,
            upvotes=50 - 10 * index,
            submitter=AccountRecord("curator"),
            organization=AccountRecord("meta-ai", "Meta AI") if index % 2 == 0 else None,
            paper=make_paper_record(
                title=r"$\alpha$-tuning <script>x</script> & friends" if index == 0 else f"Graph paper {index}",
                authors=(AuthorRecord("Ada Lovelace"),),
                categories=("cs.CL",) if index < 3 else ("cs.CV",),
                announced_on=DAY,
            ),
        )
        for index in range(5)
    ]
    with db.write_session() as session:
        feature_papers(session, records)
    return [record.paper.arxiv_id for record in records]


def parsed(client: TestClient, path: str) -> Any:
    """The feed as a reader sees it: feedparser for RSS and Atom; feedparser-rs (the same API) for JSON Feed,
    which feedparser 6.0 does not read."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/feed+json"):
        feed = feedparser_rs.parse(response.content)
        assert feed.version == "json11"
    else:
        feed = feedparser.parse(response.content, response_headers={"content-type": response.headers["content-type"]})
    assert not feed.bozo, (path, feed.get("bozo_exception"))
    return feed


def ids_in(feed: Any) -> list[str]:
    return [entry.link.rsplit("/papers/", 1)[1] for entry in feed.entries]


@pytest.mark.parametrize("fmt", FORMATS)
def test_listing_feeds_carry_the_papers_in_order(client: TestClient, featured: list[str], fmt: str) -> None:
    weekly = parsed(client, f"/feeds/weekly.{fmt}")
    assert ids_in(weekly) == featured  # by upvotes
    assert ids_in(parsed(client, f"/feeds/monthly.{fmt}")) == featured
    assert set(ids_in(parsed(client, f"/feeds/daily.{fmt}"))) == set(featured)
    first = weekly.entries[0]
    assert first.title.startswith("α-tuning") and "$" not in first.title  # LaTeX made plain text
    assert "Graph paper" in weekly.entries[1].title
    assert set(ids_in(parsed(client, f"/feeds/category/cs.CL.{fmt}"))) == set(featured[:3])
    assert ids_in(parsed(client, f"/feeds/org/meta-ai.{fmt}")) == [featured[0], featured[2], featured[4]]
    assert set(ids_in(parsed(client, f"/feeds/user/curator.{fmt}"))) == set(featured)
    search = parsed(client, f"/feeds/search.{fmt}?q=graph")
    assert set(ids_in(search)) == set(featured[1:])


def test_an_imported_day_is_dated_by_its_day_not_by_the_import(client: TestClient, featured: list[str]) -> None:
    feed = parsed(client, "/feeds/daily.rss")
    assert feed.entries
    assert {entry.published_parsed[:3] for entry in feed.entries} == {(DAY.year, DAY.month, DAY.day)}


def test_trending_and_collection_feeds(client: TestClient, db: Database, featured: list[str]) -> None:
    with db.write_session() as session:  # trending needs recent featuring
        session.execute(update(FeaturedPaper).values(featured_on=date.today()))
    assert parsed(client, "/feeds/trending.atom").entries
    sign_up(client, "collector")
    with db.write_session() as session:
        owner = session.execute(select(User.id).where(User.username == "collector")).scalar_one()
        collection = create_collection(session, owner_id=owner, title="Reading list")
        for arxiv_id in reversed(featured[:2]):
            paper_id = session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar_one()
            add_to_collection(session, collection_id=collection.id, owner_id=owner, paper_id=paper_id)
        slug = collection.slug
    feed = parsed(client, f"/feeds/collection/collector/{slug}.rss")
    assert ids_in(feed) == list(reversed(featured[:2]))
    with db.write_session() as session:
        session.execute(update(Collection).values(is_public=False))
    assert client.get(f"/feeds/collection/collector/{slug}.rss").status_code == 404


def test_conditional_get_answers_304(client: TestClient, featured: list[str]) -> None:
    first = client.get("/feeds/weekly.rss")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/feeds/weekly.rss", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/weekly.rss", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/feeds/weekly.rss", headers={"If-None-Match": '"stale"'}).status_code == 200
    assert client.get("/feeds/weekly.rss", headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_bad_feed_urls_are_clear_404s(client: TestClient, featured: list[str]) -> None:
    assert "end in .rss" in client.get("/feeds/weekly.xml").text
    assert client.get("/feeds/nonsense.rss").status_code == 404
    assert client.get("/feeds/org/nobody.rss").status_code == 404
    assert client.get("/feeds/search.rss").status_code == 400


def test_pages_announce_their_feeds(client: TestClient, featured: list[str]) -> None:
    links = re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)"', client.get("/").text)
    assert ("application/rss+xml", "/feeds/daily.rss") in links
    assert ("application/feed+json", "/feeds/daily.json") in links
    week = client.get("/papers/week/2026-W28?category=cs.CL").text
    assert 'href="/feeds/weekly.atom"' in week and 'href="/feeds/category/cs.CL.rss"' in week
    assert 'href="/feeds/org/meta-ai.rss"' in client.get("/orgs/meta-ai").text
    assert 'href="/feeds/search.rss?q=graph+paper"' in client.get("/search", params={"q": "graph paper"}).text
    for _, href in links:
        assert client.get(href).status_code == 200


def test_personal_feed_is_private_and_revocable(client: TestClient, embedded_corpus: Database) -> None:
    token = sign_up(client, "reader")
    for arxiv_id in ("2503.12549", "2503.12609"):
        client.post(f"/papers/{arxiv_id}/vote", data={"csrf_token": token})
    page = client.post("/settings/feed-token", data={"csrf_token": token}).text
    url = re.search(r"<code class=\"feed-url\">https?://[^/]+(/feeds/personal/[\w-]+)\.rss</code>", page)
    assert url, page
    for fmt in FORMATS:
        response = client.get(f"{url.group(1)}.{fmt}")
        assert response.headers["cache-control"].startswith("private")
        feed = parsed(client, f"{url.group(1)}.{fmt}")
        assert len(feed.entries) == 50 and not {"2503.12549", "2503.12609"} & set(ids_in(feed))
    replaced = client.post("/settings/feed-token", data={"csrf_token": token}).text
    assert url.group(1) not in replaced
    assert client.get(f"{url.group(1)}.rss").status_code == 404  # the old address stopped working
    client.post("/settings/feed-token/revoke", data={"csrf_token": token})
    newer = re.search(r"(/feeds/personal/[\w-]+)\.rss", replaced)
    assert newer and client.get(f"{newer.group(1)}.rss").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_xml_cannot_carry_breaks_no_feed(client: TestClient, db: Database, featured: list[str], fmt: str) -> None:
    """A title stored with U+0001 (imported before sources cleaned text) once made every reader's daily feed a
    500; the writer drops such characters itself, and a search for them gets its feed too."""
    with db.write_session() as session:
        session.execute(
            update(Paper)
            .where(Paper.arxiv_id == featured[1])
            .values(title="Graph\x01 paper\ufffe one", abstract="Ctrl\x0b and\x1f", authors=[{"name": "Ada\x02"}])
        )
    for path in (f"/feeds/daily.{fmt}", f"/feeds/weekly.{fmt}", f"/feeds/category/cs.CL.{fmt}"):
        titles = [entry.title for entry in parsed(client, path).entries]
        assert "Graph paper one" in titles, path
    for char in ("\x01", "\x0b", "\x1f", "\ufffe"):
        search = parsed(client, f"/feeds/search.{fmt}?q=" + quote_plus(f"graph{char}"))
        assert search.feed.title == "papertide: search “graph”"
    assert parsed(client, f"/feeds/category/cs.C%01L.{fmt}").feed.title == "papertide: new in cs.CL"


W3C_ATOM = isoschematron.Schematron(
    etree.parse(str(Path(__file__).parent / "data" / "w3c_atom.sch")), store_report=True
)
ATOM = "{http://www.w3.org/2005/Atom}"
# RFC 3339 as the validator's rfc3339 check takes it: a full date-time with seconds and an offset or Z.
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def w3c_atom_problems(body: bytes, location: str) -> list[str]:
    """What the W3C Feed Validation Service would report of an Atom feed fetched at ``location``."""
    document = etree.fromstring(body)
    problems = [] if W3C_ATOM.validate(document) else _failures(W3C_ATOM.validation_report)
    dates = document.iter(f"{ATOM}updated", f"{ATOM}published")
    problems += [f"InvalidRFC3339Date: {d.text!r}" for d in dates if not RFC3339.fullmatch(d.text or "")]
    selves = [link.get("href") for link in document.findall(f"{ATOM}link") if link.get("rel") == "self"]
    problems += [f"SelfDoesntMatchLocation: {href} fetched at {location}" for href in selves if href != location]
    return problems


def _failures(report: Any) -> list[str]:
    failed = report.findall(".//{http://purl.oclc.org/dsdl/svrl}failed-assert")
    return [" ".join("".join(f.itertext()).split()) for f in failed]


def test_the_w3c_atom_rules_catch_what_the_validator_reports() -> None:
    """The rules fail the feed the issue saw fail (entries without an author, in a feed without one), and a self
    link that dropped its query."""
    bare = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title><updated>2026-07-09T00:00:00Z'
        b'</updated><link rel="self" href="http://x/feeds/search.atom"/><entry><id>urn:1</id><title>a</title>'
        b'<updated>2026-07-09</updated><link href="http://x/1"/><summary>s</summary></entry></feed>'
    )
    assert w3c_atom_problems(bare, "http://x/feeds/search.atom?q=graph") == [
        "MissingElement: an entry has no author, nor has its feed",
        "InvalidRFC3339Date: '2026-07-09'",
        "SelfDoesntMatchLocation: http://x/feeds/search.atom fetched at http://x/feeds/search.atom?q=graph",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the writer's output, not the database
def test_atom_feeds_pass_the_w3c_validator_rules(
    client: TestClient, db: Database, featured: list[str], settings: Settings
) -> None:
    """Daily, weekly, trending, category, organization and search feeds, one paper with no known
    author among them; and the search feeds' self links (RSS, Atom) and feed_url (JSON Feed) keep the query."""
    with db.write_session() as session:  # featured today, so that trending has them too; one of unknown authors
        session.execute(update(FeaturedPaper).values(featured_on=date.today()))
        session.execute(update(Paper).where(Paper.arxiv_id == featured[1]).values(authors=[]))
    search = "/feeds/search.atom?q=" + quote_plus("graph paper")
    paths = ["/feeds/daily.atom", "/feeds/weekly.atom", "/feeds/trending.atom", "/feeds/category/cs.CL.atom"]
    for path in [*paths, "/feeds/org/meta-ai.atom", search]:
        response = client.get(path)
        assert response.status_code == 200 and b"<entry>" in response.content, path
        assert w3c_atom_problems(response.content, settings.base_url + path) == [], path
    rss = etree.fromstring(client.get(search.replace(".atom", ".rss")).content)
    self_links = rss.findall(".//{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert [link.get("href") for link in self_links] == [settings.base_url + search.replace(".atom", ".rss")]
    json_feed = client.get(search.replace(".atom", ".json")).json()
    assert json_feed["feed_url"] == settings.base_url + search.replace(".atom", ".json")
