"""The ingests `papertide ingest …` runs at once or queues, and the worker runs from the queue: one dataclass per
source whose fields are that ingest's options.

``payload()`` and ``from_payload()`` (``jobs/payloads.py``) map a request to a job's arguments and back, ``check``
refuses arguments the worker cannot use, ``run`` opens the source's client and makes the ``services.ingest`` call,
and ``run_job`` is the worker's run, summed up in one line for its log. The CLI (``papertide.cli.ingest``) and
``jobs/tasks.py`` both go through these classes, so an ingest option is one field here and one flag in the CLI.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.payloads import JobArguments, TaskArgumentError, payload_key
from papertide.models import utcnow
from papertide.records import IngestCounts
from papertide.services import ingest, mirror
from papertide.services.automatic import HF_MIRROR
from papertide.services.ingest import ArxivIngest, DailyIngest, Progress
from papertide.services.mirror import MirrorReport
from papertide.services.name_mentions import RecountProgress, unwatched_recount
from papertide.sources.factory import arxiv_client, hf_mirror_client, oai_client
from papertide.sources.http import SourceUnavailable

METADATA_PREFIXES = ("arXiv", "oai_dc")


def no_progress(_: int) -> None:
    """A ``progress`` callback for runs nobody watches."""


@dataclass(frozen=True, slots=True)
class IngestRequest(JobArguments, ABC):
    task: ClassVar[str]  # the queue's name for it

    @abstractmethod
    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        """Run the ingest for the worker; one line for its log. ``progress`` is called between committed batches
        (the worker's raises there when it is stopping). Each request's ``run`` takes ``progress`` and a bulk
        load's ``recount`` (``services/name_mentions.RecountProgress``), for the CLI's bars."""


@dataclass(frozen=True, slots=True)
class SnapshotRequest(IngestRequest):
    """The arXiv metadata snapshot (JSON lines, optionally .gz); resumes after a crash."""

    task: ClassVar[str] = "ingest-snapshot"
    path: Path

    def check(self) -> None:
        if not self.path.is_file():
            raise TaskArgumentError(f"{self.path} is not a file on this worker's machine")

    def run(
        self,
        database: Database,
        settings: Settings,
        progress: Progress = no_progress,
        recount: RecountProgress = unwatched_recount,
    ) -> IngestCounts:
        return ingest.ingest_snapshot(
            database, self.path, batch_size=settings.ingest_batch_size, progress=progress, recount=recount
        )

    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        return f"{self.path.name}: {self.run(database, settings, progress).summary()}"


@dataclass(frozen=True, slots=True)
class DailyRequest(IngestRequest):
    """A Daily Papers JSON file (hf.co /api/daily_papers shape) or a directory of them."""

    task: ClassVar[str] = "ingest-daily"
    path: Path

    def check(self) -> None:
        if not self.path.exists():
            raise TaskArgumentError(f"{self.path} does not exist on this worker's machine")

    def run(
        self,
        database: Database,
        settings: Settings,
        progress: Progress = no_progress,
        recount: RecountProgress = unwatched_recount,
    ) -> DailyIngest:
        return ingest.ingest_daily(database, self.path, progress=progress, recount=recount)

    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        result = self.run(database, settings, progress)
        return f"{self.path.name}: papers {result.papers.summary()}; featured {result.featured.summary()}"


@dataclass(frozen=True, slots=True)
class ArxivRequest(IngestRequest):
    """The arXiv API, by search ``query`` (optionally papers ``since`` a day, at most ``max_results``) or by ``ids``;
    progress is reported for a query only, and never a recount's (its writes count name mentions as they go)."""

    task: ClassVar[str] = "ingest-arxiv"
    query: str | None = None
    ids: list[str] | None = None
    since: date | None = None
    max_results: int | None = None

    def check(self) -> None:
        if (self.query is None) == (not self.ids):
            raise TaskArgumentError("give either 'query' or 'ids'")

    def run(
        self,
        database: Database,
        settings: Settings,
        progress: Progress = no_progress,
        recount: RecountProgress = unwatched_recount,
    ) -> ArxivIngest:
        with arxiv_client(settings) as client:
            if self.ids:
                return ingest.ingest_arxiv_ids(database, client, self.ids)
            assert self.query is not None
            return ingest.ingest_arxiv_query(
                database,
                client,
                self.query,
                since=self.since,
                max_results=self.max_results,
                batch_size=settings.ingest_batch_size,
                progress=progress,
            )

    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        return f"arXiv: {self.run(database, settings, progress).counts.summary()}"


@dataclass(frozen=True, slots=True)
class OaiRequest(IngestRequest):
    """arXiv's OAI-PMH ListRecords of one set, records changed from a day (until another); resumes after a crash."""

    task: ClassVar[str] = "ingest-oai"
    set_spec: str = field(metadata=payload_key("set"))
    from_date: date = field(metadata=payload_key("from"))
    until: date | None = None
    metadata_prefix: str = "arXiv"

    def check(self) -> None:
        if self.metadata_prefix not in METADATA_PREFIXES:
            raise TaskArgumentError("metadata_prefix must be arXiv or oai_dc")

    def run(
        self,
        database: Database,
        settings: Settings,
        progress: Progress = no_progress,
        recount: RecountProgress = unwatched_recount,
    ) -> IngestCounts:
        with oai_client(settings) as client:
            return ingest.ingest_oai(
                database,
                client,
                set_spec=self.set_spec,
                from_date=self.from_date,
                until=self.until,
                metadata_prefix=self.metadata_prefix,
                defer_mentions=True,  # a set's harvest from a day by hand is a bulk load
                progress=progress,
                recount=recount,
            )

    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        return f"OAI-PMH: {self.run(database, settings, progress).summary()}"


@dataclass(frozen=True, slots=True)
class HfMirrorRequest(IngestRequest):
    """hf.co Daily Papers, day by day from ``since`` to ``until``; without them, what the schedule mirrors (the last
    ``PAPERTIDE_HF_BACKFILL_DAYS`` on a first run, then the days since the last one mirrored)."""

    task: ClassVar[str] = HF_MIRROR.name  # the schedule's runs and `papertide ingest hf --queue` are one task
    since: date | None = None
    until: date | None = None

    def check(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise TaskArgumentError(f"since ({self.since}) is after until ({self.until})")

    def run(
        self,
        database: Database,
        settings: Settings,
        progress: Progress = no_progress,
        recount: RecountProgress = unwatched_recount,
    ) -> MirrorReport:
        today = utcnow().date()
        first, last = mirror.scheduled_range(database, today, settings.hf_backfill_days)
        since = self.since or first
        with hf_mirror_client(settings) as client:
            return mirror.mirror_days(
                database, client, since, self.until or max(last, since), progress=progress, recount=recount
            )

    def run_job(self, database: Database, settings: Settings, progress: Progress = no_progress) -> str:
        report = self.run(database, settings, progress)
        if report.stopped:  # hf.co unreachable: fail the attempt so the queue's backoff tries again later
            raise SourceUnavailable(report.stopped)
        return f"hf.co Daily Papers: {report.summary()}"
