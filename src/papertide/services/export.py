"""Export and import: every row of papertide's content tables, so no instance's data is ever trapped.

An export is JSON lines: a header ``{"papertide_export": 1, "revision": …}``, then ``{"table": …, "row": {…}}`` for
each row of ``TABLES`` in dependency order, keeping ids (an import fills a fresh instance, so ids cannot clash and
every reference stays valid). Dates and times are ISO strings. Left out, on purpose: vectors (the embed job
rebuilds them from the text), derived rows (the name keys of ``paper_authors``: an import rebuilds them), secrets
(API and feed tokens: their owners make new ones), and operational state (rate-limit counters, leases, ingest
checkpoints). Parquet writes one file per table with the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from papertide.db import Database, current_revision
from papertide.models import (
    AlertDelivery,
    Collection,
    CollectionItem,
    Comment,
    DigestDelivery,
    FeaturedPaper,
    Follow,
    Organization,
    OrganizationMember,
    Paper,
    PaperCategory,
    PaperDismissal,
    Subscription,
    User,
    Vote,
)
from papertide.services.papers import reindex_authors

FORMAT_VERSION = 1
TABLES: tuple[Table, ...] = tuple(
    model.__table__  # type: ignore[misc]
    for model in (
        Paper,
        PaperCategory,
        User,
        Follow,
        Organization,
        OrganizationMember,
        FeaturedPaper,
        Vote,
        Comment,
        Collection,
        CollectionItem,
        PaperDismissal,
        Subscription,
        DigestDelivery,
        AlertDelivery,
    )
)
_BY_NAME = {table.name: table for table in TABLES}
BATCH = 2_000


class ExportError(ValueError):
    """A file that is not a papertide export, or a target that is not empty; the message says what to do."""


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _parser(column: Any) -> Callable[[str], Any] | None:
    stored = column.type.impl if isinstance(column.type, TypeDecorator) else column.type  # UtcDateTime
    try:
        kind = stored.python_type
    except NotImplementedError:  # JSON columns come back as they went in
        return None
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    return None


_PARSERS = {table.name: {c.name: _parser(c) for c in table.columns} for table in TABLES}


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    parsers = _PARSERS[table.name]
    decoded = {}
    for name, value in row.items():
        if name not in parsers:
            raise ExportError(f"{table.name} has no column {name!r}: the export comes from another papertide version")
        parse = parsers[name]
        decoded[name] = parse(value) if parse is not None and isinstance(value, str) else value
    return decoded


def export_rows(
    session: Session, tables: Iterable[Table] = TABLES, *, password_hashes: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table name, JSON-ready row) for every row, in dependency order and primary-key order within a table.

    Password hashes stay on the instance unless ``password_hashes`` (only the operator's CLI asks for them):
    accounts imported without one sign in again through "Forgot your password?"."""
    for table in tables:
        order = list(table.primary_key.columns)
        for row in session.execute(select(table).order_by(*order)).mappings().yield_per(BATCH):
            encoded = {key: _encode(value) for key, value in row.items()}
            if table.name == "users" and not password_hashes:
                encoded["password_hash"] = None
            yield table.name, encoded


def jsonl_lines(database: Database, *, password_hashes: bool = False) -> Iterator[str]:
    """The export, line by line, from one read transaction (a consistent snapshot on both engines)."""
    header = {"papertide_export": FORMAT_VERSION, "revision": current_revision(database)}
    yield json.dumps(header) + "\n"
    with database.read_session() as session:
        for table, row in export_rows(session, password_hashes=password_hashes):
            yield json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n"


def write_jsonl(
    database: Database,
    out: TextIO,
    progress: Callable[[int], None] | None = None,
    *,
    password_hashes: bool = False,
) -> int:
    """Write the export; returns the number of rows (the header line not counted)."""
    rows = -1
    for rows, line in enumerate(jsonl_lines(database, password_hashes=password_hashes)):
        out.write(line)
        if progress and rows % BATCH == 0:
            progress(rows)
    return rows


def write_parquet(database: Database, folder: Path, *, password_hashes: bool = False) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ExportError("Parquet needs pyarrow: pip install 'papertide[parquet]' (or use --format jsonl)") from error
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    with database.read_session() as session:
        for table in TABLES:
            rows = [row for _, row in export_rows(session, [table], password_hashes=password_hashes)]
            # JSON columns (authors, versions, preferences) go in as JSON text: Parquet wants one type per column.
            flat = [{k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()} for row in rows]
            names = [column.name for column in table.columns]
            arrow = (
                pa.Table.from_pylist(flat) if flat else pa.table({name: pa.array([], pa.string()) for name in names})
            )
            pq.write_table(arrow, folder / f"{table.name}.parquet")
            total += len(rows)
    return total


