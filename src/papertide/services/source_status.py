"""Source health: each automatic source's cursor and how its last run went, in ``source_states``.

The harvest of followed categories, the Daily Papers mirror and enrichment call :func:`record_run` when a run
ends, whether the CLI or the worker ran it; ``papertide sources status``, the admin page and ``/metrics`` read
:func:`source_states`. A failed run keeps its counts and error; the error (and its time) stays after later
successes until another error replaces it, so an operator sees what went wrong yesterday too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.db import Database, insert_ignoring_conflicts
from papertide.models import SourceState, utcnow
from papertide.records import IngestCounts
from papertide.services.automatic import AUTOMATIC_SOURCES

Source = str  # an automatic source's name (services/automatic.py declares them)
MAX_ERROR_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: Source
    cursor: str | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_result: str | None  # added, updated, unchanged, failed, offline; None before the first run
    added: int
    updated: int
    unchanged: int
    failures: int  # failed runs in a row
    last_error: str | None
    last_error_at: datetime | None


def run_result(counts: IngestCounts, error: str | None) -> str:
    """One word for a run: failed, else added when it added anything, updated, or unchanged."""
    if error:
        return "failed"
    return "added" if counts.added else "updated" if counts.updated else "unchanged"


def record_run(
    database: Database,
    source: Source,
    counts: IngestCounts,
    *,
    started_at: datetime,
    error: str | None = None,
    cursor: str | None = None,
) -> None:
    """Store how a run of ``source`` ended; ``cursor`` (where the next run starts) only moves when given."""
    now = utcnow()
    with database.write_session() as session:
        state = _state(session, source)
        state.last_started_at, state.last_finished_at = started_at, now
        state.last_result = run_result(counts, error)
        state.added, state.updated, state.unchanged = counts.added, counts.updated, counts.unchanged
        state.failures = state.failures + 1 if error else 0
        if error:
            state.last_error, state.last_error_at = error[:MAX_ERROR_CHARS], now
        if cursor is not None:
            state.cursor = cursor


def record_offline(database: Database, source: Source, host: str) -> None:
    """The schedule left ``source`` for later because ``host`` does not resolve: shown as its state until a run
    happens. Not a failed run (it never started), so the failure streak stays as it was; stored once per outage."""
    with database.write_session() as session:
        state = _state(session, source)
        if state.last_result == "offline":
            return
        state.last_result = "offline"
        state.last_error = f"{host} does not resolve (no network?): the schedule tries again at each check"
        state.last_error_at = utcnow()


def load_cursor(database: Database, source: Source) -> str | None:
    with database.read_session() as session:
        return session.execute(select(SourceState.cursor).where(SourceState.source == source)).scalar()


def source_states(session: Session) -> dict[Source, SourceStatus]:
    """Every automatic source's state; a source that never ran has an empty one."""
    stored = {state.source: state for state in session.execute(select(SourceState)).scalars()}
    return {source.name: _status(source.name, stored.get(source.name)) for source in AUTOMATIC_SOURCES}


def _state(session: Session, source: Source) -> SourceState:
    # Several schedulers may record the same source's first state at once: the row is created idempotently, then
    # locked, so none of them fails on the primary key.
    empty = {"source": source, "added": 0, "updated": 0, "unchanged": 0, "failures": 0}
    insert_ignoring_conflicts(session, SourceState, empty)
    state = session.get(SourceState, source, with_for_update=True, populate_existing=True)
    assert state is not None
    return state


def _status(source: Source, state: SourceState | None) -> SourceStatus:
    if state is None:
        return SourceStatus(source, None, None, None, None, 0, 0, 0, 0, None, None)
    return SourceStatus(
        source,
        state.cursor,
        state.last_started_at,
        state.last_finished_at,
        state.last_result,
        state.added,
        state.updated,
        state.unchanged,
        state.failures,
        state.last_error,
        state.last_error_at,
    )
