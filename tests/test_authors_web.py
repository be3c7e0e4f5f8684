"""Authors as pages over the real app: name keys, the page and its feed read back by feedparser, follow and
unfollow with CSRF, hostile names in the URL, links from cards and paper pages; ORCID iDs on profiles; the OPML
list of a user's feeds read back by listparser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import feedparser
import listparser
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, alembic_config
from papertide.models import User
from papertide.people import InvalidOrcid, author_key, normalise_orcid
from papertide.queries.people import query_author_papers
from papertide.records import AuthorRecord
from papertide.services.papers import upsert_papers
from papertide.services.subscriptions import Preferences, subscribe
from tests.helpers.factories import make_paper_record
from tests.helpers.web import sign_up


def test_author_keys_fold_case_accents_and_punctuation() -> None:
    assert author_key("José  Núñez-García") == author_key("JOSE NUNEZ GARCIA") == "jose-nunez-garcia"
    assert author_key("J.-P. Dupont") == author_key("J P Dupont") == "j-p-dupont"
    assert author_key("李 小龙") == "李-小龙"
    assert author_key("../../etc/passwd") == "etc-passwd"
    assert author_key("—— ¿? 😀") == ""
    assert len(author_key("a" * 10_000)) == 120
    assert author_key(author_key("Ada  Lovelace")) == "ada-lovelace"  # a key is its own key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0002-1694-233x", "0000-0002-1694-233X"),  # check character X
        ("0000000151093700", "0000-0001-5109-3700"),
        ("  ", None),
    ],
)
def test_orcid_ids_with_a_right_checksum_are_normalised(text: str, expected: str | None) -> None:
    assert normalise_orcid(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0000-0002-1825-0098", "checksum"),
        ("0000-0002-1694-2330", "checksum"),
        ("0000-0002-1825", "16 digits"),
        ("orcid.org/abcd-efgh-ijkl-mnop", "16 digits"),
        ("0000-0002-1825-0097-1", "16 digits"),
    ],
)
def test_orcid_ids_with_a_wrong_checksum_or_shape_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidOrcid, match=reason):
        normalise_orcid(text)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app without its semantic side: these pages need no embedding model (and loading one takes seconds)."""
    with TestClient(create_app(settings.model_copy(update={"semantic_search": False}))) as plain:
        yield plain


def _papers(db: Database) -> list[str]:
    records = [
        make_paper_record(
            title="Older work of José", authors=(AuthorRecord("José Núñez"),), announced_on=date(2025, 1, 6)
        ),
        make_paper_record(
            title="Newer work, spelled plainly",
            authors=(AuthorRecord("Ada Lovelace"), AuthorRecord("Jose Nunez")),
            announced_on=date(2025, 2, 3),
        ),
        make_paper_record(title="Someone else", authors=(AuthorRecord("Josefa Nunez"),), announced_on=date(2025, 3, 3)),
    ]
    with db.write_session() as session:
        upsert_papers(session, records)
    return [record.arxiv_id for record in records]


