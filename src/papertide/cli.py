"""The ``papertide`` command: serve, demo, db, ingest, embed, digest, export, import.

Thin: every command calls services and queries.

Exit codes, for cron: 0 success with something new, 3 success with nothing new (so ``papertide ingest arxiv ...
&& papertide index ...`` skips follow-up work), 1 a failure with a message saying what to do, 2 bad usage.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
import uvicorn
from sqlalchemy.exc import DBAPIError

from papertide import __version__
from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.cli_ops import ops_app, queue_job
from papertide.cli_support import (
    EXIT_NOTHING_NEW,
    console,
    ensure_schema,
    migrated_database,
    open_database,
    progress_bar,
    refresh_keyword_index,
    reported,
    source_failures,
)
from papertide.config import ConfigError, Settings, get_settings
from papertide.db import Database, classify_database_error, current_revision, upgrade
from papertide.jobs.tasks import embed_new_papers
from papertide.mail import MailNotConfigured
from papertide.queries import query_totals
from papertide.records import IngestCounts
from papertide.search.embedder import EmbedderError
from papertide.search.semantic import open_semantic
from papertide.services import ingest
from papertide.services.accounts import AccountError, add_member, create_organization, create_user, set_admin
from papertide.services.digests import DigestBusy, send_digests
from papertide.services.embeddings import EmbedBatch, embedding_status
from papertide.services.export import ExportError, import_rows, read_jsonl, write_jsonl, write_parquet
from papertide.services.subscriptions import Cadence
from papertide.sources.factory import arxiv_client, oai_client
from papertide.sources.http import SourceUnavailable
from papertide.sources.sniff import sniff_format
from papertide.web.metrics import MULTIPROCESS_ENV

MAX_REPORTED_REJECTIONS = 20
WORKER_HEALTHCHECK_SECONDS = 60
KEEP_ALIVE_SECONDS = 75

DATABASE_ADVICE = {
    "full": "The disk holding the database is full. Nothing was lost: the transaction in progress was rolled back. "
    "Free some space and run the same command again (ingests resume where they stopped).",
    "unavailable": "The database cannot be reached or is busy. Check that PostgreSQL is running and "
    "PAPERTIDE_DATABASE_URL points at it, then run the command again.",
    "timeout": "A database statement ran past PAPERTIDE_DB_STATEMENT_TIMEOUT_MS and was stopped; its transaction "
    "was rolled back. Run the command again with a larger timeout (0: none).",
}

app = typer.Typer(help="papertide: daily research papers, search, digests and an hf.co-compatible API.")
db_app = typer.Typer(help="Database schema.")
ingest_app = typer.Typer(help="Load paper metadata from arXiv and Daily Papers (exit 3 = nothing new).")
user_app = typer.Typer(help="Accounts.")
org_app = typer.Typer(help="Organizations.")
digest_app = typer.Typer(help="Email digests (exit 3 = nothing was due).")
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(digest_app, name="digest")
app.add_typer(ops_app)


def main() -> None:
    try:
        app()
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise SystemExit(1) from error
    except DBAPIError as error:
        kind = classify_database_error(error)
        if kind == "other":
            raise
        console.print(f"[red]{DATABASE_ADVICE[kind]}[/red]\n({type(error.orig).__name__}: {error.orig})")
        raise SystemExit(1) from error


@app.command()
def version() -> None:
    """Print the papertide version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the database schema (safe to run on every deploy)."""
    with open_database() as database:
        upgrade(database, revision)
        typer.echo(f"database at revision {current_revision(database)}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    with open_database() as database:
        typer.echo(current_revision(database) or "empty (run: papertide db upgrade)")


@ingest_app.command("snapshot")
def ingest_snapshot(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Snapshot JSON lines, optionally .gz.")],
    queued: Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")] = False,
) -> None:
    """Ingest the arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json); resumes after a crash."""
    if queued:
        queue_job("ingest-snapshot", {"path": str(file.resolve())})
        return
    settings = get_settings()
    with migrated_database() as database, source_failures(), progress_bar("snapshot lines") as advance:
        counts = ingest.ingest_snapshot(database, file, batch_size=settings.ingest_batch_size, progress=advance)
    _finish(counts)


@ingest_app.command("arxiv")
def ingest_arxiv(
    query: Annotated[str | None, typer.Option(help="arXiv API search query, e.g. 'cat:cs.LG'.")] = None,
    ids: Annotated[list[str] | None, typer.Option("--ids", help="arXiv ids or URLs (repeat the option).")] = None,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only papers since DATE.")] = None,
    max_results: Annotated[int | None, typer.Option(min=1, help="Stop after this many papers.")] = None,
    queued: Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")] = False,
) -> None:
    """Fetch papers from the arXiv API by query or by id (at most one request per 3 s)."""
    if (query is None) == (not ids):
        raise typer.BadParameter("give either --query or --ids")
    if queued:
        since_text = since.date().isoformat() if since else None
        checked = [_checked_id(value) for value in ids or []]
        queue_job(
            "ingest-arxiv",
            {"query": query, "ids": checked or None, "since": since_text, "max_results": max_results},
        )
        return
    settings = get_settings()
    with migrated_database() as database, arxiv_client(settings) as client, source_failures():
        if ids:
            result = ingest.ingest_arxiv_ids(database, client, [_checked_id(value) for value in ids])
        else:
            assert query is not None
            with progress_bar("papers fetched") as advance:
                result = ingest.ingest_arxiv_query(
                    database,
                    client,
                    query,
                    since=since.date() if since else None,
                    max_results=max_results,
                    batch_size=settings.ingest_batch_size,
                    progress=advance,
                )
    for missing in result.missing:
        console.print(f"[yellow]not found on arXiv:[/yellow] {missing}")
    _finish(result.counts)


@ingest_app.command("oai")
def ingest_oai(
    set_spec: Annotated[str, typer.Option("--set", help="OAI set, e.g. cs or physics:hep-th.")],
    from_date: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Records changed since.")],
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Records changed until.")] = None,
    metadata_prefix: Annotated[str, typer.Option(help="arXiv (richer) or oai_dc.")] = "arXiv",
    queued: Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")] = False,
) -> None:
    """Harvest arXiv's OAI-PMH ListRecords with resumptionToken paging; resumes after a crash."""
    if metadata_prefix not in ("arXiv", "oai_dc"):
        raise typer.BadParameter("--metadata-prefix must be arXiv or oai_dc")
    if queued:
        payload = {"set": set_spec, "from": from_date.date().isoformat(), "metadata_prefix": metadata_prefix}
        queue_job("ingest-oai", {**payload, "until": until.date().isoformat() if until else None})
        return
    with (
        migrated_database() as database,
        oai_client(get_settings()) as client,
        source_failures(),
        progress_bar("records harvested") as advance,
    ):
        counts = ingest.ingest_oai(
            database,
            client,
            set_spec=set_spec,
            from_date=from_date.date(),
            until=until.date() if until else None,
            metadata_prefix=metadata_prefix,
            progress=advance,
        )
    _finish(counts)


