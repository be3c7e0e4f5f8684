"""Leases: a row in ``job_leases`` names who runs a job now, until when. Several processes share one database;
the lease lets one of them work at a time and passes to another when the holder dies (the lease runs out).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, update

from papertide.db import Database, insert_ignoring_conflicts
from papertide.models import JobLease, utcnow


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


def release_lease(database: Database, name: str, holder: str) -> None:
    with database.write_session() as session:
        session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