def test_author_page_lists_papers_newest_first_with_caveat_links_and_feed(db: Database, client: TestClient) -> None:
    older, newer, other = _papers(db)
    moved = client.get(f"/authors/{quote('José Núñez')}", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/authors/jose-nunez"
    page = client.get("/authors/jose-nunez")
    assert page.status_code == 200
    assert page.text.index(newer) < page.text.index(older) and other not in page.text
    assert "Names collide" in page.text and "2 papers" in page.text
    assert 'type="application/rss+xml"' in page.text and "/feeds/author/jose-nunez.rss" in page.text
    twin = client.get("/authors/jose-nunez.json").json()
    assert [c["arxiv_id"] for c in twin["cards"]] == [newer, older]
    assert 'href="/authors/jose-nunez"' in client.get(f"/papers/{older}").text  # the paper page links there
    assert 'href="/authors/ada-lovelace"' in page.text  # cards link every author shown

    for fmt in ("rss", "atom"):
        feed = feedparser.parse(client.get(f"/feeds/author/jose-nunez.{fmt}").content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.feed.title == "papertide: papers by José Núñez"  # on a tie, the spelling with accents
        assert [entry.link.rsplit("/", 1)[1] for entry in feed.entries] == [newer, older]
    atom = feedparser.parse(client.get("/feeds/author/jose-nunez.atom").content)
    assert [author.name for author in atom.entries[0].authors] == ["Ada Lovelace", "Jose Nunez"]
    assert client.get("/feeds/author/nobody-here.rss").status_code == 404


HOSTILE_PATHS = [
    "/authors/" + quote("😀😀"),  # nothing left to fold
    "/authors/" + quote("a/b", safe=""),  # an encoded slash is a slash: no route
    "/authors/a/b/c",
    "/authors/" + "x" * 5000,
    "/authors/" + quote("Ωμέγα Ἀλφα ") * 200,
    "/authors/%FF%FE",  # not UTF-8
    "/authors/..%2F..%2Fetc%2Fpasswd",
    "/feeds/author/" + quote("😀") + ".rss",
    "/feeds/author/" + "y" * 5000 + ".atom",
]


def test_hostile_author_names_are_answered_cleanly(db: Database, client: TestClient) -> None:
    for path in HOSTILE_PATHS:
        response = client.get(path)  # redirects to the key are followed
        assert response.status_code == 404, (path, response.status_code)
        assert "Internal" not in response.text
    token = sign_up(client, "prober")
    for path in ("/authors/" + quote("😀") + "/follow", "/authors/" + "z" * 3000 + "/unfollow"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404


def test_follow_and_unfollow_need_a_session_and_its_csrf_token(db: Database, client: TestClient) -> None:
    older, newer, other = _papers(db)
    assert client.post("/authors/jose-nunez/follow", follow_redirects=False).status_code in (401, 403)
    token = sign_up(client, "reader")
    assert client.post("/authors/jose-nunez/follow", follow_redirects=False).status_code == 403  # no token
    done = client.post("/authors/jose-nunez/follow", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/authors/jose-nunez"
    client.post("/authors/Jose Nunez/follow", data={"csrf_token": token})  # the same author: still one follow
    page = client.get("/authors/jose-nunez").text
    assert 'action="/authors/jose-nunez/unfollow"' in page and "In your digest and personal feed" in page
    following = client.get("/following").text
    assert following.count('href="/authors/jose-nunez"') == 1 and "José Núñez" in following
    assert client.post("/authors/nobody-here/follow", data={"csrf_token": token}).status_code == 404
    made = client.post("/settings/feed-token", data={"csrf_token": token}).text
    feed_url = re.search(r'<code class="feed-url">http://[^/]+(/feeds/personal/[^<]+)</code>', made).group(1)  # type: ignore[union-attr]
    personal = feedparser.parse(client.get(feed_url).content)  # the followed author's papers, newest first
    assert [entry.link.rsplit("/", 1)[1] for entry in personal.entries] == [newer, older]
    client.post("/authors/jose-nunez/unfollow", data={"csrf_token": token})
    assert 'action="/authors/jose-nunez/follow"' in client.get("/authors/jose-nunez").text
    assert "No authors yet" in client.get("/following").text


def test_orcid_on_the_profile_is_checked_and_shown(db: Database, client: TestClient) -> None:
    token = sign_up(client, "carberry")
    bad = client.post("/settings/profile", data={"csrf_token": token, "orcid": "0000-0002-1825-0098"})
    assert bad.status_code == 400 and "checksum" in bad.text
    good = client.post("/settings/profile", data={"csrf_token": token, "orcid": "https://orcid.org/0000000218250097"})
    assert good.status_code == 200
    profile = client.get("/users/carberry").text
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in profile
    client.post("/settings/profile", data={"csrf_token": token, "orcid": ""})
    assert "orcid.org" not in client.get("/users/carberry").text


def test_opml_lists_every_followed_feed_and_a_real_parser_reads_it(
    db: Database, settings: Settings, client: TestClient
) -> None:
    _papers(db)
    token = sign_up(client, "listener")
    client.post("/authors/jose-nunez/follow", data={"csrf_token": token})
    query = 'cat:cs.CL "speculative decoding" -survey'
    search_page = client.get("/search", params={"q": query}).text  # the search page offers to follow it
    assert 'action="/following/search"' in search_page and "cat:cs.CL &#34;speculative decoding&#34;" in search_page
    assert client.post("/following/search", data={"csrf_token": token, "q": query}).status_code == 200
    refused = client.post("/following/search", data={"csrf_token": token, "q": "-only -negated"})
    assert refused.status_code == 422 and "not a search to follow" in refused.text
    with db.write_session() as session:
        user_id = session.execute(select(User.id)).scalar_one()
        wanted = Preferences(categories=("cs.CL",), organizations=("meta-ai",), authors=("Ada Lovelace",))
        subscribe(session, "listener@example.org", "daily", wanted, user_id).subscription.status = "active"

    response = client.get("/following.opml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/x-opml")
    parsed = listparser.parse(response.text)
    assert not parsed.bozo, parsed.bozo_exception
    urls = {feed.url: feed for feed in parsed.feeds}
    base = settings.base_url
    assert f"{base}/feeds/category/cs.CL.rss" in urls
    assert f"{base}/feeds/org/meta-ai.rss" in urls
    assert f"{base}/feeds/author/jose-nunez.rss" in urls and f"{base}/feeds/author/ada-lovelace.rss" in urls
    search_url = f"{base}/feeds/search.rss?q=" + quote(query, safe="").replace("%20", "+")
    assert search_url in urls, list(urls)
    assert urls[f"{base}/feeds/author/jose-nunez.rss"].title == "papertide: papers by José Núñez"
    assert {tuple(feed.categories[0]) for feed in parsed.feeds} == {
        ("Categories",),
        ("Organizations",),
        ("Authors",),
        ("Saved searches",),
    }
    assert client.get(urls[search_url].url.removeprefix(base)).status_code == 200  # each listed feed answers

    client.cookies.clear()
    assert client.get("/following.opml", follow_redirects=False).status_code in (303, 401)


def test_migration_0012_fills_the_author_keys_of_papers_stored_before_it(db: Database) -> None:
    older, newer, _ = _papers(db)
    with db.engine.begin() as connection:  # back to 0011 (its downgrade drops the table), then up again
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
        assert "paper_authors" not in inspect(connection).get_table_names()
        command.upgrade(config, "head")
    with db.read_session() as session:
        assert [row.arxiv_id for row in query_author_papers(session, "jose-nunez")] == [newer, older]
        assert query_author_papers(session, "ada-lovelace")[0].arxiv_id == newer
