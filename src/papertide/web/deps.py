"""Request-scoped dependencies shared by routes: the database, the settings, the search engine and its semantic side,
a read session, the request's one write transaction, and the paper an arXiv id names.

:data:`WriteSession` is how a route changes anything: one transaction for the whole request, committed after the
route returns and before the response leaves (``scope="function"``), so a failed commit (a full disk) still answers
with its error page; an exception rolls it back. Its first statement takes SQLite's write lock, so it must run in
the route itself, and a writing route returns a ready ``Response``: resolving a dependency or serializing a
``response_model`` in another worker thread while holding the lock could starve the thread pool of the very
thread the holder waits for. Routes that do network I/O (fetching from arXiv, sending mail) take
:data:`AppDatabase` instead and call a service that keeps its transactions short.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy.orm import Session

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.config import Settings
from papertide.db import Database
from papertide.queries.papers import query_visible_paper
from papertide.search.engine import SearchEngine
from papertide.search.semantic import Semantic

MAX_ROW_ID = 2**63 - 1  # the largest id either database stores; a larger one names nothing (404), never a crash
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_search(request: Request) -> SearchEngine:
    """The app's one search engine, built by the app factory."""
    engine: SearchEngine = request.app.state.search
    return engine


def get_semantic(request: Request) -> Semantic | None:
    """The engine's semantic side, for more-like-this and personal picks; None when semantic search is off."""
    return get_search(request).semantic


def read_session(request: Request) -> Iterator[Session]:
    with get_database(request).read_session() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    with get_database(request).write_session() as session:
        yield session


@dataclass(frozen=True, slots=True)
class PaperRef:
    """A visible paper named in a request: its row id, canonical arXiv id and title."""

    id: int
    arxiv_id: str
    title: str


class PaperNotFound(LookupError):
    """An arXiv id that is malformed, unknown here or hidden; the message says which and what to do.
    ``arxiv_id`` is the canonical id when the id was well-formed."""

    def __init__(self, message: str, arxiv_id: str | None = None) -> None:
        super().__init__(message)
        self.arxiv_id = arxiv_id


def _canonical(arxiv_id: str) -> str:
    try:
        return parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as error:
        raise PaperNotFound(f"{error}. Search for the paper or go back to today's papers.") from error


def lookup_paper(session: Session, arxiv_id: str) -> PaperRef:
    """The visible paper ``arxiv_id`` names, in any id or URL form; hidden papers are gone for everyone."""
    canonical = _canonical(arxiv_id)
    known = query_visible_paper(session, canonical)
    if known is None:
        message = f"papertide has no paper {canonical}. Submit it (or POST /api/papers/index) to add it."
        raise PaperNotFound(message, canonical)
    return PaperRef(known[0], canonical, known[1])


def canonical_id(arxiv_id: str) -> str:
    """The canonical form of an arXiv id or URL, or 404 saying what is wrong (for pages that show hidden papers
    to administrators, which then check visibility themselves)."""
    try:
        return _canonical(arxiv_id)
    except PaperNotFound as error:
        raise HTTPException(404, str(error)) from error


def resolve_paper(session: Session, arxiv_id: str) -> PaperRef:
    """:func:`lookup_paper`, or 404 with its message."""
    try:
        return lookup_paper(session, arxiv_id)
    except PaperNotFound as error:
        raise HTTPException(404, str(error)) from error


def visible_paper(arxiv_id: str, session: Annotated[Session, Depends(read_session)]) -> PaperRef:
    return resolve_paper(session, arxiv_id)


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
VisiblePaper = Annotated[PaperRef, Depends(visible_paper)]

AppDatabase = Annotated[Database, Depends(get_database)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppSearch = Annotated[SearchEngine, Depends(get_search)]
SemanticSearch = Annotated[Semantic | None, Depends(get_semantic)]
