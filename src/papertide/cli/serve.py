"""``papertide serve``: run the web app under uvicorn (the app factory named by its import path, never imported
here) after checking the schema; ``papertide demo`` (``cli/demo.py``) serves through :func:`run_server` too."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Annotated

import typer
import uvicorn

from papertide.cli.support import (
    Interrupted,
    console,
    data_location,
    ensure_schema,
    leave,
    open_database,
    plain,
)
from papertide.config import MULTIPROCESS_ENV, Settings, get_settings
from papertide.services.health import check_readiness

WORKER_HEALTHCHECK_SECONDS = 60
KEEP_ALIVE_SECONDS = 75
# Ctrl+C or SIGTERM: requests in flight get this long to finish, then the background jobs stop after their batch.
GRACEFUL_SHUTDOWN_SECONDS = 2

serve_app = typer.Typer()


@serve_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Web processes (default from settings).")] = None,
) -> None:
    """Serve the web app and the API from the configured database."""
    settings = get_settings()
    with open_database() as database:
        ensure_schema(database, settings)
        readiness = check_readiness(database, writes=True)
    if not readiness.ok:
        console.print(f"[red]Not serving: {plain('; '.join(readiness.problems))}.[/red]")
        console.print("Fix the database first (papertide db current shows its revision; see docs/deployment.md).")
        raise typer.Exit(1)
    console.print(f"Data: {plain(data_location(settings))}")
    run_server(settings, host or settings.host, port or settings.port, workers or settings.web_workers)


def run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    # Child processes build their own app from the environment, so hand the resolved settings down.
    os.environ.setdefault("PAPERTIDE_DATABASE_URL", settings.resolved_database_url)
    # uvicorn stops on the signal, then passes it on: for a server, that is its normal end.
    with _metrics_shared_by(workers), suppress(Interrupted):
        uvicorn.run(
            "papertide.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_level="info",
            # uvicorn restarts a worker that misses a 5 s health ping; a busy worker (CPU-bound searches holding
            # the GIL) is slow, not dead, and killing it drops every request in flight.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            # Longer than a proxy's idle upstream connections (nginx: 60 s), or the proxy reuses a connection
            # uvicorn is closing and the client gets a 502.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    leave(0)


@contextmanager
def _metrics_shared_by(workers: int) -> Iterator[None]:
    """With several web processes (and no directory given), each records its requests in files of a temporary
    directory, so a scrape of any process reports all of them; the directory goes when the server stops."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="papertide-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