@ingest_app.command("daily")
def ingest_daily(
    path: Annotated[Path, typer.Argument(exists=True, help="A Daily Papers JSON file or a directory of them.")],
    queued: Annotated[bool, typer.Option("--queue", help="Hand it to `papertide worker` instead.")] = False,
) -> None:
    """Ingest Daily Papers JSON (hf.co /api/daily_papers shape): featured days, upvotes, submitters."""
    if queued:
        queue_job("ingest-daily", {"path": str(path.resolve())})
        return
    with migrated_database() as database, source_failures(), progress_bar("files") as advance:
        result = ingest.ingest_daily(database, path, progress=advance)
    console.print(f"{result.files} files; featured: {result.featured.summary()}")
    _finish(result.papers)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the account an administrator.")] = False,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="PAPERTIDE_NEW_PASSWORD",
            help="Prompted for when not given (or set PAPERTIDE_NEW_PASSWORD).",
        ),
    ] = "",
) -> None:
    """Create an account (an administrator with --admin)."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        create_user(session, username=username, password=password, email=email, is_admin=admin)
    console.print(f"created {'administrator' if admin else 'user'} {username}")


@user_app.command("admin")
def user_admin(
    username: Annotated[str, typer.Argument(help="Login name.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the administrator role away.")] = False,
) -> None:
    """Grant (or with --revoke, take away) the administrator role."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        set_admin(session, username, not revoke)
    console.print(f"{username} is {'no longer ' if revoke else ''}an administrator")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. meta-ai.")],
    fullname: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create an organization."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        create_organization(session, name, fullname)
    console.print(f"created organization {name}")


