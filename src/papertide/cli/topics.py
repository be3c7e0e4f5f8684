"""``papertide topics insights``: papertide's own keyphrases and one-sentence gist of every paper that has none or
whose title or abstract changed (what the worker's "insights" job does in the background), in the foreground with
progress; exit 3 when every paper was already read. ``papertide topics build``: the topic atlas over every embedded
paper, aligned with the previous build (what the worker's weekly "topics" job does); exit 3 when too few papers
have vectors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer

from papertide.cli.support import EXIT_NOTHING_NEW, console, migrated_database, progress_bar
from papertide.config import get_settings
from papertide.search.embedder import load_embedder
from papertide.search.semantic import model_name
from papertide.services.keyphrases import make_insights, pending_count
from papertide.services.topics import NothingToGroup, build_topics

topics_app = typer.Typer(help="The shape of the field: papertide's own keyphrases and gists, the topic atlas.")


@topics_app.command()
def insights(
    limit: Annotated[int | None, typer.Option(min=1, help="Read at most this many papers.")] = None,
) -> None:
    """Extract keyphrases and a gist for papers that have none yet (no network, no model download)."""
    settings = get_settings()
    with migrated_database() as database:
        with database.read_session() as session:
            pending = pending_count(session)
        if pending == 0:
            console.print("Every paper already has papertide's keyphrases and gist.")
            raise typer.Exit(EXIT_NOTHING_NEW)
        embedder = load_embedder(
            settings.embedding_model,
            settings.embedding_device,
            settings.embedding_batch_size,
            settings.embedding_precision,
        )
        total = min(pending, limit or pending)
        with progress_bar("papers read", total=total) as advance:
            done = make_insights(database, embedder, limit=limit, on_batch=advance)
    console.print(f"[green]Read {done} papers[/green]: keyphrases and gist stored.")


@topics_app.command()
def build() -> None:
    """Group the embedded papers into topics, lay them out, label them and align them with the previous build."""
    settings = get_settings()
    with migrated_database() as database:
        try:
            report = build_topics(database, model_name(settings), datetime.now(UTC).date(), _phase_printer())
        except NothingToGroup as nothing:
            console.print(f"No topics built: {nothing}.")
            raise typer.Exit(EXIT_NOTHING_NEW) from nothing
    console.print(f"[green]{report.summary()}[/green]")


def _phase_printer() -> Callable[[str, int, int], None]:
    def show(phase: str, done: int, total: int) -> None:
        if done == total:
            console.print(f"{phase}: done")

    return show
