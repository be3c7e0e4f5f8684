"""Where resumable and repeatable work got to, in ``ingest_checkpoints``: a snapshot's last committed line, an OAI-PMH
resumption token, a mirrored day's validators, and the files a demo loaded (so a restart loads only what changed).

A checkpoint is written in the same transaction as the rows it describes, so a crash can only leave it behind what
was stored, never ahead of it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.models import IngestCheckpoint, utcnow

LOADED_FILES = "loaded-file"
_MAX_KEY = 500  # the key column's width


def load_checkpoint(database: Database, source: str, key: str) -> str | None:
    with database.read_session() as session:
        return session.execute(
            select(IngestCheckpoint.position).where(IngestCheckpoint.source == source, IngestCheckpoint.key == key)
        ).scalar_one_or_none()


def save_checkpoint(session: Session, source: str, key: str, position: str | None) -> None:
    """Store ``position``; ``None`` means the run finished, so the next one starts from the beginning."""
    session.execute(delete(IngestCheckpoint).where(IngestCheckpoint.source == source, IngestCheckpoint.key == key))
    if position is not None:
        session.add(IngestCheckpoint(source=source, key=key, position=position, updated_at=utcnow()))


def file_fingerprint(path: Path) -> dict[str, int]:
    """Size and modification time: enough to tell an edited or replaced file without reading gigabytes."""
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_key(path: Path) -> str:
    key = str(path.resolve())
    return key if len(key) <= _MAX_KEY else hashlib.sha256(key.encode()).hexdigest()


def loaded_unchanged(database: Database, path: Path) -> bool:
    """Whether ``path`` was loaded before (:func:`mark_loaded`) and has not changed since."""
    saved = load_checkpoint(database, LOADED_FILES, file_key(path))
    return saved is not None and json.loads(saved) == file_fingerprint(path)


def mark_loaded(database: Database, path: Path) -> None:
    with database.write_session() as session:
        save_checkpoint(session, LOADED_FILES, file_key(path), json.dumps(file_fingerprint(path)))
