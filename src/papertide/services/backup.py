"""Backups and restores of the whole database, consistent while papertide keeps running.

SQLite: the online backup API copies the live file page by page (writers may go on; the copy is one consistent
snapshot), then ``PRAGMA integrity_check`` vouches for the copy. PostgreSQL: ``pg_dump --format=custom`` and
``pg_restore``, whose versions must be at least the server's (``PAPERTIDE_PG_BIN_DIR`` points at them).

Search indexes kept beside a SQLite file (vectors, keywords) are caches of the database and are not backed up; a
restore removes them and each process rebuilds them from the restored database on first use.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from papertide.config import Settings

PAGES_PER_STEP = 4_096  # ~16 MB per step: writers get the lock back between steps


class BackupError(Exception):
    """A backup or restore could not be made; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    engine: str


def backup(settings: Settings, output: Path, progress: Callable[[int, int], None] | None = None) -> BackupResult:
    if output.exists():
        raise BackupError(f"{output} exists; choose a new file name (backups never overwrite)")
    output.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        _sqlite_backup(_sqlite_path(settings), output, progress)
        check_sqlite(output)
        return BackupResult(output, output.stat().st_size, "sqlite")
    _run(_pg_tool(settings, "pg_dump"), "--format=custom", "--no-owner", f"--file={output}", _libpq_url(settings))
    return BackupResult(output, output.stat().st_size, "postgresql")


def restore(settings: Settings, source: Path, force: bool = False) -> None:
    """Replace the configured database with the backup at ``source``; refuses to overwrite data unless ``force``."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if settings.is_sqlite:
        target = _sqlite_path(settings)
        check_sqlite(source)
        if target.exists() and target.stat().st_size > 0 and not force:
            raise BackupError(f"{target} exists; stop papertide and pass --force to replace it")
        _sqlite_backup(source, target, None)
        for derived in (settings.vector_index_path, settings.keyword_index_path):
            _remove_derived(derived)
        return
    arguments = ["--no-owner", "--exit-on-error", f"--dbname={_libpq_url(settings)}", str(source)]
    _run(_pg_tool(settings, "pg_restore"), *(["--clean", "--if-exists"] if force else []), *arguments)


def check_sqlite(path: Path) -> None:
    """Raise unless ``PRAGMA integrity_check`` says ok."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from error
    if verdict != "ok":
        raise BackupError(f"{path} failed its integrity check: {verdict}")


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(database)


def _sqlite_backup(source: Path, target: Path, progress: Callable[[int, int], None] | None) -> None:
    def report(_status: int, remaining: int, total: int) -> None:
        if progress:
            progress(total - remaining, total)

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with sqlite3.connect(source) as reader, sqlite3.connect(partial) as writer:
            reader.backup(writer, pages=PAGES_PER_STEP, progress=report)
        for suffix in ("-wal", "-shm"):  # the old file's journal must not be replayed onto the new one
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        partial.replace(target)  # atomic: the target is the old database or the whole new one, never half
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"copying {source} to {target} failed: {error}") from error


def _remove_derived(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    for sibling in (path, path.with_name(path.name + ".json")):
        sibling.unlink(missing_ok=True)


def _libpq_url(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(settings: Settings, name: str) -> str:
    directory = settings.pg_bin_dir
    found = str(directory / name) if directory else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(
            f"{name} not found; install the PostgreSQL client matching your server, or set PAPERTIDE_PG_BIN_DIR"
        )
    return found


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {' '.join(message[-3:])}")
