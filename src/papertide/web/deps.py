"""Request-scoped dependencies shared by routes: the database, the settings, the semantic side, a read session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.search.semantic import Semantic


def get_db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_semantic(request: Request) -> Semantic | None:
    semantic: Semantic | None = request.app.state.semantic
    return semantic


def read_session(request: Request) -> Iterator[Session]:
    with get_db(request).read_session() as session:
        yield session


DbSession = Annotated[Session, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
SemanticSearch = Annotated[Semantic | None, Depends(get_semantic)]