@org_app.command("member")
def org_member(
    name: Annotated[str, typer.Argument(help="Organization name.")],
    username: Annotated[str, typer.Argument(help="User to add.")],
    role: Annotated[str, typer.Option(help="member or admin.")] = "member",
) -> None:
    """Add a user to an organization, so they can submit papers on its behalf."""
    with migrated_database() as database, _account_errors(), database.write_session() as session:
        add_member(session, name, username, role)
    console.print(f"{username} is a {role} of {name}")


def _account_errors() -> AbstractContextManager[None]:
    return reported(AccountError, heading="")


@app.command()
def embed(
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default from PAPERTIDE_EMBEDDING_DEVICE).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Embed at most this many papers.")] = None,
    status: Annotated[bool, typer.Option("--status", help="Print how far embedding got, embed nothing.")] = False,
) -> None:
    """Embed papers that have no vector yet (what `serve` does in the background), with progress."""
    settings = get_settings()
    if device is not None:
        if device not in ("auto", "cpu", "cuda"):
            raise typer.BadParameter("--device must be auto, cpu or cuda")
        settings = settings.model_copy(update={"embedding_device": device})
    semantic = open_semantic(settings.model_copy(update={"semantic_search": True}))
    assert semantic is not None
    with migrated_database() as database:
        with database.read_session() as session:
            before = embedding_status(session, semantic.model)
        console.print(f"{semantic.model}: {before.embedded} of {before.papers} papers embedded")
        if status:
            return
        if before.pending == 0:
            raise typer.Exit(EXIT_NOTHING_NEW)
        try:
            with progress_bar("papers embedded", total=min(before.pending, limit or before.pending)) as advance:
                done = 0

                def on_batch(batch: EmbedBatch) -> None:
                    nonlocal done
                    done += batch.encoded + batch.reused
                    advance(done)

                embed_new_papers(database, semantic, limit=limit, on_batch=on_batch)
            if semantic.file_index is not None:
                with progress_bar("vectors written to the vector file") as advance:
                    semantic.fold_vectors(database, progress=advance)
        except EmbedderError as error:
            console.print(f"[red]Embedding failed:[/red] {error}")
            raise typer.Exit(1) from error
        with database.read_session() as session:
            after = embedding_status(session, semantic.model)
    console.print(f"[green]{after.embedded} of {after.papers} papers embedded[/green] on {semantic.device}")


@digest_app.command("send")
def digest_send(
    period: Annotated[Cadence, typer.Option(help="daily or weekly.")] = "daily",
    today: Annotated[
        str | None, typer.Option("--today", help="Send as if today were this date (YYYY-MM-DD); default: today UTC.")
    ] = None,
) -> None:
    """Send the digest of the last period to every active subscriber who has not had it (safe to rerun)."""
    try:
        day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    except ValueError as error:
        raise typer.BadParameter("--today must be a date like 2026-11-27") from error
    settings = get_settings()
    with migrated_database() as database:
        try:
            with progress_bar("digests handled") as advance:
                report = send_digests(
                    database,
                    settings,
                    period,
                    day,
                    open_semantic(settings),
                    progress=advance,
                )
        except (DigestBusy, MailNotConfigured) as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
    console.print(report.summary())
    if report.sent + report.failed + report.retry == 0:
        raise typer.Exit(EXIT_NOTHING_NEW)


