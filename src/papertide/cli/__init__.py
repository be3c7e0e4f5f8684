"""The ``papertide`` command (``main``, the ``app`` it runs), put together from one module per command group:

- ``version`` (here);
- ``embed``, ``export``, ``import``, ``digest send`` (``content``);
- ``serve`` (``serve``), ``demo`` (``demo``);
- ``db upgrade``, ``db current``, ``worker``, ``jobs status``, ``jobs retry``, ``backup``, ``restore`` (``ops``);
- ``ingest snapshot``, ``ingest arxiv``, ``ingest oai``, ``ingest daily``, ``ingest hf``, ``sources status``
  (``ingest``);
- ``user add``, ``user admin``, ``org add``, ``org member`` (``accounts``);
- ``collection import`` (``collections``: a Zotero, Mendeley or BibTeX library into a collection);
- ``mcp`` (``mcp``: the MCP server over stdio);
- ``topics insights`` (``topics``: papertide's own keyphrases and gists).

Thin: every command calls services, queries and jobs; ``support`` holds what they share.

Exit codes, for cron: 0 success with something new, 3 success with nothing new (so ``papertide ingest arxiv ...
&& next-step`` skips follow-up work), 1 a failure with a message saying what to do, 2 bad usage, 130 stopped by
Ctrl+C or SIGTERM (``serve``, ``demo`` and ``worker`` stop their background work first and exit 0 or 130).
"""

from __future__ import annotations

import typer
from sqlalchemy.exc import DBAPIError

from papertide import __version__
from papertide.cli.accounts import org_app, user_app
from papertide.cli.collections import collection_app
from papertide.cli.content import content_app, digest_app
from papertide.cli.demo import demo_app
from papertide.cli.ingest import ingest_app, sources_app
from papertide.cli.mcp import mcp_app
from papertide.cli.ops import db_app, ops_app
from papertide.cli.serve import serve_app
from papertide.cli.support import EXIT_INTERRUPTED, Interrupted, console, leave, on_signals_interrupt, plain
from papertide.cli.topics import topics_app
from papertide.config import ConfigError
from papertide.db import classify_database_error

DATABASE_ADVICE = {
    "full": "The disk holding the database is full. Nothing was lost: the transaction in progress was rolled back. "
    "Free some space and run the same command again (ingests resume where they stopped).",
    "unavailable": "The database cannot be reached or is busy. Check that PostgreSQL is running and "
    "PAPERTIDE_DATABASE_URL points at it, then run the command again.",
    "timeout": "A database statement ran past PAPERTIDE_DB_STATEMENT_TIMEOUT_MS and was stopped; its transaction "
    "was rolled back. Run the command again with a larger timeout (0: none).",
    "read_only": "The database refuses writes (a read-only file or file system, or a PostgreSQL standby). Make the "
    "file and its directory writable by this user, or point PAPERTIDE_DATABASE_URL at the primary.",
    "io": "The disk failed a read or write of the database. Check the kernel log (dmesg) and the disk, then run the "
    "command again.",
    "corrupt": "The database file is damaged. Restore it from a backup (`papertide restore`), or from an export "
    "(`papertide import`).",
}

app = typer.Typer(help="papertide: daily research papers, search, digests and an hf.co-compatible API.")
# `papertide --help` lists ``version``, then what is added here, in this order.
app.add_typer(content_app)
app.add_typer(serve_app)
app.add_typer(demo_app)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(sources_app, name="sources")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(collection_app, name="collection")
app.add_typer(digest_app, name="digest")
app.add_typer(ops_app)
app.add_typer(mcp_app)
app.add_typer(topics_app, name="topics")


def main() -> None:
    on_signals_interrupt()
    try:
        app()
    except Interrupted:
        console.print("Stopped. What was done so far is kept: run the same command again to go on from there.")
        leave(EXIT_INTERRUPTED)
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {plain(error)}")
        raise SystemExit(1) from error
    except DBAPIError as error:
        kind = classify_database_error(error)
        if kind == "other":
            raise
        console.print(f"[red]{DATABASE_ADVICE[kind]}[/red]\n({type(error.orig).__name__}: {plain(error.orig)})")
        raise SystemExit(1) from error


@app.command()
def version() -> None:
    """Print the papertide version."""
    typer.echo(__version__)
