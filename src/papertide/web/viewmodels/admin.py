"""The administrator's page, the moderation desk: accounts (found by name or address), hidden papers and comments
with who hid them and when, the log of every moderator's action, and how far background work has got (embedding
progress, the vector index, each automatic source's last run, next run and last error)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.scheduler import SourceOverview, sources_overview
from papertide.models import utcnow
from papertide.queries.moderation import (
    AccountRow,
    Hidden,
    LoggedAction,
    query_accounts,
    query_hidden_comments,
    query_hidden_papers,
    query_moderation_log,
)
from papertide.search.semantic import Semantic
from papertide.services.embeddings import embedding_status

# What the log says each action did, in the moderator's words (services/moderation.py names the actions).
SAID: dict[str, str] = {
    "hide_paper": "hid paper",
    "unhide_paper": "unhid paper",
    "hide_comment": "hid comment",
    "unhide_comment": "unhid comment",
    "make_admin": "made an administrator:",
    "unmake_admin": "removed administrator rights of",
    "disable_user": "disabled the account",
    "enable_user": "enabled the account",
    "end_sessions": "ended every session of",
}


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime
    by: str | None  # None: an account deleted since
    said: str
    target: str


@dataclass(frozen=True, slots=True)
class Desk:
    find: str  # what the account search asked for
    accounts: list[AccountRow]
    hidden_papers: list[Hidden]
    hidden_comments: list[Hidden]
    log: list[LogLine]


def moderation_desk(session: Session, find: str) -> Desk:
    return Desk(
        find,
        query_accounts(session, find),
        query_hidden_papers(session),
        query_hidden_comments(session),
        [_line(entry) for entry in query_moderation_log(session)],
    )


def _line(entry: LoggedAction) -> LogLine:
    return LogLine(entry.at, entry.by, SAID.get(entry.action, entry.action), entry.target)


@dataclass(slots=True)
class AdminPage:
    semantic_search: bool
    model: str | None
    device: str | None
    papers: int
    embedded: int
    pending: int
    percent: float
    index: str
    sources: list[SourceOverview]
    desk: Desk


def admin_page(
    session: Session, database: Database, settings: Settings, semantic: Semantic | None, find: str = ""
) -> AdminPage:
    sources = sources_overview(database, settings, utcnow())
    desk = moderation_desk(session, find)
    if semantic is None:
        page = AdminPage(False, None, None, 0, 0, 0, 0.0, "off", sources, desk)
        return page
    status = embedding_status(session, semantic.model)
    index = semantic.file_index
    if index is not None:
        described = f"usearch file {index.path} · {len(index)} vectors, {index.in_memory} of them not yet folded in"
    else:
        described = "pgvector HNSW index in PostgreSQL"
    device = getattr(semantic._embedder, "device", None) if semantic._embedder is not None else None
    page = AdminPage(
        True,
        semantic.model,
        device,
        status.papers,
        status.embedded,
        status.pending,
        round(status.percent, 1),
        described,
        sources,
        desk,
    )
    return page
