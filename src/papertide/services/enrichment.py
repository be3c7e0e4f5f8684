"""Completing thin records: papers missing an abstract, authors or categories, fetched from the arXiv API by id.

A paper known only from a Daily Papers list, a submission by id or an old-shape answer is marked ``enrichment =
"wanted"`` by the upsert (``services/papers.py``). :func:`enrich_papers` (the "enrichment" job, queued by the schedule)
fetches such papers 100 ids per request (``id_list``) and upserts what arXiv says; an id arXiv does not know is
marked "missing" and never asked again, and every paper asked is stamped so one that arXiv answers without what
it lacks is asked again a day later at the earliest, not every run. Hidden papers are never fetched (a fetch
would overwrite what an administrator hid). The run's outcome goes to ``source_states`` ("enrichment").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.db import Database
from papertide.models import Paper, utcnow
from papertide.records import IngestCounts
from papertide.services.automatic import ENRICHMENT
from papertide.services.ingest import Progress, no_progress
from papertide.services.papers import upsert_papers
from papertide.services.source_status import record_run
from papertide.sources.arxiv_api import ArxivApiClient, ArxivApiError
from papertide.sources.http import SourceUnavailable

BATCH = 100  # the ids one arXiv API request carries (its id_list page)
RETRY_AFTER = timedelta(days=1)


@dataclass(slots=True)
class EnrichReport:
    counts: IngestCounts = field(default_factory=IngestCounts)
    asked: int = 0
    missing: list[str] = field(default_factory=list)
    left: int = 0  # thin papers still waiting after this run

    def summary(self) -> str:
        return f"{self.asked} asked: {self.counts.updated} completed, {len(self.missing)} unknown to arXiv"


def wanted_count(database: Database, now: datetime | None = None) -> int:
    """How many thin papers are due for a fetch (the schedule queues a job when there are any)."""
    with database.read_session() as session:
        return session.execute(select(func.count()).select_from(Paper).where(*_due(now or utcnow()))).scalar_one()


def enrich_papers(
    database: Database, client: ArxivApiClient, *, limit: int, progress: Progress = no_progress
) -> EnrichReport:
    """Complete up to ``limit`` due thin papers, oldest first; raises ``SourceUnavailable`` (after recording it)
    when arXiv cannot be reached, so the job's backoff tries again later."""
    started = utcnow()
    report = EnrichReport()
    try:
        for batch in _due_batches(database, started, limit):
            _enrich_batch(database, client, batch, report)
            progress(report.asked)
    except (SourceUnavailable, ArxivApiError) as error:
        record_run(database, ENRICHMENT.name, report.counts, started_at=started, error=str(error))
        raise
    report.left = wanted_count(database)
    record_run(database, ENRICHMENT.name, report.counts, started_at=started)
    return report


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Paper.enrichment == "wanted",
        Paper.hidden.is_(False),
        or_(Paper.enrichment_tried_at.is_(None), Paper.enrichment_tried_at < now - RETRY_AFTER),
    )


def _due_batches(database: Database, now: datetime, limit: int) -> list[list[str]]:
    with database.read_session() as session:
        ids = list(session.execute(select(Paper.arxiv_id).where(*_due(now)).order_by(Paper.id).limit(limit)).scalars())
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


def _enrich_batch(database: Database, client: ArxivApiClient, arxiv_ids: Sequence[str], report: EnrichReport) -> None:
    askable = [arxiv_id for arxiv_id in arxiv_ids if _is_arxiv_id(arxiv_id)]
    unaskable = [arxiv_id for arxiv_id in arxiv_ids if arxiv_id not in askable]
    fetched = client.fetch_ids(askable) if askable else None
    missing = unaskable + (fetched.missing if fetched else [])
    now = utcnow()
    with database.write_session() as session:
        if fetched is not None:
            report.counts.add(upsert_papers(session, fetched.records))
        session.execute(update(Paper).where(Paper.arxiv_id.in_(list(arxiv_ids))).values(enrichment_tried_at=now))
        if missing:
            session.execute(update(Paper).where(Paper.arxiv_id.in_(missing)).values(enrichment="missing"))
    report.asked += len(arxiv_ids)
    report.missing.extend(missing)


def _is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True
