"""``papertide demo``: create the embedded database, fill it, then serve it.

Online, it mirrors the last days of hf.co Daily Papers and the demo categories' arXiv listings, completes thin
papers, and the served schedule keeps them coming. Offline (neither host resolves) it says so in one line and
loads the sample shipped in the package (``papertide.demo``); ``--from`` loads files instead. Loading shows one
progress bar per phase, and a restart loads only the files that changed since they were last loaded.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.serve import run_server
from papertide.cli.support import (
    console,
    data_location,
    migrated_database,
    plain,
    progress_bar,
    refresh_keyword_index,
    source_failures,
)
from papertide.config import Settings, get_settings
from papertide.db import Database
from papertide.demo import SAMPLE_DAILY, SAMPLE_DAYS, SAMPLE_SNAPSHOT
from papertide.jobs.ingest_requests import ArxivRequest, DailyRequest, HfMirrorRequest, SnapshotRequest
from papertide.queries.totals import query_totals
from papertide.records import IngestCounts
from papertide.services.checkpoints import loaded_unchanged, mark_loaded
from papertide.services.enrichment import enrich_papers
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.factory import arxiv_client
from papertide.sources.http import SourceUnavailable
from papertide.sources.reachability import host_of, host_resolves
from papertide.sources.sniff import FileFormat, sniff_format

demo_app = typer.Typer()


@demo_app.command()
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
    (the demo follows PAPERTIDE_DEMO_CATEGORIES and mirrors Daily Papers); with no network, the bundled sample;
    --from FILE_OR_DIR loads files offline."""
    settings = get_settings()
    console.print(f"Data: {plain(data_location(settings))}")
    with migrated_database() as database:
        if from_path is not None:
            _load_files(database, settings, _files_in(from_path))
        elif not _reachable(settings):
            _load_files(database, settings, [SAMPLE_SNAPSHOT, SAMPLE_DAILY])
        elif _fill_from_sources(database, settings, days, max_results):
            _follow_demo_sources(settings)
        else:
            console.print(f"[yellow]Nothing came from hf.co or arXiv: serving the bundled sample ({SAMPLE_DAYS}).")
            _load_files(database, settings, [SAMPLE_SNAPSHOT, SAMPLE_DAILY])
        with database.read_session() as session:
            totals = query_totals(session)
    refresh_keyword_index()
    console.print(f"[green]{totals.papers} papers, {totals.featured} featured[/green]")
    if not no_serve:
        url = f"http://{host or settings.host}:{port or settings.port}"
        console.print(f"Open [bold]{url}[/bold] (Ctrl+C to stop)")
        run_server(settings, host or settings.host, port or settings.port, 1)


def _reachable(settings: Settings) -> bool:
    """Whether hf.co or arXiv resolves; if neither does, say so in one line (nothing is retried)."""
    urls = (settings.hf_url, settings.arxiv_api_url)
    if any(host_resolves(url) for url in urls):
        return True
    hosts = " and ".join(host_of(url) for url in urls)
    console.print(
        f"[yellow]No network ({plain(hosts)} do not resolve):[/yellow] serving the bundled sample of hf.co Daily "
        f"Papers, {SAMPLE_DAYS}."
    )
    return False


