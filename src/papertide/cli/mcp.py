"""``papertide mcp``: the MCP server over stdio, for an assistant on this machine (its MCP client starts the
command and talks to it over stdin/stdout; see docs/api.md, "Agents"). Logs go to stderr, never stdout.

The ``mcp`` SDK is imported when the command runs, not when the CLI loads: it takes seconds to import, and every
other command (cron's ingests among them) would pay for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from papertide.cli.support import console, ensure_schema, open_database, plain
from papertide.config import get_settings
from papertide.search.engine import SearchEngine
from papertide.search.semantic import open_semantic

mcp_app = typer.Typer()


@mcp_app.command()
def mcp(
    token: Annotated[
        str | None,
        typer.Option(
            envvar="PAPERTIDE_MCP_TOKEN",
            show_envvar=True,
            help="A personal access token (pt_…): a read token for list_collections and my_feed, a write token "
            "for add_to_collection. Without one, the public tools only.",
        ),
    ] = None,
) -> None:
    """Serve papertide's MCP tools over stdio (for Claude Desktop, Cursor and other MCP clients)."""
    from mcp.server.mcpserver.exceptions import ToolError

    from papertide.mcpserver.server import serve_stdio
    from papertide.mcpserver.tools import Toolbox

    settings = get_settings()
    semantic = open_semantic(settings)
    try:
        with open_database() as database:
            ensure_schema(database, settings)
            serve_stdio(Toolbox(database, settings, SearchEngine.of(settings, semantic)), token)
    except ToolError as error:  # a bad token, before the first message
        console.print(f"[red]{plain(error)}[/red]")
        raise typer.Exit(1) from error
    finally:
        if semantic is not None:
            semantic.close()
