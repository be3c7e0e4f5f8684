"""The schedule and the loop that runs it: every ``PAPERTIDE_JOBS_INTERVAL_SECONDS`` the due work is enqueued
(embedding new papers and reading them for papertide's keyphrases and gist; after the harvest hour, the day's
harvest of followed categories on announcement days and the Daily Papers mirror; thin papers' enrichment; after the
send hour, the day's digests: daily on weekdays, weekly on Mondays; the name mentions' recount a bulk load cut short
left owed), and a worker drains the queue in between.
Operators write no cron lines.

``papertide worker`` runs :class:`JobRunner` in the foreground; ``papertide serve`` runs one in a thread of each
web process in the embedded mode (``PAPERTIDE_JOBS_IN_WEB``). Any number of runners may share a database: the
queue gives each job to one worker, dedupe keys enqueue each digest period once however many schedules see it,
and the embed task's exclusive lease keeps two embedders from doing the same papers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.apart import run_apart
from papertide.jobs.worker import Worker
from papertide.models import Job, utcnow
from papertide.search.semantic import Semantic, model_name
from papertide.search.tantivy_keyword.sync import sync_keyword_index
from papertide.services.automatic import AUTOMATIC_SOURCES, DAILY_SOURCES, ENRICHMENT, AutomaticSource
from papertide.services.digests import digest_period
from papertide.services.enrichment import wanted_count
from papertide.services.name_mentions import mentions_owed_since
from papertide.services.source_status import Source, SourceStatus, record_offline, source_states
from papertide.services.subscriptions import Cadence
from papertide.services.topics import papers_without_topic
from papertide.sources.reachability import host_of, host_resolves

log = logging.getLogger(__name__)
KEEP_FINISHED = timedelta(days=2)
STOP_SECONDS = 3.0
ENRICH_REST = timedelta(hours=1)
TOPICS_AFTER_INGEST = 5_000  # embedded papers without a topic that make "a large ingest" (a rebuild that day)
# How long an owed recount of the name mentions waits untouched before the worker takes it: a bulk load still
# running moves the marker with every batch (and recounts at its end), so only one cut short stays quiet this long.
MENTIONS_QUIET = timedelta(minutes=10)


def digests_due(settings: Settings, now: datetime) -> list[Cadence]:
    """The cadences whose digest should go out at ``now``: none before the send hour or at weekends."""
    if not settings.smtp_host or now.hour < settings.digest_send_hour_utc or now.weekday() >= 5:
        return []
    return ["daily", "weekly"] if now.weekday() == 0 else ["daily"]


def _online(database: Database, settings: Settings, source: AutomaticSource) -> bool:
    """Whether ``source``'s host resolves; if not, the source shows as offline and waits for a later check (offline
    is a state: a job enqueued now would only fail, retry and fill the log)."""
    url = source.url(settings)
    if host_resolves(url):
        return True
    record_offline(database, source.name, host_of(url))
    return False


def _daily_due(settings: Settings, day: date) -> list[AutomaticSource]:
    """The daily sources due on ``day``: the harvest on announcement days, the Daily Papers mirror every day."""
    return [source for source in DAILY_SOURCES if source.on(settings) and _due(source, settings, day)]


def _due(source: AutomaticSource, settings: Settings, day: date) -> bool:
    return source.due_on is not None and source.due_on(settings, day)


def enqueue_due(database: Database, settings: Settings, now: datetime) -> list[str]:
    """Enqueue the work due at ``now``; the names of the jobs this call added. Each daily source is enqueued once
    per day (its dedupe key names the day) however many schedulers run; enrichment whenever thin papers wait."""
    added: list[str] = []
    if settings.semantic_search and not _pending(database, "embed") and queue.enqueue(database, "embed"):
        added.append("embed")
    if settings.semantic_search and not _pending(database, "insights") and queue.enqueue(database, "insights"):
        added.append("insights")  # papertide's own keyphrases and gist of new papers (services/keyphrases.py)
    if settings.semantic_search:
        added += _topics_due(database, settings, now.date())
    if now.hour >= settings.harvest_hour_utc:
        for source in _daily_due(settings, now.date()):
            key = source.day_key(now.date())
            if _enqueued(database, key) or not _online(database, settings, source):
                continue
            if queue.enqueue(database, source.name, {}, dedupe_key=key):
                added.append(key)
    if _mentions_due(database, now) and queue.enqueue(database, "mentions"):
        added.append("mentions")
    enrich = _enrichment_due(database, now) and _online(database, settings, ENRICHMENT)
    if enrich and queue.enqueue(database, ENRICHMENT.name):
        added.append(ENRICHMENT.name)
    for cadence in digests_due(settings, now):
        key = f"digest:{digest_period(cadence, now.date()).key}"  # "digest:daily:2026-07-09"
        if queue.enqueue(database, "digest", {"cadence": cadence, "today": now.date().isoformat()}, dedupe_key=key):
            added.append(key)
    queue.prune_finished(database, KEEP_FINISHED)
    return added


def next_runs(database: Database, settings: Settings, now: datetime) -> dict[Source, datetime | None]:
    """When each source runs next: the next due day not yet enqueued (at the harvest hour), enrichment at the next
    tick while thin papers wait; None for a source that is off or has nothing to do."""
    runs: dict[Source, datetime | None] = {source.name: None for source in AUTOMATIC_SOURCES}
    for offset in range(8):
        day = now.date() + timedelta(days=offset)
        start = datetime.combine(day, time(settings.harvest_hour_utc), tzinfo=UTC)
        for source in _daily_due(settings, day):
            if runs[source.name] is None and not _enqueued(database, source.day_key(day)):
                runs[source.name] = max(start, now)
    if wanted_count(database, now):
        runs[ENRICHMENT.name] = now
    return runs


@dataclass(frozen=True, slots=True)
class SourceOverview:
    """One automatic source as ``papertide sources status``, the admin page and ``/metrics`` show it."""

    status: SourceStatus
    enabled: bool
    next_run: datetime | None


def sources_overview(database: Database, settings: Settings, now: datetime) -> list[SourceOverview]:
    with database.read_session() as session:
        states = source_states(session)
    runs = next_runs(database, settings, now)
    return [SourceOverview(states[source.name], source.on(settings), runs[source.name]) for source in AUTOMATIC_SOURCES]


def _topics_due(database: Database, settings: Settings, today: date) -> list[str]:
    """The topic atlas (services/topics.py): on Mondays (finished jobs are pruned after two days, so the week's key
    is never seen gone on its own Monday), and once a day when a large ingest left at least TOPICS_AFTER_INGEST
    embedded papers without a topic."""
    year, week, _ = today.isocalendar()
    weekly = f"topics:{year}-W{week:02d}"
    keys = [weekly] if today.weekday() == 0 and not _enqueued(database, weekly) else []
    after_ingest = f"topics:ingest:{today.isoformat()}"
    if not keys and not _enqueued(database, after_ingest):
        with database.read_session() as session:
            if papers_without_topic(session, model_name(settings)) >= TOPICS_AFTER_INGEST:
                keys.append(after_ingest)
    payload = {"today": today.isoformat()}
    return [key for key in keys if queue.enqueue(database, "topics", payload, dedupe_key=key)]


def _mentions_due(database: Database, now: datetime) -> bool:
    """A recount of the name mentions is owed, quiet for ``MENTIONS_QUIET`` and not queued yet."""
    if _pending(database, "mentions"):
        return False
    with database.read_session() as session:
        since = mentions_owed_since(session)
    return since is not None and now - since >= MENTIONS_QUIET


def _enrichment_due(database: Database, now: datetime) -> bool:
    """Thin papers wait, no enrich job is queued or running, and the last one did not fail within the hour: a job
    that failed had its retries with backoff already, so arXiv gets a rest before the next."""
    if _pending(database, ENRICHMENT.name) or not wanted_count(database, now):
        return False
    with database.read_session() as session:
        state = source_states(session)[ENRICHMENT.name]
    failed_at = state.last_finished_at if state.last_result == "failed" else None
    return failed_at is None or now - failed_at > ENRICH_REST


def _enqueued(database: Database, dedupe_key: str) -> bool:
    with database.read_session() as session:
        return session.execute(select(Job.id).where(Job.dedupe_key == dedupe_key)).first() is not None


def _pending(database: Database, task: str) -> bool:
    with database.read_session() as session:
        return (
            session.execute(
                select(Job.id).where(Job.task == task, Job.status.in_(("queued", "running"))).limit(1)
            ).first()
            is not None
        )


class JobRunner:
    """Enqueue due work every ``interval`` seconds and run queued jobs in between (polling every ``poll``).

    ``schedule``: enqueue due work; ``work``: run queued jobs, in this thread or, ``apart``, in a child process
    (``jobs/apart.py``, a web process's way); ``keep_indexes``: bring this host's derived indexes (caches of the
    database kept beside it: tantivy's keyword index, SQLite's vector file) up to date every ``interval``, which web
    processes do for the indexes they search; one process writes at a time.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        semantic: Semantic | None,
        interval: float,
        poll: float = 1.0,
        *,
        schedule: bool = True,
        work: bool = True,
        apart: bool = False,
        keep_indexes: bool = False,
    ) -> None:
        self.database = database
        self.settings = settings
        self.interval = interval
        self.poll = poll
        self.schedule = schedule
        self.work = work
        self.apart = apart
        self.keep_keywords = keep_indexes and settings.keyword_index_path is not None
        self.keep_vectors = keep_indexes and semantic is not None and semantic.file_index is not None
        self.semantic = semantic
        self._stop = threading.Event()
        self.worker = Worker(database, settings, semantic, stopping=self._stop)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="papertide-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Ask the loop to stop and wait up to ``timeout`` seconds; whether it stopped. A task in hand leaves off
        after its current batch (``JobContext.stop_point``), which an embedding batch reaches in about a second;
        what cannot be cut short (a model loading, a request to a source) may outlast the wait."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        stopped = self._thread is None or not self._thread.is_alive()
        if not stopped:
            self.worker.hand_back()
        return stopped

    def run(self) -> None:
        """The loop; returns once :meth:`stop` is called (after the job in hand finishes)."""
        next_tick = 0.0
        while not self._stop.is_set():
            if utcnow().timestamp() >= next_tick:
                next_tick = utcnow().timestamp() + self.interval
                if self.schedule:
                    self._guarded(lambda: enqueue_due(self.database, self.settings, utcnow()), "scheduling")
                if self.keep_keywords:
                    self._guarded(
                        lambda: sync_keyword_index(self.database, self.settings, wait=False), "keyword indexing"
                    )
                if self.keep_vectors:
                    self._guarded(self._fold_vectors, "folding vectors into the vector file")
            if self.work:
                self._guarded(self._run_jobs, "running jobs")
            if self._stop.wait(self.poll):
                return

    def _run_jobs(self) -> None:
        if self.apart:
            # The child gets a little less than stop()'s wait, so the wait ends with it rather than just before.
            run_apart(self.database, self.settings, self._stop, self.poll, STOP_SECONDS - 0.5)
        else:
            self.worker.run_until_empty(self._stop)

    def _fold_vectors(self) -> None:
        if self.semantic is not None:
            self.semantic.fold_vectors(self.database)

    def _guarded(self, step: Callable[[], object], what: str) -> None:
        try:
            step()
        except Exception:  # the database may be away (restart, failover): log, wait, try again
            log.exception("%s failed; retrying in %.0f s", what, self.poll)
            self._stop.wait(self.poll)
