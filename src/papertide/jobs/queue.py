"""The job queue: rows in ``jobs`` that any process enqueues and any worker claims, on SQLite and PostgreSQL alike.

A worker claims the oldest runnable job with one ``UPDATE … RETURNING`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so concurrent workers never wait on each other; SQLite's single writer serialises the claim). A claim is a lease:
the worker renews it while the task runs, and when a worker dies its lease lapses and another worker takes the job
again. A task therefore runs at least once and must be safe to rerun: tasks take ids and arguments, re-read what
they need and tolerate rows that have gone. A failure is retried with exponential backoff until the job's
attempts run out; a job whose worker died that many times is marked failed instead of being run again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from papertide.db import Database, insert_ignoring_conflicts
from papertide.models import Job, utcnow

MAX_ERROR_CHARS = 4_000


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    task: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def enqueue(
    database: Database,
    task: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> bool:
    """Add a job; False when a job with the same ``dedupe_key`` is already in the table (by anyone; finished jobs
    stay for a week, longer than any scheduled period, so scheduled work is enqueued once per period)."""
    values = {
        "task": task,
        "payload": payload or {},
        "status": "queued",
        "dedupe_key": dedupe_key,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or utcnow(),
        "created_at": utcnow(),
    }
    with database.write_session() as session:
        return insert_ignoring_conflicts(session, Job, values)


def _runnable(now: datetime) -> Any:
    return or_(
        and_(Job.status == "queued", Job.run_after <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )


def has_runnable(database: Database) -> bool:
    """Whether a job is runnable now (what :func:`claim` would take)."""
    with database.read_session() as session:
        return session.execute(select(Job.id).where(_runnable(utcnow())).limit(1)).first() is not None


def claim(database: Database, worker: str, lease_seconds: float) -> ClaimedJob | None:
    """Take the oldest runnable job (queued and due, or running under a lapsed lease) for ``lease_seconds``."""
    now = utcnow()
    oldest = (
        select(Job.id)
        .where(_runnable(now))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Job)
        .where(Job.id == oldest)
        .values(
            status="running",
            locked_by=worker,
            locked_until=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
        )
        .returning(Job.id, Job.task, Job.payload, Job.attempts, Job.max_attempts)
    )
    with database.write_session() as session:
        row = session.execute(statement).first()
    return ClaimedJob(*row) if row is not None else None


def _update_held(database: Database, job_id: int, worker: str, **values: Any) -> bool:
    """Change a job only while ``worker`` holds it: once a lease has passed to another worker, the first one's
    late writes (a result, a failure) must not touch the job."""
    with database.write_session() as session:
        result = session.execute(
            update(Job).where(Job.id == job_id, Job.locked_by == worker, Job.status == "running").values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def renew(database: Database, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend a running job's lease; False when the job is no longer this worker's (its lease lapsed and another
    worker took it), so the caller knows its result will be discarded."""
    return _update_held(database, job_id, worker, locked_until=utcnow() + timedelta(seconds=lease_seconds))


def complete(database: Database, job_id: int, worker: str) -> bool:
    return _update_held(
        database, job_id, worker, status="done", finished_at=utcnow(), locked_until=None, last_error=None
    )


def fail(
    database: Database, job: ClaimedJob, worker: str, error: str, backoff_seconds: float, *, final: bool = False
) -> str:
    """Record a failed attempt: queued again after ``backoff_seconds * 2^(attempts-1)``, or ``failed`` when the
    attempts are used up or the failure is ``final`` (retrying cannot help). Returns the new status."""
    exhausted = final or job.attempts >= job.max_attempts
    status = "failed" if exhausted else "queued"
    delay = timedelta(seconds=backoff_seconds * 2 ** (job.attempts - 1))
    _update_held(
        database,
        job.id,
        worker,
        status=status,
        last_error=error[:MAX_ERROR_CHARS],
        locked_until=None,
        run_after=utcnow() + delay,
        finished_at=utcnow() if exhausted else None,
    )
    return status


def postpone(database: Database, job: ClaimedJob, worker: str, seconds: float) -> None:
    """Put a job back without counting the attempt (what it needs is busy elsewhere)."""
    _update_held(
        database,
        job.id,
        worker,
        status="queued",
        attempts=Job.attempts - 1,
        locked_until=None,
        run_after=utcnow() + timedelta(seconds=seconds),
    )


def give_up_on_crashers(database: Database, job: ClaimedJob, worker: str) -> bool:
    """A job claimed more often than it may be attempted killed its workers every time: mark it failed."""
    if job.attempts <= job.max_attempts:
        return False
    _update_held(
        database,
        job.id,
        worker,
        status="failed",
        locked_until=None,
        finished_at=utcnow(),
        last_error=f"abandoned: its worker stopped during each of {job.max_attempts} attempts",
    )
    return True


def requeue(database: Database, job_id: int) -> bool:
    """Give a failed job a fresh set of attempts; False when ``job_id`` is not a failed job."""
    with database.write_session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "failed")
            .values(status="queued", attempts=0, run_after=utcnow(), finished_at=None, locked_by=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def queue_counts(session: Session) -> dict[tuple[str, str], int]:
    """Jobs per (task, status)."""
    rows = session.execute(select(Job.task, Job.status, func.count()).group_by(Job.task, Job.status))
    return {(task, status): count for task, status, count in rows}


def oldest_waiting_seconds(session: Session) -> float:
    """How long the oldest due, unclaimed job has waited: the number to alert on when workers fall behind."""
    now = utcnow()
    oldest = session.execute(
        select(func.min(Job.run_after)).where(Job.status == "queued", Job.run_after <= now)
    ).scalar_one_or_none()
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def latest_failures(session: Session, limit: int) -> list[tuple[int, str, str | None]]:
    """The most recently failed jobs, newest first: (id, task, last error)."""
    statement = (
        select(Job.id, Job.task, Job.last_error)
        .where(Job.status == "failed")
        .order_by(Job.finished_at.desc())
        .limit(limit)
    )
    return [(job_id, task, error) for job_id, task, error in session.execute(statement)]


def prune_finished(database: Database, older_than: timedelta) -> int:
    """Forget finished jobs after a while; failed ones are kept for someone to read."""
    with database.write_session() as session:
        result = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < utcnow() - older_than))
        return int(result.rowcount)  # type: ignore[attr-defined]
