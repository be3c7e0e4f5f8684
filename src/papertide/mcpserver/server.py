"""The MCP server: papertide's tools and its paper resource, on the official ``mcp`` SDK (``MCPServer``).

:func:`build_server` registers the tools — each with a JSON schema from its annotated arguments and a description
an assistant can act on — and the ``papertide://papers/{arxiv_id}`` resource (the paper's Markdown). The same
server runs over stdio (``papertide mcp``, :func:`serve_stdio`) and over Streamable HTTP inside the web app
(``endpoint.py``, mounted at ``/mcp`` by the app factory). HTTP is stateless with JSON answers: every
request carries its own token, so any web process answers any request, as for the API.

Arguments are named alike across tools: ``query`` (words or a text), ``arxiv_id`` (a paper in any id or URL
form), ``limit``, ``date``/``week``/``month``. Arguments that do not fit a tool's schema are answered with what to
send (``arguments.py``), and an arXiv id sent as a number is taken where no digit can have been lost.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import BeforeValidator, Field, ValidationError

from papertide import __version__
from papertide.mcpserver import tools
from papertide.mcpserver.arguments import argument_advice, id_from_number
from papertide.mcpserver.caller import Caller, caller_of, stdio_caller
from papertide.mcpserver.results import Added, CollectionList, PaperDetail, PaperList
from papertide.mcpserver.tools import Filters, Toolbox
from papertide.queries.listings import Sort
from papertide.search.engine import SearchSort
from papertide.services.callers import REQUEST_CALLER

INSTRUCTIONS = """papertide is a research-paper discovery service (arXiv papers, Hugging Face-style Daily Papers).
Find papers with search_papers (keywords and meaning, with the query language), similar_papers (like a paper
or a text) or daily_papers (what was featured on a day, week or month, or trending); then get_paper for the
metadata or read_paper for the whole page as Markdown. Papers are named by arXiv id (2503.24322) in every tool.
With a personal access token: list_collections, my_feed (a read token) and add_to_collection (a write token)."""

IdFromNumber = BeforeValidator(id_from_number)
ArxivId = Annotated[
    str,
    IdFromNumber,
    Field(
        min_length=1,
        max_length=300,
        description="A paper: an arXiv id in any form (2503.24322, 2503.24322v2, arXiv:2503.24322, "
        "hep-th/9901001) or an arxiv.org/abs/ or papertide paper URL.",
    ),
]
Limit = Annotated[int, Field(ge=1, le=50, description="At most this many papers (1-50).")]
Day = Annotated[str | None, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A day, YYYY-MM-DD (e.g. 2026-07-09).")]
Week = Annotated[str | None, Field(pattern=r"^\d{4}-W\d{2}$", description="An ISO week, YYYY-Www (e.g. 2026-W28).")]
Month = Annotated[str | None, Field(pattern=r"^\d{4}-\d{2}$", description="A month, YYYY-MM (e.g. 2026-07).")]
READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class PapertideServer(MCPServer[Any]):
    """The SDK's server, whose answer to arguments that fail a tool's schema says what to send."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            cause = error.__cause__
            if isinstance(error, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            schema = next((tool.input_schema for tool in await self.list_tools() if tool.name == name), {})
            raise ToolError(argument_advice(name, cause, schema, arguments)) from cause


def build_server(box: Toolbox, *, stdio_token: str | None = None) -> MCPServer:
    """The server for ``box``; ``stdio_token`` is the caller's token over stdio (HTTP requests bring their own)."""
    server = PapertideServer("papertide", instructions=INSTRUCTIONS, version=__version__, website_url=box.base_url)

    def caller(ctx: Context) -> Caller:
        request = ctx.request_context.request  # None over stdio, where the token is the one the command began with
        if request is None:
            return stdio_caller(box.database, stdio_token)
        # Over HTTP the web layer read the token and left its caller on the request (web/routes/mcp.py).
        return caller_of(getattr(getattr(request, "state", None), REQUEST_CALLER, None))

    @server.tool(annotations=READS)
    def search_papers(
        query: Annotated[
            str,
            Field(
                max_length=1000,
                description='Words to find, in the query language: "exact phrase", -exclude, title:word, '
                "author:name, cat:cs.CL, after:2025-01-01, before:…, upvotes:>10, has:code; or one arXiv id.",
            ),
        ],
        ctx: Context,
        limit: Limit = 10,
        category: Annotated[str | None, Field(max_length=32, description="Only this arXiv category.")] = None,
        after: Annotated[date | None, Field(description="Published on or after this day.")] = None,
        before: Annotated[date | None, Field(description="Published before this day.")] = None,
        featured_only: Annotated[bool, Field(description="Only papers featured on Daily Papers.")] = False,
        has_code: Annotated[bool, Field(description="Only papers with a code repository.")] = False,
        sort: Annotated[SearchSort, Field(description="relevance, date (newest first) or upvotes.")] = "relevance",
    ) -> PaperList:
        """Search every paper papertide has indexed, by keywords and by meaning. Answers papers (arxiv_id, title,
        dates, upvotes) with why each matched, and how many matched in all."""
        caller(ctx)
        filters = Filters(category, after, before, featured_only, has_code, sort)
        return tools.search_papers(box, query, limit, filters)

    @server.tool(annotations=READS)
    def similar_papers(
        ctx: Context,
        arxiv_id: Annotated[
            str | None, IdFromNumber, Field(max_length=300, description="A paper to be like (any id form).")
        ] = None,
        query: Annotated[str | None, Field(max_length=10_000, description="A text to be like (an abstract).")] = None,
        like: Annotated[
            list[Annotated[str, IdFromNumber]] | None,
            Field(max_length=25, description="More papers to be like (arXiv ids)."),
        ] = None,
        unlike: Annotated[
            list[Annotated[str, IdFromNumber]] | None,
            Field(max_length=25, description="Papers to be unlike (arXiv ids)."),
        ] = None,
        limit: Limit = 10,
    ) -> PaperList:
        """Papers close in meaning to a paper, to a text, or to several papers and away from others (give at least
        one of arxiv_id, query, like). Each answer carries its similarity (0-1)."""
        caller(ctx)
        return tools.similar_to(box, arxiv_id, query, like or [], unlike or [], limit)

    @server.tool(annotations=READS)
    def daily_papers(
        ctx: Context,
        date: Day = None,
        week: Week = None,
        month: Month = None,
        sort: Annotated[
            Sort, Field(description="upvotes (most first), newest, or trending (upvotes decayed by age).")
        ] = "upvotes",
        limit: Limit = 20,
    ) -> PaperList:
        """The Daily Papers: what was featured on a day, in a week or in a month (give at most one). With none,
        the latest featured day; with none and sort=trending, what is trending now."""
        caller(ctx)
        return tools.daily(box, tools.one_period(date, week, month), sort, limit)

    @server.tool(annotations=READS)
    def get_paper(arxiv_id: ArxivId, ctx: Context) -> PaperDetail:
        """One paper's metadata: title, authors, abstract, categories, dates, upvotes and comments, code and
        project links, and its URLs (page, Markdown, PDF)."""
        caller(ctx)
        return tools.get_paper(box, arxiv_id)

    @server.tool(annotations=READS)
    def read_paper(arxiv_id: ArxivId, ctx: Context) -> str:
        """The paper's page as Markdown (what /papers/{id}.md serves): title, authors, links, dates, counts,
        abstract and similar papers. Also the resource papertide://papers/{arxiv_id}."""
        caller(ctx)
        return tools.read_paper(box, arxiv_id)

    @server.tool(annotations=READS)
    def list_collections(
        ctx: Context,
        username: Annotated[
            str | None,
            Field(
                max_length=96,
                description="Whose collections: a username or an organization; yours (with a token) when left out.",
            ),
        ] = None,
    ) -> CollectionList:
        """A user's or an organization's collections (id, title, size, URL): the public ones, and with your token
        also yours and your organizations' members-only ones. Use an id with add_to_collection."""
        return tools.list_collections(box, caller(ctx), username)

    @server.tool(annotations=WRITES)
    def add_to_collection(
        collection_id: Annotated[int, Field(ge=1, le=2**63 - 1, description="One of your collections' ids.")],
        arxiv_id: ArxivId,
        ctx: Context,
        note: Annotated[str, Field(max_length=4000, description="A note shown beside the paper.")] = "",
    ) -> Added:
        """Add a paper to one of your collections (needs a write token; counts against your write limit).
        Adding a paper that is already there changes nothing."""
        return tools.collect(box, caller(ctx), collection_id, arxiv_id, note)

    @server.tool(annotations=READS)
    def my_feed(ctx: Context, limit: Limit = 20) -> PaperList:
        """Your personal ranking ("For you", needs a read token): papers close to what you upvoted and collected,
        each with the paper of yours it is closest to."""
        return tools.my_feed(box, caller(ctx), limit)

    @server.resource(
        "papertide://papers/{+arxiv_id}",
        name="paper",
        title="A paper as Markdown",
        description="The paper page as Markdown, as read_paper returns it; arxiv_id in any id form.",
        mime_type="text/markdown",
    )
    def paper_markdown(arxiv_id: str, ctx: Context) -> str:
        try:
            caller(ctx)
            return tools.read_paper(box, arxiv_id)
        except ToolError as error:
            raise ResourceError(str(error)) from error

    return server


def serve_stdio(box: Toolbox, token: str | None) -> None:
    """Answer MCP over stdin/stdout until the client closes it (``papertide mcp``). A bad token stops it first."""
    stdio_caller(box.database, token)
    build_server(box, stdio_token=token).run("stdio")
