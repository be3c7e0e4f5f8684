"""The one inter-process lock the derived index files use: an flock on a file beside the index, so the index itself
can be replaced while the lock is held, and a crashed holder releases it with its last file descriptor."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def exclusive_lock(lock_path: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive flock on ``lock_path``; yields False (holding nothing) when ``wait`` is false and another
    process holds it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = open(lock_path, "ab")  # noqa: SIM115 (closed in finally, which releases the lock)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()
