"""Keeping the keyword index in step with ``papers``: one :class:`TantivyIndex` per directory per process, and
:func:`sync_keyword_index`, which the job tick and the CLI call after ingests.
"""

from __future__ import annotations

import threading
from pathlib import Path

from papertide.config import Settings
from papertide.db import Database
from papertide.search.tantivy_keyword.index import IndexBusy, Progress, TantivyIndex

_INDEXES: dict[Path, TantivyIndex] = {}


_INDEXES_LOCK = threading.Lock()


def open_keyword_index(path: Path) -> TantivyIndex:
    """This process's object for the index at ``path`` (one per directory, shared by every session and thread)."""
    key = path.resolve()
    with _INDEXES_LOCK:
        if key not in _INDEXES:
            _INDEXES[key] = TantivyIndex(key)
        return _INDEXES[key]


def sync_keyword_index(
    database: Database, settings: Settings, progress: Progress | None = None, *, wait: bool = True
) -> int:
    """Bring the keyword index up to date with ``papers`` (building it if missing or damaged); the number of papers
    indexed. With ``wait=False`` it returns 0 at once when another process is writing the index."""
    path = settings.keyword_index_path
    if path is None:
        return 0
    try:
        return open_keyword_index(path).sync(database.read_session, wait=wait, progress=progress)
    except IndexBusy:
        return 0