@app.command("export")
def export_command(
    output: Annotated[Path, typer.Argument(help="A .jsonl file, or a directory for parquet.")],
    format: Annotated[Literal["jsonl", "parquet"], typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
) -> None:
    """Write every paper, featured day, account, vote, comment, collection and subscription to a file."""
    with migrated_database() as database, reported(ExportError, heading="Export failed:"):
        if format == "parquet":
            count = write_parquet(database, output)
        else:
            with output.open("w", encoding="utf-8") as out, progress_bar("rows written") as advance:
                count = write_jsonl(database, out, advance)
    console.print(f"[green]{count} rows written to {output}[/green]")


@app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file from `papertide export`.")],
) -> None:
    """Load an export (jsonl) into this instance, which must be empty; all of it or nothing."""
    with (
        migrated_database() as database,
        reported(ExportError, heading="Import failed:"),
        source.open(encoding="utf-8") as lines,
        progress_bar("rows read") as advance,
    ):
        count = import_rows(database, read_jsonl(lines), advance)
    refresh_keyword_index()
    console.print(f"[green]{count} rows imported[/green]; run `papertide embed` to rebuild the vectors")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Web processes (default from settings).")] = None,
) -> None:
    """Serve the web app and the API from the configured database."""
    settings = get_settings()
    with open_database() as database:
        ensure_schema(database, settings)
    _run_server(settings, host or settings.host, port or settings.port, workers or settings.web_workers)


@app.command()
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
    """Create the embedded database, load recent papers (arXiv, or --from FILE_OR_DIR), then serve them."""
    settings = get_settings()
    with migrated_database() as database:
        if from_path is not None:
            _load_local(database, from_path, settings)
        else:
            _load_recent_arxiv(database, settings, days, max_results)
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
                counts = ingest.ingest_snapshot(
                    database, snapshot, batch_size=settings.ingest_batch_size, progress=advance
                )
            console.print(f"{snapshot}: {counts.summary()}")
        for daily in daily_files:
            result = ingest.ingest_daily(database, daily)
            console.print(f"{daily}: papers {result.papers.summary()}; featured {result.featured.summary()}")


def _load_recent_arxiv(database: Database, settings: Settings, days: int, max_results: int) -> None:
    query = " OR ".join(f"cat:{category}" for category in settings.demo_categories.split())
    since = datetime.now(UTC).date() - timedelta(days=days)
    console.print(f"Fetching {query} since {since} from {settings.arxiv_api_url} (one request per 3 s)…")
    try:
        with arxiv_client(settings) as client, progress_bar("papers fetched") as advance:
            result = ingest.ingest_arxiv_query(
                database, client, query, since=since, max_results=max_results, progress=advance
            )
    except SourceUnavailable as error:
        console.print(f"[red]Could not reach arXiv:[/red] {error}")
        with database.read_session() as session:
            if query_totals(session).papers:
                console.print("[yellow]Serving the papers already in the database.[/yellow]")
                return
        console.print(
            "No network? Run the demo offline from a file: "
            "[bold]papertide demo --from arxiv-snapshot.jsonl.gz[/bold] (a snapshot and/or Daily Papers JSON "
            "file or directory)."
        )
        raise typer.Exit(1) from error
    console.print(f"arXiv: {result.counts.summary()}")


def _run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    # Child processes build their own app from the environment, so hand the resolved settings down.
    os.environ.setdefault("PAPERTIDE_DATABASE_URL", settings.resolved_database_url)
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        # Each process records its requests in files here, so a scrape of any process reports all of them.
        metrics_dir = tempfile.mkdtemp(prefix="papertide-metrics-")
        os.environ[MULTIPROCESS_ENV] = metrics_dir
    try:
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
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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
