"""The Daily Papers mirror: hf.co's list of each day, fetched day by day and written with ``feature_papers``.

``papertide ingest hf`` and the schedule's daily job (``jobs/``) call :func:`mirror_days`. Each day is one
transaction with its validators (``ETag``/``Last-Modified``, kept as an ``ingest_checkpoints`` row per day), so a
day is written whole or not at all; a rerun sends them back and a ``304`` day costs nothing. A day hf.co answers
with garbage is reported and the run goes on with the next; hf.co unreachable ends the run. hf.co's upvotes
and comments land in ``Paper.hf_upvotes``/``hf_comments``: this instance's votes, comments and featured days are
never touched; how hf.co's counts moved is recorded day by day (``services/momentum.py``). The run's outcome
goes to ``source_states`` ("hf_mirror"), whose cursor is the last day mirrored. A backfill (more than
``BACKFILL_DAYS`` days) defers the name mentions and recounts them once at the end (``services/name_mentions.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from papertide.db import Database
from papertide.models import utcnow
from papertide.records import IngestCounts
from papertide.services.automatic import HF_MIRROR
from papertide.services.checkpoints import load_checkpoint, save_checkpoint
from papertide.services.ingest import Progress, no_progress, refresh_statistics_if_changed
from papertide.services.momentum import hf_counts, record_hf_moves
from papertide.services.name_mentions import DeferredMentions, RecountProgress, finish_mentions, unwatched_recount
from papertide.services.papers import feature_papers
from papertide.services.source_status import load_cursor, record_run
from papertide.sources.hf_mirror import DayAnswer, HfMirrorClient, MirrorDayError, Validators
from papertide.sources.http import SourceUnavailable

CHECKPOINTS = HF_MIRROR.name
# hf.co's counts keep moving for days after a paper is featured: each scheduled run looks at this many days
# before its cursor again (a 304 when nothing moved).
REFRESH_DAYS = 3
# A run over more days than this is a backfill: old days counted one by one would read the newer papers again and
# again, so it defers the name mentions to one recount. A scheduled run (a few days) counts them as they come.
BACKFILL_DAYS = 7


@dataclass(slots=True)
class MirrorReport:
    papers: IngestCounts = field(default_factory=IngestCounts)
    featured: IngestCounts = field(default_factory=IngestCounts)
    days: int = 0
    not_modified: int = 0
    failed: list[tuple[date, str]] = field(default_factory=list)
    stopped: str | None = None  # why the run ended early (hf.co unreachable)

    @property
    def changed(self) -> int:
        return self.papers.changed + self.featured.changed

    def error(self) -> str | None:
        problems = [f"{day}: {reason}" for day, reason in self.failed]
        problems += [self.stopped] if self.stopped else []
        return "; ".join(problems) or None

    def summary(self) -> str:
        text = (
            f"{self.days} days ({self.not_modified} not modified); papers {self.papers.summary()}; "
            f"featured {self.featured.summary()}"
        )
        return text + (f"; {len(self.failed)} days failed" if self.failed else "")


def scheduled_range(database: Database, today: date, backfill_days: int) -> tuple[date, date]:
    """The days a scheduled run mirrors: the last ``backfill_days`` on the first run, then from a few days before
    the last day mirrored (their counts move) to today."""
    cursor = load_cursor(database, HF_MIRROR.name)
    if cursor is None:
        return today - timedelta(days=backfill_days - 1), today
    return min(date.fromisoformat(cursor) - timedelta(days=REFRESH_DAYS), today), today


def mirror_days(
    database: Database,
    client: HfMirrorClient,
    since: date,
    until: date,
    *,
    progress: Progress = no_progress,
    recount: RecountProgress = unwatched_recount,
) -> MirrorReport:
    """Mirror every day from ``since`` to ``until`` (inclusive), oldest first; see the module docstring."""
    started = utcnow()
    report = MirrorReport()
    last_done: date | None = None
    deferred = DeferredMentions() if (until - since).days >= BACKFILL_DAYS else None  # a backfill is a bulk load
    for day in _days(since, until):
        try:
            answer = client.fetch_day(day, _validators(database, day))
        except MirrorDayError as error:
            report.failed.append((day, str(error)))
            continue
        except SourceUnavailable as error:
            report.stopped = str(error)
            break
        _write_day(database, answer, report, deferred)
        last_done = day
        progress(report.days)
    finish_mentions(database, recount, deferred)
    refresh_statistics_if_changed(database, report.papers, report.featured)
    counts = IngestCounts(
        added=report.featured.added,
        updated=report.featured.updated + report.papers.updated,
        unchanged=report.featured.unchanged,
    )
    cursor = last_done.isoformat() if last_done and last_done > _cursor_day(database) else None
    record_run(database, HF_MIRROR.name, counts, started_at=started, error=report.error(), cursor=cursor)
    return report


def _write_day(database: Database, answer: DayAnswer, report: MirrorReport, deferred: DeferredMentions | None) -> None:
    report.days += 1
    if answer.not_modified:
        report.not_modified += 1
        return
    arxiv_ids = [item.paper.arxiv_id for item in answer.items]
    with database.write_session() as session:
        before = hf_counts(session, arxiv_ids)
        counts = feature_papers(session, answer.items, defer_mentions=deferred)
        record_hf_moves(session, before, arxiv_ids, featured_on=answer.day, today=utcnow().date())
        save_checkpoint(session, CHECKPOINTS, answer.day.isoformat(), _encoded(answer.validators))
    report.papers.add(counts.papers)
    report.featured.add(counts.featured)
    report.featured.rejected += len(answer.rejected)
    report.featured.rejections.extend(answer.rejected)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _cursor_day(database: Database) -> date:
    cursor = load_cursor(database, HF_MIRROR.name)
    return date.fromisoformat(cursor) if cursor else date.min


def _validators(database: Database, day: date) -> Validators | None:
    saved = load_checkpoint(database, CHECKPOINTS, day.isoformat())
    if saved is None:
        return None
    values = json.loads(saved)
    return Validators(values.get("etag"), values.get("last_modified"))


def _encoded(validators: Validators) -> str:
    return json.dumps({"etag": validators.etag, "last_modified": validators.last_modified})
