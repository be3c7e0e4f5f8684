"""The in-process scheduler that ``papertide serve`` runs in the embedded mode: a daemon thread that, every
``PAPERTIDE_JOBS_INTERVAL_SECONDS``, embeds new papers and, once the send hour has passed, sends the digests due
(daily on weekdays, weekly on Mondays).

Several web processes may share one database (``--workers``); leases (``jobs/leases.py``) let only one of them
run a job at a time, and pass to another if the holder dies. The digest ledger makes a repeated send a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.leases import acquire_lease
from papertide.jobs.tasks import embed_new_papers
from papertide.models import utcnow
from papertide.search.semantic import Semantic
from papertide.services.digests import DigestBusy, digest_period, send_digests
from papertide.services.subscriptions import Cadence

log = logging.getLogger(__name__)
EMBED_PER_TICK = 2_000  # a tick of a few minutes at most, so the lease stays fresh and shutdown is quick


def digests_due(settings: Settings, now: datetime) -> list[Cadence]:
    """The cadences whose digest should go out at ``now``: none before the send hour or at weekends."""
    if not settings.smtp_host or now.hour < settings.digest_send_hour_utc or now.weekday() >= 5:
        return []
    return ["daily", "weekly"] if now.weekday() == 0 else ["daily"]


class Scheduler:
    def __init__(self, database: Database, settings: Settings, semantic: Semantic | None, interval: float) -> None:
        self.database = database
        self.settings = settings
        self.semantic = semantic
        self.interval = interval
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._sent_periods: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="papertide-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            for job in (self.embed, self.digests):
                try:
                    job()
                except Exception:  # a failed job must not end the thread; the next tick retries
                    log.exception("background %s failed; retrying in %.0f s", job.__name__, self.interval)
            if self._stop.wait(self.interval):
                return

    def embed(self) -> int:
        if self.semantic is None:
            return 0
        if not acquire_lease(self.database, "embed", self.holder, max(self.interval * 10, 300)):
            return 0
        done = embed_new_papers(self.database, self.semantic, limit=EMBED_PER_TICK)
        if done:
            log.info("embedded %d papers", done)
        return done

    def digests(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        for cadence in digests_due(self.settings, now):
            key = digest_period(cadence, now.date()).key
            if key in self._sent_periods:
                continue
            try:
                report = send_digests(self.database, self.settings, cadence, now.date(), self.semantic)
            except DigestBusy:
                continue  # another process is sending it
            log.info("digest %s", report.summary())
            if report.retry == 0:
                self._sent_periods.add(key)
