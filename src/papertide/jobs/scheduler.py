"""The in-process scheduler that ``papertide serve`` runs in the embedded mode: a daemon thread that embeds new
papers every ``PAPERTIDE_EMBED_INTERVAL_SECONDS``.

Several web processes may share one database (``--workers``); a lease row in ``job_leases`` lets only one of them
run a job at a time, and passes to another if the holder dies (the lease expires).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import or_, update

from papertide.db import Database, insert_ignoring_conflicts
from papertide.jobs.tasks import embed_new_papers
from papertide.models import JobLease, utcnow
from papertide.search.semantic import Semantic

log = logging.getLogger(__name__)
EMBED_PER_TICK = 2_000  # a tick of a few minutes at most, so the lease stays fresh and shutdown is quick


def acquire_lease(database: Database, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease ``name``; True when ``holder`` holds it for the next ``seconds``."""
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    with database.write_session() as session:
        if insert_ignoring_conflicts(session, JobLease, {"name": name, "holder": holder, "expires_at": expires}):
            return True
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name, or_(JobLease.holder == holder, JobLease.expires_at < now))
            .values(holder=holder, expires_at=expires)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]


class Scheduler:
    def __init__(self, database: Database, semantic: Semantic, interval: float) -> None:
        self.database = database
        self.semantic = semantic
        self.interval = interval
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="papertide-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # a failed tick must not end the thread; the next one retries
                log.exception("background embedding failed; retrying in %.0f s", self.interval)
            if self._stop.wait(self.interval):
                return

    def tick(self) -> int:
        if not acquire_lease(self.database, "embed", self.holder, max(self.interval * 10, 300)):
            return 0
        done = embed_new_papers(self.database, self.semantic, limit=EMBED_PER_TICK)
        if done:
            log.info("embedded %d papers", done)
        return done
