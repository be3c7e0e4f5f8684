"""What every ``papertide`` command shares: the console, the "nothing new" exit code, opening (and checking the
schema of) the database, progress bars, turning expected errors into one red line, refreshing the keyword index.
The commands live in the other modules of ``papertide.cli``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from papertide.arxiv_ids import InvalidArxivId
from papertide.config import Settings, get_settings
from papertide.db import Database, connect, current_revision, head_revision, upgrade
from papertide.search.tantivy_keyword import sync_keyword_index
from papertide.sources.hf_daily import DailyFileError
from papertide.sources.http import SourceUnavailable
from papertide.sources.oai import OaiError
from papertide.sources.snapshot import SnapshotFileError

EXIT_NOTHING_NEW = 3
console = Console(stderr=True)


def ensure_schema(database: Database, settings: Settings) -> None:
    if settings.is_sqlite:
        upgrade(database)
        return
    current = current_revision(database)
    if current is None:
        console.print("[red]The database has no schema.[/red] Run: papertide db upgrade")
        raise typer.Exit(1)
    if current != head_revision():
        console.print(
            f"[red]The database schema is at revision {current}; this papertide needs {head_revision()}.[/red] "
            "Run: papertide db upgrade (once, from one machine; see docs/deployment.md on upgrades)"
        )
        raise typer.Exit(1)


@contextmanager
def open_database() -> Iterator[Database]:
    database = connect(get_settings())
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def migrated_database() -> Iterator[Database]:
    with open_database() as database:
        ensure_schema(database, get_settings())
        yield database


@contextmanager
def reported(*errors: type[Exception], heading: str | None = None) -> Iterator[None]:
    """Turn the expected ``errors`` of a command into one red line (``heading`` or the error's type, then its
    message, which says what to do) and exit code 1; anything else is a bug and keeps its traceback."""
    try:
        yield
    except errors as error:
        label = f"{type(error).__name__}:" if heading is None else heading
        console.print(f"[red]{label} {error}[/red]".replace("[red] ", "[red]"))
        raise typer.Exit(1) from error


def source_failures() -> AbstractContextManager[None]:
    """The errors a source can raise (network, malformed files, bad ids)."""
    return reported(SourceUnavailable, OaiError, DailyFileError, SnapshotFileError, InvalidArxivId)


@contextmanager
def progress_bar(unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn(unit), BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()] if total is not None else [TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(unit, total=total)
        yield lambda done: progress.update(task, completed=done)


def refresh_keyword_index() -> None:
    """After an ingest or import: bring the keyword index beside the data up to date, with progress (a first
    build of millions of papers takes minutes; searches fall back to the database's full text meanwhile)."""
    settings = get_settings()
    if settings.keyword_index_path is None:
        return
    with open_database() as database, progress_bar("papers indexed for keyword search") as advance:
        sync_keyword_index(database, settings, progress=lambda done, _total: advance(done))
