"""Test databases beyond the ``db`` fixture: a fresh migrated one on either backend, statements run as the
PostgreSQL administrator, a database turned read-only, the statements a block of code sends, and the content
hashes of every paper (to compare two databases or two runs)."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text

from papertide.db import Database
from papertide.models import Paper

BACKENDS = ["sqlite", "postgresql"]
# For a test where the database plays no part (routing, rendering, parsing): it runs once, on SQLite.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
_database_numbers = itertools.count()


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> Iterator[str]:
    """A new, migrated, empty database on ``backend`` (a copy of conftest's template); removed afterwards."""
    number = next(_database_numbers)
    if backend == "sqlite":
        path = directory / f"papertide-{number}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin_url = request.getfixturevalue("postgres_server")
    name = f"papertide_test_{os.getpid()}_{number}"
    admin_execute(admin_url, f"CREATE DATABASE {name} TEMPLATE papertide_template")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def admin_execute(admin_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE and DROP DATABASE refuse to run inside one)."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def set_read_only(request: pytest.FixtureRequest, url: str) -> None:
    """New sessions of the PostgreSQL test database at ``url`` run read-only, as on a standby."""
    name = url.rsplit("/", 1)[1]
    admin_execute(
        request.getfixturevalue("postgres_server"), f"ALTER DATABASE {name} SET default_transaction_read_only = on"
    )


@contextmanager
def count_queries(database: Database) -> Iterator[list[str]]:
    """The SQL statements ``database`` sends inside the block, in order."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def content_hashes(database: Database) -> dict[str, str]:
    with database.read_session() as session:
        return dict(session.execute(select(Paper.arxiv_id, Paper.content_hash)).all())
