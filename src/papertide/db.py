"""Engines, sessions and migrations: the one owner of database connections and their concurrency rules.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout; every write transaction
starts with ``BEGIN IMMEDIATE`` so a writer takes the lock up front instead of failing half way through when a
second writer appears (one writer at a time, any number of readers). PostgreSQL gets a plain pooled engine.
Callers use :func:`read_session` and :func:`write_session`; nothing else creates sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import QueryableAttribute, Session

from papertide.config import Settings

_WRITE_OPTION = "papertide_write"
POOL_WAIT_SECONDS = 30


class Database:
    """An engine plus the session factories every layer uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
        finally:
            try:
                session.close()
            except DBAPIError as error:
                # Closing rolls back; on a connection the server cut (restart, failover) there is nothing to roll
                # back, and the pool has already dropped it. Raising here would fail a response already sent.
                if classify_database_error(error) != "unavailable":
                    raise

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def connect(settings: Settings) -> Database:
    return Database(make_engine(settings.resolved_database_url, settings))


def make_engine(url: str, settings: Settings, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url`` (``pool_size``: exactly that many connections on PostgreSQL, else the settings')."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Fail fast when PostgreSQL is away: a short connect timeout and pool wait turn an outage into quick 503s
        # instead of requests piling up; pre-ping replaces connections that died with the server, so nothing needs
        # restarting once it is back.
        options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
        return create_engine(
            url,
            pool_size=pool_size or settings.db_pool_size,
            max_overflow=0 if pool_size else 10,
            # Waiting for a free pooled connection is load, not an outage (an outage fails at connect): queue.
            pool_timeout=POOL_WAIT_SECONDS,
            pool_pre_ping=True,
            connect_args={"connect_timeout": settings.db_connect_timeout_seconds, "options": options},
            future=True,
        )
    # A `file:` URI (``?mode=ro&uri=true``) names a file that must already exist; only a plain path gets its folder.
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, future=True)
    _configure_sqlite(engine, settings.sqlite_busy_timeout_ms, settings.sqlite_cache_mb)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, cache_mb: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to issue (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writing = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("papertide") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; safe to run on every start."""
    with database.engine.begin() as connection:
        if not database.is_sqlite:
            connection.exec_driver_sql("SET statement_timeout = 0")  # an index build on millions of rows takes time
        config = alembic_config(str(database.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str:
    """The newest migration this papertide ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def without_password(url: str) -> str:
    """A database URL fit to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def insert_ignoring_conflicts(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT that does nothing when a unique key already exists; True when a row was inserted.

    Used where concurrent requests race to create the same row (one vote per user and paper): the database
    decides, so fifty simultaneous clicks leave exactly one row on SQLite and PostgreSQL alike.
    """
    dialect = session.get_bind().dialect.name
    insert_for = sqlite_insert if dialect == "sqlite" else postgresql_insert
    table = cast(Table, model.__table__)
    # RETURNING rather than rowcount: PostgreSQL's driver reports rowcount unreliably for implicit RETURNING.
    statement = insert_for(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return session.execute(statement).first() is not None


QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout (or a cancel)
_UNAVAILABLE_MARKERS = (
    "connection refused",
    "could not connect",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "connection timeout",
    "timeout expired",
    "database is locked",
    "canceling statement due to statement timeout",
)


def among(session: Session, column: QueryableAttribute[Any], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids`` for a long list of ids as one parameter (rendering and binding a thousand parameters costs
    milliseconds): a JSON array on SQLite, an array literal on PostgreSQL (psycopg's list adapter took 1.1 ms for
    a thousand ids, the literal 0.6 ms; ``str`` of each id without ``int`` first: 10 → 5–8 ms for 50,000)."""
    if session.get_bind().dialect.name == "postgresql":
        literal = "{" + ",".join(map(str, ids)) + "}"
        return column == any_(bindparam(None, literal, type_=String).cast(ARRAY(column.type)))
    values: Any = select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(list(ids)))))
    return column.in_(values.scalar_subquery())


def refresh_statistics(database: Database) -> None:
    """Refresh the query planner's statistics after a bulk write. Without them SQLite guesses that
    ``papers.hidden = 0`` is selective and drives a daily page through every paper by that index (380 ms at 2.7M
    papers, against under 1 ms with statistics); PostgreSQL's autovacuum would get there, later."""
    with database.write_session() as session:
        if database.is_sqlite:
            session.execute(text("PRAGMA analysis_limit = 1000"))  # sampled: 13 s on a 16 GB file, not minutes
        session.execute(text("ANALYZE"))


DatabaseErrorKind = Literal["full", "read_only", "io", "corrupt", "unavailable", "timeout", "other"]
# SQLSTATEs: a write on a hot standby or under default_transaction_read_only; an I/O error reading or writing a
# data file; a page or an index the server found damaged.
_READ_ONLY_SQLSTATES = frozenset({"25006"})
_IO_SQLSTATES = frozenset({"58030"})
_CORRUPT_SQLSTATES = frozenset({"XX001", "XX002"})


def classify_database_error(error: DBAPIError) -> DatabaseErrorKind:
    """Whether a database error means a full disk, a database that refuses writes (a read-only file, file system
    or standby), a disk that failed a read or write, a damaged database file, a database that is away or busy
    (worth retrying after a while), a statement stopped at ``PAPERTIDE_DB_STATEMENT_TIMEOUT_MS`` (none of them a
    bug), or anything else."""
    text = str(error.orig).lower()
    if "disk is full" in text or "no space left" in text or "could not extend file" in text:
        return "full"
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate == QUERY_CANCELED:
        return "timeout"
    # sqlite3 names the result code (SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE, …): sturdier than its message.
    sqlite_code = str(getattr(error.orig, "sqlite_errorname", ""))
    if sqlstate in _READ_ONLY_SQLSTATES or sqlite_code.startswith("SQLITE_READONLY"):
        return "read_only"
    if sqlstate in _IO_SQLSTATES or sqlite_code.startswith("SQLITE_IOERR"):
        return "io"
    if sqlstate in _CORRUPT_SQLSTATES or sqlite_code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return "corrupt"
    # psycopg's OperationalError is about the server or the connection; sqlite3's also covers our own SQL mistakes.
    server_side = type(error.orig).__module__.startswith("psycopg") and isinstance(
        error, (OperationalError, InterfaceError)
    )
    if error.connection_invalidated or server_side or any(marker in text for marker in _UNAVAILABLE_MARKERS):
        return "unavailable"
    return "other"
