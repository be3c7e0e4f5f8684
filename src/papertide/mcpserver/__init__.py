"""papertide for agents: an MCP server (Model Context Protocol, on the official ``mcp`` SDK) with tools to search,
list, read and collect papers, and a resource per paper's Markdown.

An entry point beside the web layer, held there by the import-linter contracts: it calls ``queries``, ``search``
and ``services`` as the routes do and never imports ``web/``. ``papertide mcp`` serves it over stdio
(``cli/mcp.py``); the app factory mounts its Streamable HTTP endpoint at ``/mcp``. ``server.py`` registers the
tools and the resource, ``tools.py`` holds their bodies, ``results.py`` their answers, ``arguments.py`` what
they say to arguments they cannot take, ``caller.py`` who calls.
"""

from papertide.mcpserver.endpoint import mcp_endpoint

__all__ = ["mcp_endpoint"]
