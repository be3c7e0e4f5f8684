"""``papertide topics insights``: papertide's own keyphrases and one-sentence gist of every paper that has none or
whose title or abstract changed (what the worker's "insights" job does in the background), in the foreground with
progress. Exit 3 when every paper was already read."""

from __future__ import annotations

from typing import Annotated

import typer

from papertide.cli.support import EXIT_NOTHING_NEW, console, migrated_database, progress_bar
from papertide.config import get_settings
from papertide.search.embedder import load_embedder
from papertide.services.keyphrases import make_insights, pending_count

topics_app = typer.Typer(help="The shape of the field: papertide's own keyphrases and gists of papers.")


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
