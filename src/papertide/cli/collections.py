"""``papertide collection import USER FILE``: a Zotero, Mendeley or BibTeX library into one of USER's collections,
through ``services/library_import.py`` (the same verb as the web upload); prints the report, exit 1 when the file
or the collection is refused (nothing is imported then), 3 when nothing in the file matched a paper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.support import EXIT_NOTHING_NEW, console, migrated_database, plain, reported
from papertide.config import get_settings
from papertide.queries.people import query_user
from papertide.services.library_files import MAX_BYTES
from papertide.services.library_import import ImportRefused, import_library

collection_app = typer.Typer(help="Collections.")


@collection_app.command("import")
def collection_import(
    username: Annotated[str, typer.Argument(help="The account whose collection receives the papers.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .bib, .ris or CSL-JSON export.")],
    collection: Annotated[
        str | None, typer.Option("--collection", help="The slug of an existing collection (default: a new one).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The new collection's title (default: the file's name).")] = None,
) -> None:
    """Import a citation manager's library: entries matched by arXiv id, DOI or title, unknown ids fetched."""
    if file.stat().st_size > MAX_BYTES:
        console.print(
            f"[red]{plain(file)} is larger than {MAX_BYTES:,} bytes; split the library and import each part.[/red]"
        )
        raise typer.Exit(1)
    with migrated_database() as database, reported(ImportRefused, heading="Nothing imported:"):
        with database.read_session() as session:
            user = query_user(session, username)
        if user is None:
            raise ImportRefused(f"there is no account {username!r}.")
        report = import_library(
            database,
            get_settings(),
            owner_id=user.id,
            data=file.read_bytes(),
            filename=file.name,
            collection_slug=collection,
            new_title=title,
        )
    for line in report.lines:
        colour = {"matched": "green", "fetched": "cyan", "unmatched": "yellow"}[line.outcome]
        paper = f" {line.arxiv_id}" if line.arxiv_id else ""
        console.print(
            f"[{colour}]{line.outcome:9}[/{colour}]{plain(paper)} {plain(line.label)}: {plain(line.reason)}",
            highlight=False,
        )
    counts = ", ".join(f"{len(report.of(kind))} {kind}" for kind in ("matched", "fetched", "unmatched"))
    console.print(
        f"{report.format}: {counts}; {report.added} entries imported into /users/{username}/collections/"
        f"{report.collection_slug} ({report.collection_title})"
    )
    if report.added == 0:
        raise typer.Exit(EXIT_NOTHING_NEW)