def read_jsonl(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    iterator = iter(lines)
    try:
        header = json.loads(next(iterator))
    # ValueError: not JSON, or an integer of more than 4,300 digits; RecursionError: nested past the reader's depth.
    except (StopIteration, ValueError, RecursionError) as error:
        raise ExportError("the file is empty or not JSON lines: give a file written by `papertide export`") from error
    if not isinstance(header, dict) or header.get("papertide_export") != FORMAT_VERSION:
        raise ExportError("the first line is not a papertide export header: give a file written by `papertide export`")
    for number, line in enumerate(iterator, start=2):
        try:
            record = json.loads(line)
            yield record["table"], record["row"]
        except (ValueError, RecursionError, KeyError, TypeError) as error:
            raise ExportError(f"line {number} is not an export record; the file is damaged") from error


def import_rows(
    database: Database, records: Iterable[tuple[str, dict[str, Any]]], progress: Callable[[int], None] | None = None
) -> int:
    """Load an export into an empty instance (ids kept), in one transaction: all of it or nothing."""
    with database.write_session() as session:
        if session.scalar(select(func.count()).select_from(Paper)) or session.scalar(
            select(func.count()).select_from(User)
        ):
            raise ExportError("the target database is not empty: import into a fresh instance (papertide db upgrade)")
        batch: list[dict[str, Any]] = []
        current: Table | None = None
        count = 0
        for name, row in records:
            table = _BY_NAME.get(name)
            if table is None:
                raise ExportError(f"unknown table {name!r}: the export comes from another papertide version")
            if current is not None and (table is not current or len(batch) >= BATCH):
                session.execute(insert(current), batch)
                batch = []
            current = table
            batch.append(_decode(table, row))
            count += 1
            if progress and count % BATCH == 0:
                progress(count)
        if current is not None and batch:
            session.execute(insert(current), batch)
        reindex_authors(session)
        if session.get_bind().dialect.name == "postgresql":
            _advance_sequences(session)
    return count


def _advance_sequences(session: Session) -> None:
    """Rows came in with their ids; move each id sequence past them so new rows do not collide."""
    for table in TABLES:
        if "id" in table.columns and len(table.primary_key.columns) == 1:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def user_data(session: Session, user_id: int) -> dict[str, Any]:
    """Everything papertide holds about one user, for their own download (no password hash, no tokens)."""
    user = session.get_one(User, user_id)
    profile = {c.name: _encode(getattr(user, c.name)) for c in User.__table__.columns if c.name != "password_hash"}
    arxiv = {pid: aid for pid, aid in session.execute(select(Paper.id, Paper.arxiv_id))}

    def rows(statement: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        found = session.execute(statement).mappings()
        return [{k: _encode(v) for k, v in row.items() if k not in drop} for row in found]

    votes = rows(select(Vote.paper_id, Vote.created_at).where(Vote.user_id == user_id))
    comments = rows(
        select(
            Comment.id, Comment.paper_id, Comment.parent_id, Comment.body, Comment.created_at, Comment.deleted
        ).where(Comment.user_id == user_id)
    )
    collections = rows(select(*Collection.__table__.columns).where(Collection.owner_id == user_id))
    for collection in collections:
        items = select(CollectionItem.paper_id, CollectionItem.note, CollectionItem.added_at).where(
            CollectionItem.collection_id == collection["id"]
        )
        collection["items"] = rows(items)
    for entry in [*votes, *comments, *(i for c in collections for i in c["items"])]:
        entry["arxiv_id"] = arxiv.get(entry["paper_id"])
    subscriptions = rows(select(*Subscription.__table__.columns).where(Subscription.user_id == user_id))
    follows = rows(select(Follow.kind, Follow.key, Follow.label, Follow.created_at).where(Follow.user_id == user_id))
    return {
        "papertide_user_export": FORMAT_VERSION,
        "profile": profile,
        "votes": votes,
        "comments": comments,
        "collections": collections,
        "subscriptions": subscriptions,
        "follows": follows,
    }
