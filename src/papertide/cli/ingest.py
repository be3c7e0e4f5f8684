"""``papertide ingest snapshot|arxiv|oai|daily``: load paper metadata now, or with ``--queue`` hand it to
``papertide worker``.

Each command turns its flags into the request of ``jobs/ingest_requests.py`` that the worker runs too, then either
runs it with a progress bar or queues it. Exit 3 when nothing was added or updated.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.cli.support import (
    EXIT_NOTHING_NEW,
    console,
    migrated_database,
    progress_bar,
    refresh_keyword_index,
    source_failures,
)
from papertide.config import Settings, get_settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.ingest_requests import (
    METADATA_PREFIXES,
    ArxivRequest,
    DailyRequest,
    IngestRequest,
    OaiRequest,
    SnapshotRequest,
    no_progress,
)
from papertide.records import IngestCounts
from papertide.services.ingest import Progress

MAX_REPORTED_REJECTIONS = 20
Result = TypeVar("Result")
Queued = Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")]

ingest_app = typer.Typer(help="Load paper metadata from arXiv and Daily Papers (exit 3 = nothing new).")


@ingest_app.command("snapshot")
def ingest_snapshot(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Snapshot JSON lines, optionally .gz.")],
    queued: Queued = False,
) -> None:
    """Ingest the arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json); resumes after a crash."""
    request = SnapshotRequest(file.resolve())
    if (counts := _run_or_queue(request, request.run, queued, "snapshot lines")) is not None:
        _finish(counts)


@ingest_app.command("arxiv")
def ingest_arxiv(
    query: Annotated[str | None, typer.Option(help="arXiv API search query, e.g. 'cat:cs.LG'.")] = None,
    ids: Annotated[list[str] | None, typer.Option("--ids", help="arXiv ids or URLs (repeat the option).")] = None,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only papers since DATE.")] = None,
    max_results: Annotated[int | None, typer.Option(min=1, help="Stop after this many papers.")] = None,
    queued: Queued = False,
) -> None:
    """Fetch papers from the arXiv API by query or by id (at most one request per 3 s)."""
    if (query is None) == (not ids):
        raise typer.BadParameter("give either --query or --ids")
    checked = [_checked_id(value) for value in ids or []]
    day = since.date() if since else None
    request = ArxivRequest(query=query, ids=checked or None, since=day, max_results=max_results)
    if (result := _run_or_queue(request, request.run, queued, None if checked else "papers fetched")) is None:
        return
    for missing in result.missing:
        console.print(f"[yellow]not found on arXiv:[/yellow] {missing}")
    _finish(result.counts)


@ingest_app.command("oai")
def ingest_oai(
    set_spec: Annotated[str, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th.")],
    from_date: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Records changed since.")],
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Records changed until.")] = None,
    metadata_prefix: Annotated[str, typer.Option(help="arXiv (richer) or oai_dc.")] = "arXiv",
    queued: Queued = False,
) -> None:
    """Harvest arXiv's OAI-PMH ListRecords with resumptionToken paging; resumes after a crash."""
    if metadata_prefix not in METADATA_PREFIXES:
        raise typer.BadParameter("--metadata-prefix must be arXiv or oai_dc")
    request = OaiRequest(
        set_spec=set_spec,
        from_date=from_date.date(),
        until=until.date() if until else None,
        metadata_prefix=metadata_prefix,
    )
    if (counts := _run_or_queue(request, request.run, queued, "records harvested")) is not None:
        _finish(counts)


@ingest_app.command("daily")
def ingest_daily(
    path: Annotated[Path, typer.Argument(exists=True, help="A Daily Papers JSON file or a directory of them.")],
    queued: Queued = False,
) -> None:
    """Ingest Daily Papers JSON (hf.co /api/daily_papers shape): featured days, upvotes, submitters."""
    request = DailyRequest(path.resolve())
    if (result := _run_or_queue(request, request.run, queued, "files")) is None:
        return
    console.print(f"{result.files} files; featured: {result.featured.summary()}")
    _finish(result.papers)


def _run_or_queue(
    request: IngestRequest,
    run: Callable[[Database, Settings, Progress], Result],
    queued: bool,
    unit: str | None,
) -> Result | None:
    """With ``--queue``, hand ``request`` to the workers (None); else ``run`` it here and return what it did."""
    if not queued:
        return _run_now(run, unit)
    with migrated_database() as database:
        queue.enqueue(database, request.task, request.payload())
    console.print(f"queued {request.task}; `papertide worker` runs it (see `papertide jobs status`)")
    return None


def _run_now(run: Callable[[Database, Settings, Progress], Result], unit: str | None) -> Result:
    """``run`` a request's ingest here, with a progress bar counting ``unit`` (none when None)."""
    settings = get_settings()
    bar = progress_bar(unit) if unit is not None else nullcontext(no_progress)
    with migrated_database() as database, source_failures(), bar as advance:
        return run(database, settings, advance)


def _checked_id(value: str) -> str:
    try:
        return str(parse_arxiv_id(value))
    except InvalidArxivId as error:
        raise typer.BadParameter(str(error)) from error


def _finish(counts: IngestCounts) -> None:
    for rejection in counts.rejections[:MAX_REPORTED_REJECTIONS]:
        console.print(f"[yellow]rejected line {rejection.line_no}:[/yellow] {rejection.reason}")
    if counts.rejected > MAX_REPORTED_REJECTIONS:
        console.print(f"[yellow]… and {counts.rejected - MAX_REPORTED_REJECTIONS} more rejected[/yellow]")
    console.print(counts.summary())
    if counts.changed == 0:
        raise typer.Exit(EXIT_NOTHING_NEW)
    refresh_keyword_index()
