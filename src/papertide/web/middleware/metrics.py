"""Prometheus metrics: request latency measured in every web process, and figures read from the database at
scrape time (queue depth from ``jobs/queue.py``, papers, digests and subscriptions from
``queries.query_instance_counts``, each automatic source's last and next run from ``jobs/scheduler.py``), so
every process reports the same shared state; this module only turns them into metric families.

With several web processes (``papertide serve --workers N``) each one writes its request histogram to files under
``PROMETHEUS_MULTIPROC_DIR`` (``serve`` sets it) and a scrape of any process sums them all.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.config import MULTIPROCESS_ENV, Settings
from papertide.db import Database
from papertide.jobs.queue import oldest_waiting_seconds, queue_counts
from papertide.jobs.scheduler import SourceOverview, sources_overview
from papertide.models import utcnow
from papertide.queries.totals import InstanceCounts, query_instance_counts

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CACHE_SECONDS = 15.0  # counting millions of rows on every scrape would cost more than it tells

REQUEST_SECONDS = Histogram(
    "papertide_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route and status class.",
    ("method", "route", "status"),
    registry=None,  # exposed through a registry made per scrape (render_metrics)
)


class RequestMetricsMiddleware:
    """Times every HTTP request under its route template (``/papers/{arxiv_id}``), never the raw path, so the
    number of series stays bounded whatever clients request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or (
                "static" if scope["path"].startswith("/static") else "unmatched"
            )
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    def __init__(self, database: Database, settings: Settings | None = None) -> None:
        self.database = database
        self.settings = settings  # the automatic sources' next runs need it
        self._cached: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        with self.database.read_session() as session:
            jobs = queue_counts(session)
            waiting = oldest_waiting_seconds(session)
            counts = query_instance_counts(session)
        sources = sources_overview(self.database, self.settings, utcnow()) if self.settings else []
        return [*_job_metrics(jobs, waiting), *_instance_metrics(counts), *_source_metrics(sources)]


def _job_metrics(counts: dict[tuple[str, str], int], oldest_waiting: float) -> list[Metric]:
    jobs = GaugeMetricFamily("papertide_jobs", "Jobs in the queue by task and status.", labels=("task", "status"))
    for (task, status), count in sorted(counts.items()):
        jobs.add_metric((task, status), count)
    waiting = GaugeMetricFamily(
        "papertide_jobs_oldest_waiting_seconds", "Age of the oldest due job no worker has taken."
    )
    waiting.add_metric((), oldest_waiting)
    return [jobs, waiting]


def _instance_metrics(counts: InstanceCounts) -> list[Metric]:
    papers = GaugeMetricFamily("papertide_papers", "Papers in the database.", labels=("kind",))
    papers.add_metric(("all",), counts.papers)
    papers.add_metric(("changed_last_24h",), counts.papers_changed_last_day)
    papers.add_metric(("embedded",), counts.papers_embedded)
    papers.add_metric(("featured",), counts.papers_featured)
    digests = _by_status(counts.digest_deliveries, "papertide_digest_deliveries", "Digest deliveries in the ledger.")
    subscriptions = _by_status(counts.subscriptions, "papertide_subscriptions", "Digest subscriptions.")
    return [papers, digests, subscriptions]


def _source_metrics(sources: list[SourceOverview]) -> list[Metric]:
    """Per automatic source: when it last ran and how (1 for its result), the next run, the last error's time and
    the failed runs in a row; a time never reached is absent rather than 0."""
    label = ("source",)
    last_run = GaugeMetricFamily(
        "papertide_source_last_run_timestamp_seconds", "When each source last ran.", labels=label
    )
    result = GaugeMetricFamily(
        "papertide_source_last_result", "The last run's result (1), by source and result.", labels=("source", "result")
    )
    next_run = GaugeMetricFamily(
        "papertide_source_next_run_timestamp_seconds", "When each source runs next.", labels=label
    )
    error_at = GaugeMetricFamily(
        "papertide_source_last_error_timestamp_seconds", "When each source last failed.", labels=label
    )
    failures = GaugeMetricFamily("papertide_source_failures", "Failed runs in a row of each source.", labels=label)
    for source in sources:
        state = source.status
        _add_time(last_run, state.source, state.last_finished_at)
        if state.last_result:
            result.add_metric((state.source, state.last_result), 1)
        _add_time(next_run, state.source, source.next_run)
        _add_time(error_at, state.source, state.last_error_at)
        failures.add_metric((state.source,), state.failures)
    return [last_run, result, next_run, error_at, failures]


def _add_time(family: GaugeMetricFamily, source: str, moment: datetime | None) -> None:
    if moment is not None:
        family.add_metric((source,), moment.timestamp())


def _by_status(counts: dict[str, int], name: str, help_text: str) -> Metric:
    family = GaugeMetricFamily(name, f"{help_text[:-1]} by status.", labels=("status",))
    for status, count in counts.items():
        family.add_metric((status,), count)
    return family


def render_metrics(database_collector: DatabaseCollector) -> bytes:
    """The text exposition of this process's (or, with several processes, all processes') metrics."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
        ProcessCollector(registry=registry)
    registry.register(database_collector)
    return generate_latest(registry)
