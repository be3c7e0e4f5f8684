"""The harvest of followed categories (``PAPERTIDE_FOLLOW_CATEGORIES``): what the schedule runs each announcement day.

OAI-PMH is arXiv's way for incremental metadata: one ListRecords harvest per OAI set the categories belong to
(``cs.CL`` is in ``cs``, ``hep-th`` in ``physics:hep-th``), from the day of the last successful harvest, keeping
only records in a followed category. Each page commits with its resumption token (``services/ingest.py``), so a
harvest killed midway resumes where it stopped and ends with the same rows. When OAI-PMH cannot be reached or
answers errors, the same days come from the arXiv API search instead. Either way the run is recorded in
``source_states`` ("harvest"); its cursor (the day the harvest started) moves only when the whole harvest
succeeded, so a failed day is harvested again by the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from papertide.db import Database
from papertide.models import utcnow
from papertide.records import IngestCounts
from papertide.services.automatic import HARVEST
from papertide.services.ingest import Progress, ingest_arxiv_query, ingest_oai, no_progress
from papertide.services.source_status import load_cursor, record_run
from papertide.sources.arxiv_api import ArxivApiClient, ArxivApiError
from papertide.sources.http import SourceUnavailable
from papertide.sources.oai import OaiClient, OaiError

# arXiv's OAI sets are archives; these archives are sets of their own, every other one is under physics.
_TOP_LEVEL_SETS = frozenset({"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"})


class HarvestFailed(Exception):
    """Neither OAI-PMH nor the API could be read; the message carries both errors (recorded, then raised)."""


@dataclass(slots=True)
class HarvestReport:
    counts: IngestCounts = field(default_factory=IngestCounts)
    from_date: date | None = None
    via: str = "OAI-PMH"
    oai_error: str | None = None  # why the API was used instead

    def summary(self) -> str:
        fallback = f" (OAI-PMH failed: {self.oai_error})" if self.oai_error else ""
        return f"followed categories since {self.from_date} via {self.via}{fallback}: {self.counts.summary()}"


def oai_set(category: str) -> str:
    """The OAI-PMH set holding an arXiv category: ``cs.CL`` → ``cs``, ``astro-ph.CO`` → ``physics:astro-ph``."""
    archive = category.split(".", 1)[0]
    return archive if archive in _TOP_LEVEL_SETS else f"physics:{archive}"


def harvest_followed(
    database: Database,
    oai: OaiClient,
    api: ArxivApiClient,
    categories: Sequence[str],
    *,
    first_days: int,
    today: date | None = None,
    progress: Progress = no_progress,
) -> HarvestReport:
    """Harvest ``categories`` from the last successful harvest's day (``first_days`` back on the first run)."""
    started = utcnow()
    day = today or started.date()
    cursor = load_cursor(database, HARVEST.name)
    report = HarvestReport(from_date=date.fromisoformat(cursor) if cursor else day - timedelta(days=first_days))
    assert report.from_date is not None
    try:
        _harvest_oai(database, oai, categories, report.from_date, report, progress)
    except (OaiError, SourceUnavailable) as error:
        report.oai_error, report.via, report.counts = str(error), "the arXiv API", IngestCounts()
        try:
            query = " OR ".join(f"cat:{category}" for category in categories)
            report.counts.add(
                ingest_arxiv_query(database, api, query, since=report.from_date, progress=progress).counts
            )
        except (ArxivApiError, SourceUnavailable) as api_error:
            message = f"OAI-PMH: {error}; arXiv API: {api_error}"
            record_run(database, HARVEST.name, report.counts, started_at=started, error=message)
            raise HarvestFailed(message) from api_error
    record_run(database, HARVEST.name, report.counts, started_at=started, cursor=day.isoformat())
    return report


def _harvest_oai(
    database: Database,
    oai: OaiClient,
    categories: Sequence[str],
    from_date: date,
    report: HarvestReport,
    progress: Progress,
) -> None:
    wanted = frozenset(categories)
    for set_spec in sorted({oai_set(category) for category in categories}):
        report.counts.add(
            ingest_oai(database, oai, set_spec=set_spec, from_date=from_date, categories=wanted, progress=progress)
        )
