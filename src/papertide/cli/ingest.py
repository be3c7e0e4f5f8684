"""``papertide ingest snapshot|arxiv|oai|daily|hf``: load paper metadata now, or with ``--queue`` hand it to
``papertide worker``; ``papertide ingest mentions``: recount the name mentions; ``papertide sources status``: how
the automatic sources fare.

Each command turns its flags into the request of ``jobs/ingest_requests.py`` that the worker runs too, then either
runs it with a progress bar or queues it. Exit 3 when nothing was added or updated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.cli.support import (
    EXIT_NOTHING_NEW,
    console,
    existing_database,
    migrated_database,
    plain,
    progress_bars,
    recount_bar,
    refresh_keyword_index,
    reported,
    source_failures,
)
from papertide.config import Settings, get_settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.ingest_requests import (
    METADATA_PREFIXES,
    ArxivRequest,
    DailyRequest,
    HfMirrorRequest,
    IngestRequest,
    OaiRequest,
    SnapshotRequest,
    no_progress,
)
from papertide.jobs.payloads import TaskArgumentError
from papertide.jobs.scheduler import sources_overview
from papertide.models import utcnow
from papertide.records import IngestCounts
from papertide.services.ingest import Progress
from papertide.services.name_mentions import RecountProgress, recount_mentions

MAX_REPORTED_REJECTIONS = 20
Result = TypeVar("Result")
# A request's ``run`` (``jobs/ingest_requests.py``): the database, the settings, the rows' and the recount's progress.
Run = Callable[[Database, Settings, Progress, RecountProgress], Result]
Queued = Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")]

ingest_app = typer.Typer(help="Load paper metadata from arXiv and Daily Papers (exit 3 = nothing new).")
sources_app = typer.Typer(help="The automatic sources: followed categories, the Daily Papers mirror, enrichment.")


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


@ingest_app.command("hf")
def ingest_hf(
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day to mirror.")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: today).")] = None,
    queued: Queued = False,
) -> None:
    """Mirror hf.co Daily Papers day by day (conditional requests; default: the days the schedule would)."""
    request = HfMirrorRequest(since=since.date() if since else None, until=until.date() if until else None)
    with reported(TaskArgumentError):
        request.check()
    if (report := _run_or_queue(request, request.run, queued, "days")) is None:
        return
    for day, reason in report.failed:
        console.print(f"[red]{day} failed:[/red] {plain(reason)}")
    if report.stopped:
        console.print(f"[red]stopped:[/red] {plain(report.stopped)}")
    console.print(f"{report.days} days, {report.not_modified} not modified; featured: {report.featured.summary()}")
    if report.failed or report.stopped:
        _finish(report.papers, exit_code=1)
    _finish(report.papers, changed=report.changed)


@ingest_app.command("mentions")
def ingest_mentions() -> None:
    """Recount every paper's name mentions in one pass (a bulk load cut short leaves it owed; the worker does it
    too, and so does the next bulk load)."""
    with migrated_database() as database, progress_bars() as open_bar:
        changed = recount_mentions(database, recount_bar(open_bar))
    console.print(f"name mentions recounted; papers whose count changed: {changed}")


@sources_app.command("status")
def sources_status() -> None:
    """Each automatic source: its last run and result, the next run, the last error with its time."""
    with existing_database() as database:
        overview = sources_overview(database, get_settings(), utcnow())
    table = Table("source", "last run", "result", "next run", "last error")
    for source in overview:
        state = source.status
        result = state.last_result or "never ran"
        if state.last_result:
            result += f" (+{state.added} ~{state.updated} ={state.unchanged})"
        if state.failures > 1:
            result = f"[red]{result}, {state.failures} failed runs in a row[/red]"
        next_run = _when(source.next_run) if source.enabled else "off"
        error = f"{_when(state.last_error_at)}: {state.last_error}" if state.last_error else ""
        table.add_row(state.source, _when(state.last_finished_at), result, next_run, error)
    console.print(table)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _run_or_queue(
    request: IngestRequest,
    run: Run[Result],
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


def _run_now(run: Run[Result], unit: str | None) -> Result:
    """``run`` a request's ingest here, with a progress bar counting ``unit`` (none when None) and one for the
    name-mention recount a bulk load ends with."""
    settings = get_settings()
    with migrated_database() as database, source_failures(), progress_bars() as open_bar:
        advance = open_bar(unit, None) if unit is not None else no_progress
        return run(database, settings, advance, recount_bar(open_bar))


def _checked_id(value: str) -> str:
    try:
        return str(parse_arxiv_id(value))
    except InvalidArxivId as error:
        raise typer.BadParameter(str(error)) from error


def _finish(counts: IngestCounts, *, changed: int | None = None, exit_code: int | None = None) -> None:
    """Report ``counts``; exit ``exit_code`` when given, else 3 when nothing changed (``changed``, by default the
    counts' own)."""
    for rejection in counts.rejections[:MAX_REPORTED_REJECTIONS]:
        console.print(f"[yellow]rejected line {rejection.line_no}:[/yellow] {plain(rejection.reason)}")
    if counts.rejected > MAX_REPORTED_REJECTIONS:
        console.print(f"[yellow]… and {counts.rejected - MAX_REPORTED_REJECTIONS} more rejected[/yellow]")
    console.print(counts.summary())
    if counts.changed or changed:
        refresh_keyword_index()
    if exit_code is not None:
        raise typer.Exit(exit_code)
    if (counts.changed if changed is None else changed) == 0:
        raise typer.Exit(EXIT_NOTHING_NEW)
