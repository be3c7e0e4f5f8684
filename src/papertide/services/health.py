"""Readiness: whether this process can serve from its database right now, for the ``/readyz`` probe.

``check_readiness`` reads the schema revision (it must be the migrations head this release ships), reads a row of
``papers``, and for a process that writes checks that the database accepts a write: on SQLite a write inside
``BEGIN IMMEDIATE`` on a connection of its own, rolled back; on PostgreSQL ``SHOW transaction_read_only``. It
leaves nothing behind. Problems are short fixed phrases (the probe is public); the database's own words are logged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import cast

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from papertide.db import Database, DatabaseErrorKind, classify_database_error, current_revision, head_revision
from papertide.models import Paper

log = logging.getLogger(__name__)

READ_ONLY = "the database refuses writes (read-only)"
_PROBLEMS: dict[DatabaseErrorKind, str] = {
    "full": "the disk holding the database is full",
    "read_only": READ_ONLY,
    "io": "the disk failed to read or write the database",
    "corrupt": "the database file is damaged",
    "unavailable": "the database is not reachable or is busy",
    "timeout": "the database did not answer in time",
    "other": "the database answered with an error",
}


@dataclass(frozen=True)
class Readiness:
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_readiness(database: Database, *, writes: bool) -> Readiness:
    """Whether ``database`` is at this release's schema and readable (and, with ``writes``, writable)."""
    try:
        problems = _read_problems(database)
        if writes and not problems:
            problems = _write_problems(database)
    except DBAPIError as error:
        log.warning("not ready: %s: %s", type(error.orig).__name__, error.orig)
        problems = [_PROBLEMS[classify_database_error(error)]]
    except SQLAlchemyError as error:  # no pooled connection free in time: busy, and so not ready for more
        log.warning("not ready: %s", error)
        problems = [_PROBLEMS["unavailable"]]
    return Readiness(tuple(problems))


_head_revision = cache(head_revision)  # parsing the migration scripts takes milliseconds; the head never changes


def _read_problems(database: Database) -> list[str]:
    revision, head = current_revision(database), _head_revision()
    if revision != head:
        return [f"the database schema is at revision {revision or 'none'}, this release needs {head} (db upgrade)"]
    with database.read_session() as session:
        session.execute(select(Paper.id).limit(1)).all()
    return []


def _write_problems(database: Database) -> list[str]:
    if not database.is_sqlite:
        with database.read_session() as session:
            read_only = session.scalar(text("SHOW transaction_read_only"))  # on for a standby and for the setting
        return [READ_ONLY] if read_only == "on" else []
    with _fresh_sqlite_connection(database) as connection:
        connection.execute("PRAGMA busy_timeout = 0")  # a writer at work holds the lock: proof enough, no waiting
        try:
            connection.execute("BEGIN IMMEDIATE")
            # BEGIN IMMEDIATE succeeds on a read-only file; the first write is where SQLite refuses.
            connection.execute("CREATE TABLE papertide_readiness_probe (id INTEGER)")
        except sqlite3.Error as error:
            if error.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                return []
            raise DBAPIError(None, None, error) from error
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
    return []


@contextmanager
def _fresh_sqlite_connection(database: Database) -> Iterator[sqlite3.Connection]:
    """A new connection set up like the pool's (same URL, same pragmas), closed afterwards. A pooled one would not
    do: a connection opened before the file system went read-only still takes writes into its cache and fails
    only at commit, while every new connection opens the file read-only."""
    pool = database.engine.pool.recreate()
    try:
        connection = pool.connect()
        try:
            yield cast(sqlite3.Connection, connection.driver_connection)
        finally:
            connection.close()
    finally:
        pool.dispose()
