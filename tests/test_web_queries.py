"""The number of SQL statements each list page and API list sends does not grow with its cards (linkding's
``*_performance.py``): every page is counted over 3 papers, then over 30, on one SQLite database (the property is
the same on PostgreSQL; the statements are the code's, not the backend's).

Every paper is featured on one day by one organization, has one shared author and the word "quantum" in its title;
the ``fan`` upvotes, comments on and collects each; ``reader`` upvoted the first two, so ``/for-you`` has the rest
to pick from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from papertide.app import create_app
from papertide.db import Database, connect
from papertide.models import Collection, Paper, User
from papertide.records import AccountRecord, AuthorRecord
from papertide.services.collections import add_to_collection
from papertide.services.embeddings import embed_pending
from papertide.services.votes import vote
from tests.helpers.databases import count_queries, fresh_database
from tests.helpers.embedder import MemoEmbedder
from tests.helpers.factories import make_collection, make_comment, make_featured, make_paper_record, make_user
from tests.helpers.settings import make_settings
from tests.helpers.web import log_in

DAY = date(2026, 7, 9)
AUTHOR = "Ada Lovelace"
ORGANIZATION = "quantum-lab"
FEW, MANY = 3, 30
PAGES = {
    "daily": f"/papers/date/{DAY}",
    "weekly": "/papers/week/2026-W28",
    "monthly": "/papers/month/2026-07",
    "trending": "/papers/trending",
    "search": "/search?q=quantum",
    "author": f"/authors/{AUTHOR}",
    "organization": f"/orgs/{ORGANIZATION}",
    "collection": "/users/fan/collections/favourites",
    "profile": "/users/fan",
    "for-you": "/for-you",
    "api v1 papers": f"/api/v1/papers?period=day&value={DAY}",
    "api v1 search": "/api/v1/search?q=quantum",
    "hf api daily papers": f"/api/daily_papers?date={DAY}",
    "hf api papers": "/api/papers",
    "hf api search": "/api/papers/search?q=quantum",
}


@dataclass
class Counts:
    """Per page: the statements it sent, and how many of the papers it showed, over FEW and over MANY papers."""

    few: dict[str, list[str]]
    many: dict[str, list[str]]
    shown_few: dict[str, int]
    shown_many: dict[str, int]


@pytest.fixture(scope="module")
def counts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: MemoEmbedder) -> Counts:
    """Every page counted with FEW papers, then with MANY. Each page is asked once before it is counted, so what a
    request does once after new papers arrive (the vector index reading the new vectors, in pages) is not counted:
    that grows with the papers added since, not with the cards shown."""
    directory = tmp_path_factory.mktemp("queries")
    with _site(request, directory) as (database, client):
        ids = _grow(database, embedder, FEW, first=True)
        few = {name: _statements(client, path, ids) for name, path in PAGES.items()}
        ids += _grow(database, embedder, MANY - FEW, first=False)
        many = {name: _statements(client, path, ids) for name, path in PAGES.items()}
    return Counts(
        {name: statements for name, (statements, _) in few.items()},
        {name: statements for name, (statements, _) in many.items()},
        {name: shown for name, (_, shown) in few.items()},
        {name: shown for name, (_, shown) in many.items()},
    )


@contextmanager
def _site(request: pytest.FixtureRequest, directory: Path) -> Iterator[tuple[Database, TestClient]]:
    """A fresh SQLite database with ``fan``'s collection, and the app over it with ``reader`` logged in."""
    with fresh_database(request, "sqlite", directory) as url:
        settings = make_settings(url, directory)
        database = connect(settings)
        with database.write_session() as session:
            make_user(session, username="reader")
            make_collection(session, owner=make_user(session, username="fan"), title="Favourites")
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            log_in(client, "reader")
            yield database, client
        database.dispose()


def _grow(database: Database, embedder: MemoEmbedder, count: int, *, first: bool) -> list[str]:
    """``count`` more papers on every page, their arXiv ids returned; ``reader`` upvotes the first two papers of the
    first batch."""
    ids: list[str] = []
    with database.write_session() as session:
        fan = _user(session, "fan")
        favourites = session.query(Collection).filter_by(owner_id=fan.id).one()
        for number in range(count):
            paper = _paper(session, ordinal=len(ids) + (0 if first else FEW))
            ids.append(paper.arxiv_id)
            vote(session, fan.id, paper.id, up=True, per_minute=10_000)
            make_comment(session, user=fan, paper=paper)
            add_to_collection(session, collection_id=favourites.id, owner_id=fan.id, paper_id=paper.id)
            if first and number < 2:
                vote(session, _user(session, "reader").id, paper.id, up=True, per_minute=10_000)
    embed_pending(database, embedder)
    return ids


def _paper(session: Session, ordinal: int) -> Paper:
    # Short texts: each paper is embedded with the real model, whose cost grows with the text.
    record = make_paper_record(
        version=None,
        title=f"Quantum matter, note {ordinal}",
        abstract="A short note.",
        authors=(AuthorRecord(AUTHOR), AuthorRecord("Ann Ho")),
    )
    return make_featured(session, paper=record, featured_on=DAY, organization=AccountRecord(name=ORGANIZATION))


def _user(session: Session, username: str) -> User:
    return session.query(User).filter_by(username=username).one()


def _statements(client: TestClient, path: str, ids: list[str]) -> tuple[list[str], int]:
    """The statements a GET of ``path`` sends through the app's own database, and how many of the papers ``ids``
    its answer shows."""
    app_database: Database = client.app.state.database  # type: ignore[attr-defined]
    assert client.get(path).status_code == 200, path
    with count_queries(app_database) as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.text[:500])
    return statements, sum(arxiv_id in response.text for arxiv_id in ids)


@pytest.mark.parametrize("page", PAGES)
def test_statements_do_not_grow_with_the_cards(counts: Counts, page: str) -> None:
    few, many = counts.few[page], counts.many[page]
    assert few, f"{page}: no statement counted (the count watches another engine than the app's)"
    assert len(many) == len(few), f"{page}: {len(few)} statements over {FEW} papers, {len(many)} over {MANY}"


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_show_more_cards_over_more_papers(counts: Counts, page: str) -> None:
    """The counts above are over pages whose cards grew: a page that showed no papers would count nothing."""
    assert FEW - 2 <= counts.shown_few[page] < counts.shown_many[page], (
        counts.shown_few[page],
        counts.shown_many[page],
    )
