"""``papertide serve`` and ``papertide demo``: run the web app under uvicorn (the app factory named by its import
path, never imported here), after checking the schema or, for the demo, after loading some papers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from papertide.cli.support import (
    console,
    ensure_schema,
    migrated_database,
    open_database,
    progress_bar,
    refresh_keyword_index,
    source_failures,
)
from papertide.config import MULTIPROCESS_ENV, Settings, get_settings
from papertide.db import Database
from papertide.jobs.ingest_requests import ArxivRequest, DailyRequest, HfMirrorRequest, SnapshotRequest
from papertide.queries import query_totals
from papertide.services.enrichment import enrich_papers
from papertide.services.health import check_readiness
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.factory import arxiv_client
from papertide.sources.http import SourceUnavailable
from papertide.sources.sniff import sniff_format

WORKER_HEALTHCHECK_SECONDS = 60
KEEP_ALIVE_SECONDS = 75

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
        console.print(f"[red]Not serving: {'; '.join(readiness.problems)}.[/red]")
        console.print("Fix the database first (papertide db current shows its revision; see docs/deployment.md).")
        raise typer.Exit(1)
    _run_server(settings, host or settings.host, port or settings.port, workers or settings.web_workers)


@serve_app.command()
def demo(
    from_path: Annotated[
        Path | None,
        typer.Option("--from", exists=True, help="Snapshot and/or Daily Papers file or directory (offline)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=30, help="Days of arXiv listings to fetch.")] = 3,
    max_results: Annotated[int, typer.Option(min=1, help="Most papers to fetch from arXiv.")] = 300,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the data, then exit.")] = False,
) -> None:
    """Create the embedded database, load recent papers, then serve them: without --from, the mirror's last days of
    hf.co Daily Papers and the demo categories' listings, thin papers completed, and the schedule keeps them coming
    (the demo follows PAPERTIDE_DEMO_CATEGORIES and mirrors Daily Papers); --from FILE_OR_DIR loads files offline."""
    settings = get_settings()
    with migrated_database() as database:
        if from_path is not None:
            _load_local(database, from_path, settings)
        else:
            _fill_from_sources(database, settings, days, max_results)
            _follow_demo_sources(settings)
        with database.read_session() as session:
            totals = query_totals(session)
    refresh_keyword_index()
    console.print(f"[green]{totals.papers} papers, {totals.featured} featured[/green]")
    if not no_serve:
        url = f"http://{host or settings.host}:{port or settings.port}"
        console.print(f"Open [bold]{url}[/bold] (Ctrl+C to stop)")
        _run_server(settings, host or settings.host, port or settings.port, 1)


def _load_local(database: Database, path: Path, settings: Settings) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    formats = {f: sniff_format(f) for f in files}
    daily_files = [f for f, kind in formats.items() if kind == "daily"]
    snapshots = [f for f, kind in formats.items() if kind == "snapshot"]
    if not daily_files and not snapshots:
        console.print(f"[red]{path} holds no snapshot lines or Daily Papers JSON[/red]")
        raise typer.Exit(1)
    with source_failures():
        for snapshot in snapshots:
            with progress_bar(f"{snapshot.name} lines") as advance:
                counts = SnapshotRequest(snapshot).run(database, settings, advance)
            console.print(f"{snapshot}: {counts.summary()}")
        for daily in daily_files:
            result = DailyRequest(daily).run(database, settings)
            console.print(f"{daily}: papers {result.papers.summary()}; featured {result.featured.summary()}")


def _fill_from_sources(database: Database, settings: Settings, days: int, max_results: int) -> None:
    """The mirror's last ``days`` of Daily Papers, the demo categories' recent listings, then thin papers completed;
    with neither source reachable, serve what is there or say how to run offline."""
    mirrored = _mirror_recent(database, settings, days)
    listed = _load_recent_arxiv(database, settings, days, max_results)
    if listed:
        _complete_thin(database, settings, max_results)
    if mirrored or listed:
        return
    with database.read_session() as session:
        if query_totals(session).papers:
            console.print("[yellow]Serving the papers already in the database.[/yellow]")
            return
    console.print(
        "No network? Run the demo offline from a file: "
        "[bold]papertide demo --from arxiv-snapshot.jsonl.gz[/bold] (a snapshot and/or Daily Papers JSON "
        "file or directory)."
    )
    raise typer.Exit(1)


def _mirror_recent(database: Database, settings: Settings, days: int) -> bool:
    today = datetime.now(UTC).date()
    console.print(f"Mirroring the last {days} days of Daily Papers from {settings.hf_url}…")
    with progress_bar("days") as advance:
        report = HfMirrorRequest(since=today - timedelta(days=days - 1), until=today).run(database, settings, advance)
    if report.stopped:
        console.print(f"[red]Could not reach hf.co:[/red] {report.stopped}")
        return False
    console.print(f"Daily Papers: {report.summary()}")
    return True


def _load_recent_arxiv(database: Database, settings: Settings, days: int, max_results: int) -> bool:
    query = " OR ".join(f"cat:{category}" for category in settings.demo_categories.split())
    since = datetime.now(UTC).date() - timedelta(days=days)
    console.print(f"Fetching {query} since {since} from {settings.arxiv_api_url} (one request per 3 s)…")
    request = ArxivRequest(query=query, since=since, max_results=max_results)
    try:
        with progress_bar("papers fetched") as advance:
            result = request.run(database, settings, advance)
    except (SourceUnavailable, ArxivApiError) as error:
        console.print(f"[red]Could not reach arXiv:[/red] {error}")
        return False
    console.print(f"arXiv: {result.counts.summary()}")
    return True


def _complete_thin(database: Database, settings: Settings, limit: int) -> None:
    """Abstracts, authors and categories of mirrored papers the lists lack, from the arXiv API by id."""
    try:
        with arxiv_client(settings) as client, progress_bar("thin papers completed") as advance:
            report = enrich_papers(database, client, limit=limit, progress=advance)
    except (SourceUnavailable, ArxivApiError) as error:
        console.print(f"[yellow]Thin papers stay thin for now (the schedule retries):[/yellow] {error}")
        return
    console.print(f"Thin papers: {report.summary()}")


def _follow_demo_sources(settings: Settings) -> None:
    """The served demo's schedule follows the demo categories and mirrors Daily Papers (unless set otherwise)."""
    os.environ.setdefault("PAPERTIDE_FOLLOW_CATEGORIES", settings.follow_categories or settings.demo_categories)
    os.environ.setdefault("PAPERTIDE_HF_MIRROR", "true")


def _run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    # Child processes build their own app from the environment, so hand the resolved settings down.
    os.environ.setdefault("PAPERTIDE_DATABASE_URL", settings.resolved_database_url)
    with _metrics_shared_by(workers):
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
        )


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
