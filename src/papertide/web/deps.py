"""Request-scoped dependencies shared by routes: the database, the settings, the search engine and its semantic side,
a read session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.search.semantic import Semantic
from papertide.search.service import SearchEngine


def get_db(request: Request) -> Database:
    database: Database = request.app.state.db
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
    with get_db(request).read_session() as session:
        yield session


DbSession = Annotated[Session, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppSearch = Annotated[SearchEngine, Depends(get_search)]
SemanticSearch = Annotated[Semantic | None, Depends(get_semantic)]
