"""Task functions and the registry the worker dispatches on: each task takes the database and its JSON arguments,
re-reads what it needs and is safe to rerun (the queue runs a task at least once; see ``jobs/queue.py``).

The in-process runner of the embedded mode and ``papertide worker`` run these through ``jobs/worker.py``; the
ingest tasks run the same requests as `papertide ingest …` (``jobs/ingest_requests.py``). A task that stops with
work left returns :class:`Continued`, and the worker queues the rest as a job of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.ingest_requests import (
    ArxivRequest,
    DailyRequest,
    HfMirrorRequest,
    IngestRequest,
    OaiRequest,
    SnapshotRequest,
)
from papertide.jobs.payloads import TaskArgumentError, argument, date_argument
from papertide.search.semantic import Semantic, model_name
from papertide.services.automatic import ARXIV_LEASE, ENRICHMENT, HARVEST, HF_MIRROR
from papertide.services.digests import DigestBusy, send_digests
from papertide.services.embeddings import embed_new_papers
from papertide.services.enrichment import enrich_papers
from papertide.services.harvest import harvest_followed
from papertide.services.ingest import index_from_arxiv
from papertide.services.keyphrases import make_insights
from papertide.services.name_mentions import finish_mentions
from papertide.services.submissions import SubmissionError, submit_paper
from papertide.services.topics import NothingToGroup, build_topics
from papertide.services.trends import fold_facet_days
from papertide.sources.factory import arxiv_client, arxiv_clients

EMBED_PER_JOB = 2_000  # a job of a few minutes at most, so shutdown is quick; the next job takes the rest
INSIGHTS_PER_JOB = 2_000  # keyphrases and gists: ~3 minutes of one core (bench/RESULTS.md), then a new job


class RetryLater(Exception):  # noqa: N818 (an instruction to the worker, not an error)
    """What the task needs is busy elsewhere: run it again after ``seconds`` without counting an attempt."""

    def __init__(self, reason: str, seconds: float = 30.0) -> None:
        super().__init__(reason)
        self.seconds = seconds


class Stopped(RetryLater):
    """The worker is stopping (Ctrl+C, SIGTERM, the server shutting down): the task left off after its last
    committed batch, and its job goes back to the queue at once, not counted as an attempt, so the next start
    resumes it."""

    def __init__(self) -> None:
        super().__init__("the worker is stopping; the job resumes at the next start", 0.0)


@dataclass(frozen=True, slots=True)
class Continued:
    """What a task returns when it stopped with work left: the worker queues the same task with ``payload``."""

    summary: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobContext:
    database: Database
    settings: Settings
    semantic: Semantic | None
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop_point(self, _done: object = None) -> None:
        """Called by long tasks between committed batches (it fits a ``progress`` callback): raises
        :class:`Stopped` once the worker is stopping, so shutdown waits one batch, not the whole job."""
        if self.stopping.is_set():
            raise Stopped


@dataclass(frozen=True, slots=True)
class Task:
    run: Callable[[JobContext, Mapping[str, Any]], str | Continued]  # a one-line summary for the log
    # A lease name: jobs sharing it never run at the same time on any worker (arXiv asks for one client at a time).
    exclusive: str | None = None


def _embed(context: JobContext, payload: Mapping[str, Any]) -> str | Continued:
    """Embed at most EMBED_PER_JOB papers (and at most the payload's ``limit``), then leave the rest to a new job,
    so other jobs get their turn and a worker stopping waits minutes, not hours."""
    if context.semantic is None:
        return "semantic search is off"
    limit = argument(payload, "limit", int, required=False)
    share = EMBED_PER_JOB if limit is None else min(limit, EMBED_PER_JOB)
    done = embed_new_papers(context.database, context.semantic, limit=share, on_batch=context.stop_point)
    folded = context.semantic.fold_vectors(context.database)
    summary = f"embedded {done} papers" + (f", folded {folded} vectors into the vector file" if folded else "")
    if done < share or done == limit:  # nothing was left, or the payload's limit is reached
        return summary
    return Continued(summary, {} if limit is None else {"limit": limit - done})


def _insights(context: JobContext, payload: Mapping[str, Any]) -> str | Continued:
    """papertide's own keyphrases and gist of at most INSIGHTS_PER_JOB papers that arrived or changed
    (``services/keyphrases.py``); the rest in a new job. The gist needs the embedder, so it waits on semantic search."""
    if context.semantic is None:
        return "semantic search is off"
    done = make_insights(context.database, context.semantic.embedder, INSIGHTS_PER_JOB, context.stop_point)
    summary = f"read {done} papers (keyphrases and gist)"
    return Continued(summary) if done == INSIGHTS_PER_JOB else summary


def _topics(context: JobContext, payload: Mapping[str, Any]) -> str:
    """The topic atlas, rebuilt and aligned with the previous build (weekly, and after a large ingest); then the
    trend counts' appended rows folded to one a day (``services/trends.fold_facet_days``), on the same cadence."""
    today = date_argument(payload, "today")
    assert today is not None
    with context.database.write_session() as session:
        folded = f"; folded {fold_facet_days(session)} trend count rows"
    try:
        return build_topics(context.database, model_name(context.settings), today).summary() + folded
    except NothingToGroup as nothing:
        return f"no topics built: {nothing}{folded}"


def _mentions(context: JobContext, payload: Mapping[str, Any]) -> str:
    """The name mentions' recount a bulk load cut short left owed (``services/name_mentions.py``)."""
    changed = finish_mentions(context.database)
    return "no recount owed" if changed is None else f"name mentions recounted; papers whose count changed: {changed}"


def _digest(context: JobContext, payload: Mapping[str, Any]) -> str:
    cadence = argument(payload, "cadence", str)
    if cadence not in ("daily", "weekly"):
        raise TaskArgumentError(f"cadence must be daily or weekly, got {cadence!r}")
    today = date_argument(payload, "today")
    assert today is not None
    try:
        report = send_digests(
            context.database, context.settings, cadence, today, context.semantic, progress=context.stop_point
        )
    except DigestBusy as error:
        raise RetryLater(str(error), context.settings.digest_lease_seconds) from error
    if report.retry:
        # Transient SMTP failures outlasted the run's own retries: fail this attempt so the queue's backoff
        # runs the period again later; the ledger makes the rerun send only what is still owed.
        raise RuntimeError(f"{report.summary()}; the job runs again to retry them")
    return report.summary()


def _harvest(context: JobContext, payload: Mapping[str, Any]) -> str:
    """The day's harvest of the followed categories (OAI-PMH, or the arXiv API when OAI-PMH fails)."""
    categories = context.settings.follow_categories.split()
    if not categories:
        return "no followed categories (PAPERTIDE_FOLLOW_CATEGORIES)"
    with arxiv_clients(context.settings) as (oai, api):
        report = harvest_followed(
            context.database,
            oai,
            api,
            categories,
            first_days=context.settings.harvest_first_days,
            progress=context.stop_point,
        )
    return report.summary()


def _enrich(context: JobContext, payload: Mapping[str, Any]) -> str | Continued:
    """Complete thin papers from the arXiv API, ``PAPERTIDE_ENRICH_PER_JOB`` at a time; the rest in a new job."""
    share = context.settings.enrich_per_job
    with arxiv_client(context.settings) as client:
        report = enrich_papers(context.database, client, limit=share, progress=context.stop_point)
    return Continued(report.summary()) if report.asked == share and report.left else report.summary()


def queue_submission(database: Database, *, user_id: int, arxiv_id: str, organization: str | None, day: date) -> None:
    """A submission whose paper arXiv did not give in time: a worker fetches it and features it on ``day``, the day
    it was submitted (once per user and paper, however often it is sent)."""
    payload = {"user_id": user_id, "arxiv_id": arxiv_id, "organization": organization, "day": day.isoformat()}
    queue.enqueue(database, "submit", payload, dedupe_key=f"submit:{user_id}:{arxiv_id}")


def _submit(context: JobContext, payload: Mapping[str, Any]) -> str:
    """A queued submission: fetch the paper (with the usual retries), then submit it as its submitter did."""
    arxiv_id = argument(payload, "arxiv_id", str)
    day = date_argument(payload, "day")
    assert day is not None
    try:
        submit_paper(
            context.database,
            user_id=argument(payload, "user_id", int),
            text=arxiv_id,
            organization=argument(payload, "organization", str, required=False),
            today=day,
            window_days=context.settings.submit_window_days,
            fetch=lambda wanted: index_from_arxiv(context.database, context.settings, wanted) != "missing",
        )
    except SubmissionError as refused:  # the paper's own fault (unknown, too old, a duplicate): nothing to retry
        return f"{arxiv_id} not submitted: {refused}"
    return f"{arxiv_id} submitted for {day}"


def _ingest(kind: type[IngestRequest]) -> Callable[[JobContext, Mapping[str, Any]], str]:
    def run(context: JobContext, payload: Mapping[str, Any]) -> str:
        return kind.from_payload(payload).run_job(context.database, context.settings, context.stop_point)

    return run


TASKS: dict[str, Task] = {
    "embed": Task(_embed, exclusive="embed"),
    "insights": Task(_insights, exclusive="insights"),
    "topics": Task(_topics, exclusive="topics"),
    "mentions": Task(_mentions, exclusive="mentions"),
    "digest": Task(_digest),
    SnapshotRequest.task: Task(_ingest(SnapshotRequest)),
    DailyRequest.task: Task(_ingest(DailyRequest)),
    ArxivRequest.task: Task(_ingest(ArxivRequest), exclusive=ARXIV_LEASE),
    OaiRequest.task: Task(_ingest(OaiRequest), exclusive=ARXIV_LEASE),
    HF_MIRROR.name: Task(_ingest(HfMirrorRequest), exclusive=HF_MIRROR.lease),
    HARVEST.name: Task(_harvest, exclusive=HARVEST.lease),
    ENRICHMENT.name: Task(_enrich, exclusive=ENRICHMENT.lease),
    "submit": Task(_submit, exclusive=ARXIV_LEASE),
}
