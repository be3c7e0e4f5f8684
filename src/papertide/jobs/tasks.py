"""Task functions and the registry the worker dispatches on: each task takes the database and its JSON arguments,
re-reads what it needs and is safe to rerun (the queue runs a task at least once; see ``jobs/queue.py``).

The CLI, the in-process runner of the embedded mode and ``papertide worker`` call the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from papertide.config import Settings
from papertide.db import Database
from papertide.search.semantic import Semantic
from papertide.services import ingest
from papertide.services.digests import DigestBusy, send_digests
from papertide.services.embeddings import EmbedBatch, embed_pending
from papertide.sources.factory import arxiv_client, oai_client

EMBED_PER_JOB = 2_000  # a job of a few minutes at most, so shutdown is quick; the next job takes the rest


def embed_new_papers(
    database: Database,
    semantic: Semantic,
    limit: int | None = None,
    on_batch: Callable[[EmbedBatch], None] | None = None,
) -> int:
    """Embed pending papers in the batches the embed job and `papertide embed` share."""
    done = embed_pending(
        database,
        semantic.embedder,
        batch_size=max(semantic.settings.embedding_batch_size * 4, 64),
        limit=limit,
        on_batch=on_batch,
    )
    return done


class RetryLater(Exception):  # noqa: N818 (an instruction to the worker, not an error)
    """What the task needs is busy elsewhere: run it again after ``seconds`` without counting an attempt."""

    def __init__(self, reason: str, seconds: float = 30.0) -> None:
        super().__init__(reason)
        self.seconds = seconds


class TaskArgumentError(ValueError):
    """A job's payload lacks or mistypes an argument; retrying cannot help, so the job fails at once."""


@dataclass
class JobContext:
    database: Database
    settings: Settings
    semantic: Semantic | None


@dataclass(frozen=True, slots=True)
class Task:
    run: Callable[[JobContext, Mapping[str, Any]], str]  # returns a one-line summary for the log
    # A lease name: jobs sharing it never run at the same time on any worker (arXiv asks for one client at a time).
    exclusive: str | None = None


def _argument(payload: Mapping[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise TaskArgumentError(f"argument {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def _date_argument(payload: Mapping[str, Any], name: str, required: bool = True) -> date | None:
    value = _argument(payload, name, str, required)
    try:
        return date.fromisoformat(value) if value is not None else None
    except ValueError as error:
        raise TaskArgumentError(f"argument {name!r} must be a YYYY-MM-DD date, got {value!r}") from error


def _embed(context: JobContext, payload: Mapping[str, Any]) -> str:
    if context.semantic is None:
        return "semantic search is off"
    done = embed_new_papers(context.database, context.semantic, limit=_argument(payload, "limit", int, False))
    folded = context.semantic.fold_vectors(context.database)
    return f"embedded {done} papers" + (f", folded {folded} vectors into the vector file" if folded else "")


def _digest(context: JobContext, payload: Mapping[str, Any]) -> str:
    cadence = _argument(payload, "cadence", str)
    if cadence not in ("daily", "weekly"):
        raise TaskArgumentError(f"cadence must be daily or weekly, got {cadence!r}")
    today = _date_argument(payload, "today")
    assert today is not None
    try:
        report = send_digests(context.database, context.settings, cadence, today, context.semantic)
    except DigestBusy as error:
        raise RetryLater(str(error), context.settings.digest_lease_seconds) from error
    if report.retry:
        # Transient SMTP failures outlasted the run's own retries: fail this attempt so the queue's backoff
        # runs the period again later; the ledger makes the rerun send only what is still owed.
        raise RuntimeError(f"{report.summary()}; the job runs again to retry them")
    return report.summary()


def _ingest_snapshot(context: JobContext, payload: Mapping[str, Any]) -> str:
    path = Path(_argument(payload, "path", str))
    if not path.is_file():
        raise TaskArgumentError(f"{path} is not a file on this worker's machine")
    counts = ingest.ingest_snapshot(context.database, path, batch_size=context.settings.ingest_batch_size)
    return f"{path.name}: {counts.summary()}"


def _ingest_daily(context: JobContext, payload: Mapping[str, Any]) -> str:
    path = Path(_argument(payload, "path", str))
    if not path.exists():
        raise TaskArgumentError(f"{path} does not exist on this worker's machine")
    result = ingest.ingest_daily(context.database, path)
    return f"{path.name}: papers {result.papers.summary()}; featured {result.featured.summary()}"


def _ingest_arxiv(context: JobContext, payload: Mapping[str, Any]) -> str:
    query = _argument(payload, "query", str, required=False)
    ids = _argument(payload, "ids", list, required=False)
    if (query is None) == (not ids):
        raise TaskArgumentError("give either 'query' or 'ids'")
    with arxiv_client(context.settings) as client:
        if ids:
            result = ingest.ingest_arxiv_ids(context.database, client, [str(value) for value in ids])
        else:
            result = ingest.ingest_arxiv_query(
                context.database,
                client,
                query,
                since=_date_argument(payload, "since", required=False),
                max_results=_argument(payload, "max_results", int, required=False),
                batch_size=context.settings.ingest_batch_size,
            )
    return f"arXiv: {result.counts.summary()}"


def _ingest_oai(context: JobContext, payload: Mapping[str, Any]) -> str:
    prefix = payload.get("metadata_prefix", "arXiv")
    if prefix not in ("arXiv", "oai_dc"):
        raise TaskArgumentError("metadata_prefix must be arXiv or oai_dc")
    from_date = _date_argument(payload, "from")
    assert from_date is not None
    with oai_client(context.settings) as client:
        counts = ingest.ingest_oai(
            context.database,
            client,
            set_spec=_argument(payload, "set", str),
            from_date=from_date,
            until=_date_argument(payload, "until", required=False),
            metadata_prefix=prefix,
        )
    return f"OAI-PMH: {counts.summary()}"


TASKS: dict[str, Task] = {
    "embed": Task(_embed, exclusive="embed"),
    "digest": Task(_digest),
    "ingest-snapshot": Task(_ingest_snapshot),
    "ingest-daily": Task(_ingest_daily),
    "ingest-arxiv": Task(_ingest_arxiv, exclusive="source:arxiv"),
    "ingest-oai": Task(_ingest_oai, exclusive="source:arxiv"),
}
