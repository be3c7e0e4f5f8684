"""Shared fixtures: a fresh, migrated database per test on SQLite and on a real PostgreSQL, and settings.

Database-backed tests take the ``db`` fixture and run once per backend. SQLite copies a migrated template file;
PostgreSQL clones a migrated template database in a throwaway cluster started once per test process. A
PostgreSQL that cannot start fails the tests that need it: nothing is skipped for a missing service.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, connect, upgrade
from papertide.search.embedder import Embedder, load_embedder, text_hash
from papertide.search.semantic import Semantic, open_semantic
from papertide.services.accounts import configure_password_hashing
from tests.pg import PostgresCluster
from tests.replay_server import FakeClock, ReplayServer
from tests.smtp_sink import SmtpSink

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BACKENDS = ["sqlite", "postgresql"]
_database_numbers = itertools.count()


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "arxiv_min_interval": 0.0,
        "http_backoff": 0.0,
        # Tests write to the database behind the app's back; tests/test_web_cache.py covers the cache itself.
        "page_cache_seconds": 0.0,
        # Tests run the embed job themselves; tests/test_jobs.py covers the background scheduler.
        "jobs_interval_seconds": 0.0,
        # Passwords hashed at argon2's least cost: hundreds of sign-ups and log-ins would cost a minute of CPU at the
        # production cost (the cost itself is argon2-cffi's to test; tests/test_accounts_security.py checks a change
        # of cost rehashes at log-in).
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 64,
        "password_hash_parallelism": 1,
        # Nothing reaches the real hosts: a closed loopback port, unless a test points a source at its replay server.
        "hf_url": "http://127.0.0.1:9",
        "arxiv_api_url": "http://127.0.0.1:9/api/query",
        "arxiv_oai_url": "http://127.0.0.1:9/oai2",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


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
    _admin_execute(admin_url, "DROP DATABASE IF EXISTS papertide_template")
    _admin_execute(admin_url, "CREATE DATABASE papertide_template")
    template_url = admin_url.rsplit("/", 1)[0] + "/papertide_template"
    database = connect(make_settings(template_url, Path("/nonexistent")))
    upgrade(database)
    database.dispose()


def _admin_execute(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> Iterator[str]:
    """A new, migrated, empty database on ``backend`` (a copy of the template); removed afterwards."""
    number = next(_database_numbers)
    if backend == "sqlite":
        path = directory / f"papertide-{number}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin_url = request.getfixturevalue("postgres_server")
    name = f"papertide_test_{os.getpid()}_{number}"
    _admin_execute(admin_url, f"CREATE DATABASE {name} TEMPLATE papertide_template")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under a real uvicorn server on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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


class MemoEmbedder:
    """The real default model, remembering what it encoded: both backends embed the same papers once, and so do the
    xdist workers, through ``shared`` (a folder of this test run): one embeds, the others wait for it and read."""

    def __init__(self, inner: Embedder, shared: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.memory: dict[str, np.ndarray] = {}
        self.shared = shared

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memory]
        if missing:
            self._recall_or_encode(missing)
        return np.vstack([self.memory[t] for t in texts]) if texts else np.zeros((0, self.dimensions), np.float32)

    def _recall_or_encode(self, texts: list[str]) -> None:
        files = {text: self.shared / f"{text_hash(text)}.npy" for text in texts}
        with (self.shared / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            self.memory.update((text, np.load(file)) for text, file in files.items() if file.exists())
            missing = [text for text in texts if text not in self.memory]
            if missing:
                self.memory.update(zip(missing, self.inner.encode(missing), strict=True))
                for text in missing:
                    np.save(files[text], self.memory[text])


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


EMBEDDED_LINES = 250


@pytest.fixture
def embedded_corpus(db: Database, shared_data: Path, tmp_path: Path, embedder: MemoEmbedder) -> Database:
    """The first EMBEDDED_LINES real snapshot records, ingested and embedded with the real model."""
    from papertide.services.embeddings import embed_pending
    from papertide.services.ingest import ingest_snapshot
    from tests.test_ingest_cli import snapshot_subset

    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", EMBEDDED_LINES))
    embed_pending(db, embedder)
    return db


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback that keeps the messages it accepts."""
    with SmtpSink() as sink:
        yield sink


def mail_settings(settings: Settings, smtp: SmtpSink, **overrides: object) -> Settings:
    """``settings`` pointed at the sink: plain SMTP on loopback, no retry waits."""
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "digest_retry_backoff": 0.0,
        "base_url": "http://testserver",
        "mail_from": "papertide <digest@papertide.test>",
    }
    values.update(overrides)
    return settings.model_copy(update=values)
