"""Operations commands: ``db upgrade|current`` (the schema), ``worker`` (background jobs), ``jobs status|retry``
(the queue), ``backup`` and ``restore``.

Thin: each command calls ``db.py``, ``jobs/`` or ``services/``.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from papertide.cli.support import (
    EXIT_NOTHING_NEW,
    console,
    ensure_schema,
    existing_database,
    leave,
    open_database,
    plain,
    progress_bar,
    refuse_missing_database,
    reported,
)
from papertide.config import get_settings
from papertide.db import current_revision, upgrade
from papertide.jobs import queue
from papertide.jobs.scheduler import JobRunner
from papertide.jobs.tasks import TASKS
from papertide.jobs.worker import Worker
from papertide.search.semantic import open_semantic
from papertide.services.backup import BackupError, backup, restore

db_app = typer.Typer(help="Database schema.")
ops_app = typer.Typer()
jobs_app = typer.Typer(help="The job queue that `papertide worker` runs.")
ops_app.add_typer(jobs_app, name="jobs")
SHOWN_FAILURES = 10


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the database schema (safe to run on every deploy)."""
    with open_database() as database:
        upgrade(database, revision)
        typer.echo(f"database at revision {current_revision(database)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    refuse_missing_database(get_settings())
    with open_database() as database:
        typer.echo(current_revision(database) or "empty (run: papertide db upgrade)")


@ops_app.command()
def worker(
    processes: Annotated[int, typer.Option(min=1, max=64, help="Worker processes to run.")] = 1,
    burst: Annotated[bool, typer.Option("--burst", help="Run the jobs already queued, then exit.")] = False,
    schedule: Annotated[bool, typer.Option(help="Also enqueue scheduled work (embedding, digests).")] = True,
) -> None:
    """Run background jobs (ingest, embedding, digests) from the queue; as many workers as you like may share it."""
    with open_database() as database:  # refuse to start without the current schema, before forking
        ensure_schema(database, get_settings())
    if processes == 1:
        code = _work(burst, schedule)
        if code:
            raise typer.Exit(code)
        return
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_child, args=(burst, schedule and i == 0)) for i in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    codes = {child.exitcode for child in children}
    if not codes <= {0, EXIT_NOTHING_NEW}:
        raise typer.Exit(1)
    if codes == {EXIT_NOTHING_NEW}:
        raise typer.Exit(EXIT_NOTHING_NEW)


def _child(burst: bool, schedule: bool) -> None:
    sys.exit(_work(burst, schedule))


def _work(burst: bool, schedule: bool) -> int:
    """One worker process's life; its exit code (3: a burst found nothing to run)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    with open_database() as database:
        semantic = open_semantic(settings)
        if burst:
            burst_worker = Worker(database, settings, semantic)
            done = burst_worker.run_until_empty()
            console.print(burst_worker.stats.summary())
            return EXIT_NOTHING_NEW if done == 0 else 0
        interval = settings.jobs_interval_seconds or 20.0
        runner = JobRunner(database, settings, semantic, interval, schedule=schedule)
        asked = threading.Event()

        def stop(signum: int, _frame: FrameType | None) -> None:
            console.print(f"signal {signum}: stopping after the job in hand's current batch")
            asked.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        runner.start()
        console.print(f"worker {runner.worker.name} running ({', '.join(sorted(TASKS))})")
        while not asked.wait(1.0):
            pass
        if not runner.stop():
            console.print("the job in hand did not stop in time; it goes on at the next start")
    leave(0)  # a stop is a worker's normal end; see ``leave`` for why the teardown is skipped
    return 0


@jobs_app.command("status")
def jobs_status() -> None:
    """Jobs per task and status, the oldest waiting job's age, and the latest failures."""
    with existing_database() as database, database.read_session() as session:
        counts = queue.queue_counts(session)
        waiting = queue.oldest_waiting_seconds(session)
        failures = queue.latest_failures(session, SHOWN_FAILURES)
    table = Table("task", "queued", "running", "done", "failed")
    for task in sorted({task for task, _ in counts}):
        table.add_row(task, *(str(counts.get((task, status), 0)) for status in ("queued", "running", "done", "failed")))
    console.print(table)
    console.print(f"oldest waiting job: {waiting:.0f} s")
    for job_id, task, error in failures:
        console.print(f"[red]failed job {job_id} ({task}):[/red] {plain(error.splitlines()[0]) if error else ''}")


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="A failed job's id (see `papertide jobs status`).")]) -> None:
    """Queue a failed job again, with its attempts reset."""
    with open_database() as database:
        if not queue.requeue(database, job_id):
            console.print(f"[red]job {job_id} is not a failed job[/red]")
            raise typer.Exit(1)
    console.print(f"job {job_id} queued again")


@ops_app.command("backup")
def backup_command(
    output: Annotated[Path, typer.Argument(help="The backup file to write (a new name).")],
) -> None:
    """Back up the database while papertide runs: SQLite's online backup, or pg_dump's custom format."""
    settings = get_settings()
    refuse_missing_database(settings)
    with reported(BackupError, heading="Backup failed:"), progress_bar("pages copied") as advance:
        result = backup(settings, output, progress=lambda done, _total: advance(done))
    console.print(f"{result.engine} backup written to {plain(result.path)} ({result.bytes / 1e6:.1f} MB)")


@ops_app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file from `papertide backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the existing database.")] = False,
) -> None:
    """Restore a backup into the configured database (stop every papertide process first)."""
    with reported(BackupError, heading="Restore failed:"):
        restore(get_settings(), source, force=force)
    console.print(f"restored {plain(source)}; run `papertide db upgrade` if it came from an older papertide")
