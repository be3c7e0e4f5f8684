"""``papertide embed``, ``export``, ``import`` and ``digest send``: the commands that work on the instance's
content in the foreground, with progress (workers embed and send digests in the background too)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from papertide.cli.support import (
    EXIT_NOTHING_NEW,
    console,
    existing_database,
    migrated_database,
    plain,
    progress_bar,
    refresh_keyword_index,
    reported,
)
from papertide.config import get_settings
from papertide.db import Database
from papertide.mail import MailNotConfigured
from papertide.search.embedder import EmbedderError
from papertide.search.semantic import Semantic, open_semantic
from papertide.services.digests import DigestBusy, send_digests
from papertide.services.embeddings import EmbedBatch, embed_new_papers, embedding_status
from papertide.services.export import ExportError, import_rows, read_jsonl, write_jsonl, write_parquet
from papertide.services.subscriptions import Cadence

content_app = typer.Typer()
digest_app = typer.Typer(help="Email digests (exit 3 = nothing was due).")


@content_app.command()
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
    with existing_database() if status else migrated_database() as database:
        with database.read_session() as session:
            before = embedding_status(session, semantic.model)
        console.print(f"{semantic.model}: {before.embedded} of {before.papers} papers embedded")
        if status:
            return
        if before.pending == 0:
            raise typer.Exit(EXIT_NOTHING_NEW)
        try:
            _embed_all(database, semantic, limit, total=min(before.pending, limit or before.pending))
        except EmbedderError as error:
            console.print(f"[red]Embedding failed:[/red] {plain(error)}")
            raise typer.Exit(1) from error
        with database.read_session() as session:
            after = embedding_status(session, semantic.model)
    console.print(f"[green]{after.embedded} of {after.papers} papers embedded[/green] on {semantic.device}")


def _embed_all(database: Database, semantic: Semantic, limit: int | None, total: int) -> None:
    """Embed to the end (or ``limit``) in one go, unlike the embed job, then fold the vectors into the file."""
    with progress_bar("papers embedded", total=total) as advance:
        done = 0

        def on_batch(batch: EmbedBatch) -> None:
            nonlocal done
            done += batch.encoded + batch.reused
            advance(done)

        embed_new_papers(database, semantic, limit=limit, on_batch=on_batch)
    if semantic.file_index is not None:
        with progress_bar("vectors written to the vector file") as advance:
            semantic.fold_vectors(database, progress=advance)


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
            console.print(f"[red]{plain(error)}[/red]")
            raise typer.Exit(1) from error
    console.print(report.summary())
    if report.sent + report.failed + report.retry == 0:
        raise typer.Exit(EXIT_NOTHING_NEW)


@content_app.command("export")
def export_command(
    output: Annotated[Path, typer.Argument(help="A .jsonl file, or a directory for parquet.")],
    format: Annotated[Literal["jsonl", "parquet"], typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    with_password_hashes: Annotated[
        bool,
        typer.Option(
            "--with-password-hashes",
            help="Include the accounts' argon2 password hashes (a move to a new server, kept secret). Without it, "
            "accounts sign in again on the new instance through 'Forgot your password?'.",
        ),
    ] = False,
) -> None:
    """Write every paper, featured day, account, vote, comment, collection and subscription to a file."""
    with existing_database() as database, reported(ExportError, heading="Export failed:"):
        if format == "parquet":
            count = write_parquet(database, output, password_hashes=with_password_hashes)
        else:
            with output.open("w", encoding="utf-8") as out, progress_bar("rows written") as advance:
                count = write_jsonl(database, out, advance, password_hashes=with_password_hashes)
    console.print(f"[green]{count} rows written to {plain(output)}[/green]")


@content_app.command("import")
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
