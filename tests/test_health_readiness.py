"""Readiness (services/health.py) on real databases: healthy on both backends and leaving nothing behind, busy is
still ready, and not ready for a read-only SQLite file or PostgreSQL database, a damaged file, or an old schema."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, text

from papertide.db import Database, connect, upgrade
from papertide.services.health import READ_ONLY, check_readiness
from tests.helpers.databases import fresh_database, set_read_only
from tests.helpers.settings import make_settings

DAMAGED = "the database file is damaged"


def _tables(database: Database) -> list[str]:
    return sorted(inspect(database.engine).get_table_names())


def _sqlite_path(database: Database) -> Path:
    assert database.engine.url.database is not None
    return Path(database.engine.url.database)


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with fresh_database(request, "sqlite", tmp_path) as url:
        database = connect(make_settings(url, tmp_path))
        yield database
        database.dispose()


def _query_only(database: Database) -> None:
    """Every new connection refuses writes (SQLite's PRAGMA query_only)."""

    @event.listens_for(database.engine, "connect")
    def _refuse_writes(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    database.engine.dispose()  # connections already pooled were opened writable


def test_a_healthy_database_is_ready_and_the_write_check_leaves_nothing_behind(db: Database) -> None:
    before = _tables(db)
    assert check_readiness(db, writes=True).ok
    assert check_readiness(db, writes=False).ok
    assert _tables(db) == before


def test_a_writer_at_work_does_not_make_the_database_unready(sqlite_db: Database) -> None:
    with sqlite_db.write_session() as session:  # BEGIN IMMEDIATE: this transaction holds the write lock
        session.execute(text("UPDATE alembic_version SET version_num = version_num"))
        started = time.monotonic()
        readiness = check_readiness(sqlite_db, writes=True)
    assert readiness.ok, readiness.problems
    assert time.monotonic() - started < 1, "the probe must not wait out the busy timeout"


def test_a_sqlite_file_opened_read_only_is_readable_but_not_ready_for_writes(sqlite_db: Database) -> None:
    read_only = Database(create_engine(f"sqlite:///file:{_sqlite_path(sqlite_db)}?mode=ro&uri=true"))
    try:
        assert check_readiness(read_only, writes=True).problems == (READ_ONLY,)
        assert check_readiness(read_only, writes=False).ok
    finally:
        read_only.dispose()


def test_sqlite_with_query_only_is_not_ready_for_writes(sqlite_db: Database) -> None:
    _query_only(sqlite_db)
    assert check_readiness(sqlite_db, writes=True).problems == (READ_ONLY,)
    assert check_readiness(sqlite_db, writes=False).ok


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_sqlite_file_is_not_ready(sqlite_db: Database, tmp_path: Path, damage: str) -> None:
    path = tmp_path / f"{damage}.db"
    if damage == "garbage":
        path.write_bytes(b"this is not a database " * 400)
    else:
        sqlite_db.dispose()
        shutil.copy(_sqlite_path(sqlite_db), path)
        with path.open("r+b") as file:
            file.truncate(3 * 4096)  # the header and a few pages; the schema points past the end
    damaged = connect(make_settings(f"sqlite:///{path}", tmp_path))
    try:
        assert check_readiness(damaged, writes=False).problems == (DAMAGED,)
    finally:
        damaged.dispose()


def test_a_database_behind_the_migrations_is_not_ready(tmp_path: Path) -> None:
    database = connect(make_settings(f"sqlite:///{tmp_path / 'old.db'}", tmp_path))
    try:
        assert "revision none" in check_readiness(database, writes=False).problems[0]
        upgrade(database, "0001")
        (problem,) = check_readiness(database, writes=True).problems
        assert "revision 0001" in problem and "db upgrade" in problem
    finally:
        database.dispose()


def test_a_read_only_postgresql_database_is_not_ready_for_writes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with fresh_database(request, "postgresql", tmp_path) as url:
        set_read_only(request, url)
        database = connect(make_settings(url, tmp_path))
        try:
            assert check_readiness(database, writes=True).problems == (READ_ONLY,)
            assert check_readiness(database, writes=False).ok
        finally:
            database.dispose()


def test_a_damaged_file_over_http_is_unready_alive_and_says_so(sqlite_db: Database, tmp_path: Path) -> None:
    """What the second audit could not run, over HTTP: the probe is unready (503), liveness holds (the process is
    fine) and pages say the file is damaged (``papertide serve`` refuses such a file: docs/deployment.md)."""
    from fastapi.testclient import TestClient

    from papertide.app import create_app

    sqlite_db.dispose()
    path = tmp_path / "truncated.db"
    shutil.copy(_sqlite_path(sqlite_db), path)
    with path.open("r+b") as file:
        file.truncate(3 * 4096)
    settings = make_settings(f"sqlite:///{path}", tmp_path, semantic_search=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["problems"] == [DAMAGED]
        assert client.get("/healthz").status_code == 200
        page = client.get("/")
        assert page.status_code == 500 and "The database file is damaged" in page.text
