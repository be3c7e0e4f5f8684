"""Shared fixtures, and the one place that starts servers: a fresh, migrated database per test on SQLite and on a
real PostgreSQL, settings, the app in process and under uvicorn, the replay server, the SMTP sink and the real model.

Database-backed tests take the ``db`` fixture and run once per backend. SQLite copies a migrated template file;
PostgreSQL clones a migrated template database in a throwaway cluster started once per test process. A
PostgreSQL that cannot start fails the tests that need it: nothing is skipped for a missing service. What test
modules import (factories, clients, settings, the servers themselves) lives in ``tests/helpers/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, connect, upgrade
from papertide.search.embedder import load_embedder
from papertide.search.semantic import Semantic, open_semantic
from papertide.services.accounts import configure_password_hashing
from papertide.services.embeddings import embed_pending
from papertide.services.ingest import ingest_snapshot
from tests.helpers.data import EMBEDDED_LINES, SHARED_DATA, snapshot_subset
from tests.helpers.databases import BACKENDS, admin_execute, fresh_database
from tests.helpers.embedder import MemoEmbedder
from tests.helpers.postgres import PostgresCluster
from tests.helpers.replay import FakeClock, ReplayServer
from tests.helpers.servers import serving
from tests.helpers.settings import make_settings
from tests.helpers.smtp import SmtpSink


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Services called straight from tests hash at the test settings' cost too, not only those an app calls."""
    configure_password_hashing(make_settings("sqlite://", tmp_path_factory.mktemp("cost")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared test data is missing: expected {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = connect(make_settings(f"sqlite:///{path}", path.parent))
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server holding a migrated ``papertide_template`` database."""
    external = os.environ.get("PAPERTIDE_TEST_POSTGRES_URL")
    cluster = None if external else PostgresCluster.start()
    admin_url = external or cluster.url()  # type: ignore[union-attr]
    try:
        _create_template(admin_url)
        yield admin_url
    finally:
        if cluster is not None:
            cluster.stop()


def _create_template(admin_url: str) -> None:
    admin_execute(admin_url, "DROP DATABASE IF EXISTS papertide_template")
    admin_execute(admin_url, "CREATE DATABASE papertide_template")
    template_url = admin_url.rsplit("/", 1)[0] + "/papertide_template"
    database = connect(make_settings(template_url, Path("/nonexistent")))
    upgrade(database)
    database.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def second_database(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Database]:
    """Another fresh database on the same backend as ``db``, to compare two runs side by side."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh_database(request, backend, tmp_path) as url:
        database = connect(make_settings(url, tmp_path))
        yield database
        database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = connect(settings)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn server, for concurrency and browser tests."""
    with serving(app) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock whose sleep only moves time: rate limits and backoff, measured without waiting."""
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ReplayServer]:
    """A real HTTP server on loopback replaying recorded responses, stamping requests with ``clock``."""
    with ReplayServer(clock=clock) as replay:
        yield replay


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MemoEmbedder:
    # The xdist workers' bases sit in one folder made for this run (a run without them has its base alone), so the
    # vectors never outlive the run, and the code, that made them.
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "embedder-vectors"
    shared.mkdir(exist_ok=True)
    return MemoEmbedder(load_embedder(), shared)


@pytest.fixture
def semantic(settings: Settings, embedder: MemoEmbedder) -> Iterator[Semantic]:
    """The semantic side over the test database, with the real model."""
    opened = open_semantic(settings, embedder)
    assert opened is not None
    yield opened
    opened.close()


@pytest.fixture
def embedded_corpus(db: Database, shared_data: Path, tmp_path: Path, embedder: MemoEmbedder) -> Database:
    """The first EMBEDDED_LINES real snapshot records, ingested and embedded with the real model."""
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", EMBEDDED_LINES))
    embed_pending(db, embedder)
    return db


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback that keeps the messages it accepts."""
    with SmtpSink() as sink:
        yield sink
