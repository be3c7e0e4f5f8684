"""The database a benchmark script fills: a SQLite file in its work folder, or a throwaway PostgreSQL cluster
started as the tests start theirs (tests/helpers/postgres.py) and stopped after."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def database_url(backend: str, workdir: Path, name: str) -> Iterator[str]:
    """The URL of a fresh database of ``backend`` ("sqlite" or "postgresql"), ``name``.db in ``workdir`` for SQLite."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / name}.db"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers
    from tests.helpers.postgres import PostgresCluster

    cluster = PostgresCluster.start()
    try:
        yield cluster.url()
    finally:
        cluster.stop()
