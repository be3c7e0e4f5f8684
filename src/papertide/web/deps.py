"""Request-scoped dependencies shared by routes: the database session, settings, templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def get_db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_session(request: Request) -> Iterator[Session]:
    with get_db(request).read_session() as session:
        yield session


DbSession = Annotated[Session, Depends(read_session)]
Db = Annotated[Database, Depends(get_db)]