def _files_in(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _load_files(database: Database, settings: Settings, files: list[Path]) -> None:
    """Load snapshots, then Daily Papers files, skipping those loaded before and unchanged since."""
    formats: dict[Path, FileFormat] = {f: sniff_format(f) for f in files}
    readable = [f for f in files if formats[f] != "unknown"]
    if not readable:
        console.print(f"[red]{plain(', '.join(map(str, files)))} holds no snapshot lines or Daily Papers JSON[/red]")
        raise typer.Exit(1)
    pending = [f for f in readable if not loaded_unchanged(database, f)]
    if len(pending) < len(readable):
        console.print(f"{len(readable) - len(pending)} of {len(readable)} files unchanged since they were loaded")
    with source_failures():
        _load_snapshots(database, settings, [f for f in pending if formats[f] == "snapshot"])
        _load_daily(database, settings, [f for f in pending if formats[f] == "daily"])


def _load_snapshots(database: Database, settings: Settings, files: list[Path]) -> None:
    if not files:
        return
    counts = IngestCounts()
    with progress_bar("arXiv records read") as advance:
        for file in files:
            read_before = counts.added + counts.updated + counts.unchanged + counts.rejected

            def lines_read(line: int, before: int = read_before) -> None:
                advance(before + line)

            counts.add(SnapshotRequest(file).run(database, settings, lines_read))
            mark_loaded(database, file)
    console.print(f"arXiv records: {counts.summary()}")


def _load_daily(database: Database, settings: Settings, files: list[Path]) -> None:
    if not files:
        return
    papers, featured = IngestCounts(), IngestCounts()
    with progress_bar("Daily Papers files", total=len(files)) as advance:
        for done, file in enumerate(files, start=1):
            result = DailyRequest(file).run(database, settings)
            papers.add(result.papers)
            featured.add(result.featured)
            mark_loaded(database, file)
            advance(done)
    console.print(f"Daily Papers: papers {papers.summary()}; featured {featured.summary()}")


def _fill_from_sources(database: Database, settings: Settings, days: int, max_results: int) -> bool:
    """The mirror's last ``days`` of Daily Papers, the demo categories' recent listings, then thin papers
    completed; False when neither source gave anything."""
    mirrored = _mirror_recent(database, settings, days)
    listed = _load_recent_arxiv(database, settings, days, max_results)
    if listed:
        _complete_thin(database, settings, max_results)
    return mirrored or listed


def _mirror_recent(database: Database, settings: Settings, days: int) -> bool:
    today = datetime.now(UTC).date()
    console.print(f"Mirroring the last {days} days of Daily Papers from {plain(settings.hf_url)}…")
    with progress_bar("days") as advance:
        report = HfMirrorRequest(since=today - timedelta(days=days - 1), until=today).run(database, settings, advance)
    if report.stopped:
        console.print(f"[red]Could not reach hf.co:[/red] {plain(report.stopped)}")
        return False
    console.print(f"Daily Papers: {report.summary()}")
    return True


def _load_recent_arxiv(database: Database, settings: Settings, days: int, max_results: int) -> bool:
    query = " OR ".join(f"cat:{category}" for category in settings.demo_categories.split())
    since = datetime.now(UTC).date() - timedelta(days=days)
    console.print(f"Fetching {plain(query)} since {since} from {plain(settings.arxiv_api_url)} (one request per 3 s)…")
    request = ArxivRequest(query=query, since=since, max_results=max_results)
    try:
        with progress_bar("papers fetched") as advance:
            result = request.run(database, settings, advance)
    except (SourceUnavailable, ArxivApiError) as error:
        console.print(f"[red]Could not reach arXiv:[/red] {plain(error)}")
        return False
    console.print(f"arXiv: {result.counts.summary()}")
    return True


def _complete_thin(database: Database, settings: Settings, limit: int) -> None:
    """Abstracts, authors and categories of mirrored papers the lists lack, from the arXiv API by id."""
    try:
        with arxiv_client(settings) as client, progress_bar("thin papers completed") as advance:
            report = enrich_papers(database, client, limit=limit, progress=advance)
    except (SourceUnavailable, ArxivApiError) as error:
        console.print(f"[yellow]Thin papers stay thin for now (the schedule retries):[/yellow] {plain(error)}")
        return
    console.print(f"Thin papers: {report.summary()}")


def _follow_demo_sources(settings: Settings) -> None:
    """The served demo's schedule follows the demo categories and mirrors Daily Papers (unless set otherwise)."""
    os.environ.setdefault("PAPERTIDE_FOLLOW_CATEGORIES", settings.follow_categories or settings.demo_categories)
    os.environ.setdefault("PAPERTIDE_HF_MIRROR", "true")
