"""What every ``papertide`` command shares: the console, the "nothing new" exit code, opening (and checking the
schema of) the database, saying where the data lives, progress bars, turning expected errors into one red line,
refreshing the keyword index. The commands live in the other modules of ``papertide.cli``.

Text papertide did not write (error messages, titles, paths) goes through :func:`plain` before it reaches the
console: Rich reads ``[torch]`` in ``pip install 'papertide[torch]'`` as markup and would print ``papertide``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType

import typer
from rich.console import Console
from rich.markup import escape
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
from papertide.db import Database, connect, current_revision, head_revision, upgrade, without_password
from papertide.jobs.worker import leave
from papertide.search.tantivy_keyword.sync import sync_keyword_index
from papertide.services.accounts import configure_password_hashing
from papertide.services.name_mentions import RecountProgress
from papertide.sources.hf_daily import DailyFileError
from papertide.sources.http import SourceUnavailable
from papertide.sources.oai import OaiError
from papertide.sources.snapshot import SnapshotFileError

EXIT_NOTHING_NEW = 3
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl+C
console = Console(stderr=True)


class Interrupted(BaseException):
    """Ctrl+C (SIGINT) or SIGTERM reached a command: it stops where it is. Not a KeyboardInterrupt, which click
    turns into "Aborted!" and exit code 1. Raised in the main thread, it unwinds every ``with`` and ``finally`` on
    its way (open transactions roll back; ingests and embedding have committed batch by batch and resume)."""


def on_signals_interrupt() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted`; a second signal while the first one's cleanup runs leaves at
    once."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, lambda *_: leave(EXIT_INTERRUPTED))
    signal.signal(signal.SIGTERM, lambda *_: leave(EXIT_INTERRUPTED))
    raise Interrupted(signum)


def plain(value: object) -> str:
    """``value`` as text the console prints as it is (markup escaped)."""
    return escape(str(value))


def data_location(settings: Settings) -> str:
    """Where this instance's data lives, absolute, for the reader to find (and back up) it."""
    if settings.sqlite_file is not None:
        return f"{settings.sqlite_file.resolve()} (SQLite; PAPERTIDE_DATA_DIR moves it)"
    return f"{without_password(settings.resolved_database_url)} (PAPERTIDE_DATABASE_URL)"


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
    settings = get_settings()
    configure_password_hashing(settings)
    database = connect(settings)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def migrated_database() -> Iterator[Database]:
    with open_database() as database:
        ensure_schema(database, get_settings())
        yield database


def refuse_missing_database(settings: Settings) -> None:
    """Exit 1 with the absolute path when the SQLite file is not there (opening it would create it)."""
    if settings.sqlite_file is not None and not settings.sqlite_file.exists():
        console.print(
            f"[red]No database at {plain(settings.sqlite_file.resolve())}.[/red] Run this command where papertide's "
            "data is, or set PAPERTIDE_DATA_DIR (or PAPERTIDE_DATABASE_URL) to it; `papertide demo` or "
            "`papertide db upgrade` creates one."
        )
        raise typer.Exit(1)


@contextmanager
def existing_database() -> Iterator[Database]:
    """The database, for a command that only reads it: one that is missing, empty or at another schema revision is
    reported and the command exits 1, creating and migrating nothing."""
    settings = get_settings()
    refuse_missing_database(settings)
    with open_database() as database:
        current = current_revision(database)
        if current != head_revision():
            where = plain(data_location(settings))
            state = "has no schema" if current is None else f"is at schema revision {current}, not {head_revision()}"
            console.print(f"[red]The database at {where} {state}.[/red] Run: papertide db upgrade")
            raise typer.Exit(1)
        yield database


@contextmanager
def reported(*errors: type[Exception], heading: str | None = None) -> Iterator[None]:
    """Turn the expected ``errors`` of a command into one red line (``heading`` or the error's type, then its
    message, which says what to do) and exit code 1; anything else is a bug and keeps its traceback."""
    try:
        yield
    except errors as error:
        label = f"{type(error).__name__}:" if heading is None else heading
        console.print(f"[red]{label} {plain(error)}[/red]")
        raise typer.Exit(1) from error


def source_failures() -> AbstractContextManager[None]:
    """The errors a source can raise (network, malformed files, bad ids)."""
    return reported(SourceUnavailable, OaiError, DailyFileError, SnapshotFileError, InvalidArxivId)


# Opens a bar counting a unit (of a total, when known) and returns what advances it.
BarOpener = Callable[[str, "int | None"], Callable[[int], None]]


@contextmanager
def progress_bars() -> Iterator[BarOpener]:
    """Bars opened one per phase as the phases begin, drawn together (one live display at a time is all a
    terminal has); a bar with a total shows the time left."""
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    columns += [MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:

        def open_bar(unit: str, total: int | None) -> Callable[[int], None]:
            for earlier in progress.task_ids:  # a phase ends where the next begins: its clock stops there
                progress.stop_task(earlier)
            task = progress.add_task(unit, total=total)
            return lambda done: progress.update(task, completed=done)

        yield open_bar


@contextmanager
def progress_bar(unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """One bar counting ``unit``."""
    with progress_bars() as open_bar:
        yield open_bar(unit, total)


def recount_bar(open_bar: BarOpener) -> RecountProgress:
    """The name-mention recount's own bar (``services/name_mentions.py``), opened at its first report: a bulk
    load's recount follows its rows, and most loads owe none."""
    bar: list[Callable[[int], None]] = []

    def advance(done: int, total: int) -> None:
        if not bar:
            bar.append(open_bar("papers read for name mentions", total))
        bar[0](done)

    return advance


def refresh_keyword_index() -> None:
    """After an ingest or import: bring the keyword index beside the data up to date, with progress (a first
    build of millions of papers takes minutes; searches fall back to the database's full text meanwhile)."""
    settings = get_settings()
    if settings.keyword_index_path is None:
        return
    with open_database() as database, progress_bar("papers indexed for keyword search") as advance:
        sync_keyword_index(database, settings, progress=lambda done, _total: advance(done))
