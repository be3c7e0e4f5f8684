"""Ingestion runs: stream a source into the upsert in batches, one transaction each, with resumable checkpoints.

Each function here is what a CLI command, a job or a route calls (``index_from_arxiv``: submissions and hf.co's
index endpoint); sources do the reading, ``services/papers.py`` the
writing. A batch and its checkpoint commit together, so a run killed at any point resumes after the last
committed batch, and because the upsert is idempotent, replaying a batch is harmless either way.

The bulk loads (a snapshot, a directory of Daily Papers days, an OAI harvest asked for by hand) defer the name
mentions and recount them once at the end (``services/name_mentions.py``); every run here finishes a recount an
earlier run left owed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database, refresh_statistics
from papertide.models import Paper
from papertide.records import IngestCounts, PaperRecord, RejectedLine
from papertide.services.checkpoints import file_fingerprint, load_checkpoint, save_checkpoint
from papertide.services.name_mentions import DeferredMentions, RecountProgress, finish_mentions, unwatched_recount
from papertide.services.papers import feature_papers, upsert_papers
from papertide.sources.arxiv_api import ArxivApiClient
from papertide.sources.factory import arxiv_client
from papertide.sources.hf_daily import iter_daily_path
from papertide.sources.oai import OaiClient, OaiError
from papertide.sources.snapshot import iter_snapshot

Progress = Callable[[int], None]
T = TypeVar("T")


def no_progress(_: int) -> None:
    return None


def ingest_snapshot(
    database: Database,
    path: Path,
    *,
    batch_size: int = 1000,
    progress: Progress = no_progress,
    recount: RecountProgress = unwatched_recount,
) -> IngestCounts:
    """Ingest a snapshot file; a rerun after a crash resumes after the last committed batch. ``progress`` counts
    lines, ``recount`` the name-mention recount the load ends with (``services/name_mentions.py``)."""
    key = str(path.resolve())
    fingerprint = file_fingerprint(path)
    start_line = _snapshot_resume_line(database, key, fingerprint)
    counts = IngestCounts()
    deferred = DeferredMentions()
    batch: list[PaperRecord] = []
    last_line = start_line
    for line_no, item in iter_snapshot(path, start_line=start_line):
        last_line = line_no
        if isinstance(item, RejectedLine):
            counts.rejected += 1
            counts.rejections.append(item)
        else:
            batch.append(item)
        if len(batch) >= batch_size:
            _commit_snapshot_batch(database, batch, counts, key, {**fingerprint, "line": last_line}, deferred)
            progress(last_line)
            batch = []
    _commit_snapshot_batch(database, batch, counts, key, None, deferred)
    progress(last_line)
    finish_mentions(database, recount, deferred)
    refresh_statistics_if_changed(database, counts)
    return counts


def _commit_snapshot_batch(
    database: Database,
    batch: list[PaperRecord],
    counts: IngestCounts,
    key: str,
    position: dict[str, object] | None,
    deferred: DeferredMentions,
) -> None:
    with database.write_session() as session:
        counts.add(upsert_papers(session, batch, defer_mentions=deferred))
        save_checkpoint(session, "snapshot", key, json.dumps(position) if position else None)


def _snapshot_resume_line(database: Database, key: str, fingerprint: dict[str, int]) -> int:
    saved = load_checkpoint(database, "snapshot", key)
    if saved is None:
        return 0
    position = json.loads(saved)
    same_file = all(position.get(name) == value for name, value in fingerprint.items())
    # The checkpoint is the last committed line; reading resumes on the next one.
    return int(position["line"]) + 1 if same_file else 0


@dataclass(slots=True)
class ArxivIngest:
    counts: IngestCounts
    missing: list[str] = field(default_factory=list)


def ingest_arxiv_query(
    database: Database,
    client: ArxivApiClient,
    query: str,
    *,
    since: date | None = None,
    max_results: int | None = None,
    batch_size: int = 1000,
    progress: Progress = no_progress,
) -> ArxivIngest:
    counts = IngestCounts()
    seen = 0
    for batch in _batched(client.search(query, since=since, max_results=max_results), batch_size):
        with database.write_session() as session:
            counts.add(upsert_papers(session, batch))
        seen += len(batch)
        progress(seen)
    return ArxivIngest(counts)


def ingest_arxiv_ids(database: Database, client: ArxivApiClient, ids: Sequence[str]) -> ArxivIngest:
    fetched = client.fetch_ids(ids)
    with database.write_session() as session:
        counts = upsert_papers(session, fetched.records)
    return ArxivIngest(counts, list(fetched.missing))


Indexed = Literal["known", "fetched", "missing"]


def index_from_arxiv(database: Database, settings: Settings, arxiv_id: str, *, wait: float | None = None) -> Indexed:
    """Make sure papertide knows ``arxiv_id`` (canonical), fetching it from arXiv when it does not: "known" (it was
    there already), "fetched" (it is now) or "missing" (arXiv has no such paper). A paper an administrator hid
    counts as known and is never fetched again: a fetch would overwrite its record. ``wait``: a reader waits, so
    arXiv gets one attempt of that many seconds (``SourceUnavailable`` after it)."""
    with database.read_session() as session:
        if session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).first() is not None:
            return "known"
    with arxiv_client(settings, wait=wait) as client:
        result = ingest_arxiv_ids(database, client, [arxiv_id])
    return "missing" if result.missing else "fetched"


def ingest_oai(
    database: Database,
    client: OaiClient,
    *,
    set_spec: str,
    from_date: date,
    until: date | None = None,
    metadata_prefix: str = "arXiv",
    categories: frozenset[str] | None = None,
    defer_mentions: bool = False,
    progress: Progress = no_progress,
    recount: RecountProgress = unwatched_recount,
) -> IngestCounts:
    """Harvest ListRecords page by page; the resumption token is checkpointed with each page's rows. With
    ``categories``, only records in at least one of them are kept (an OAI set is a whole archive, e.g. cs);
    ``defer_mentions`` for a bulk harvest (module docstring)."""
    key = f"{set_spec}|{from_date}|{until or ''}|{metadata_prefix}"
    token = load_checkpoint(database, "oai", key)
    counts = IngestCounts()
    harvested = 0
    pages = client.list_records(
        set_spec=set_spec,
        from_date=from_date,
        until=until,
        metadata_prefix=metadata_prefix,
        resume_token=token,
    )
    deferred = DeferredMentions() if defer_mentions else None
    try:
        for page in pages:
            with database.write_session() as session:
                records = _in_categories(page.records, categories)
                counts.add(upsert_papers(session, records, defer_mentions=deferred))
                counts.rejected += len(page.rejected)
                counts.rejections.extend(page.rejected)
                save_checkpoint(session, "oai", key, page.resumption_token)
            harvested += len(page.records)
            progress(harvested)
    except OaiError as error:
        if token is None or error.code != "badResumptionToken":
            raise
        # The saved token expired between runs: start the same harvest over (the upsert makes that safe).
        with database.write_session() as session:
            save_checkpoint(session, "oai", key, None)
        return ingest_oai(
            database,
            client,
            set_spec=set_spec,
            from_date=from_date,
            until=until,
            metadata_prefix=metadata_prefix,
            categories=categories,
            defer_mentions=defer_mentions,
            progress=progress,
            recount=recount,
        )
    finish_mentions(database, recount, deferred)
    refresh_statistics_if_changed(database, counts)
    return counts


def _in_categories(records: list[PaperRecord], categories: frozenset[str] | None) -> list[PaperRecord]:
    return records if categories is None else [r for r in records if categories.intersection(r.categories)]


@dataclass(slots=True)
class DailyIngest:
    papers: IngestCounts = field(default_factory=IngestCounts)
    featured: IngestCounts = field(default_factory=IngestCounts)
    files: int = 0


def ingest_daily(
    database: Database, path: Path, *, progress: Progress = no_progress, recount: RecountProgress = unwatched_recount
) -> DailyIngest:
    """Ingest one Daily Papers JSON file or a directory of them (a bulk load), one transaction per file."""
    result = DailyIngest()
    deferred = DeferredMentions() if path.is_dir() else None
    for _file, items, rejected in iter_daily_path(path):
        with database.write_session() as session:
            counts = feature_papers(session, items, defer_mentions=deferred)
        result.papers.add(counts.papers)
        result.featured.add(counts.featured)
        result.featured.rejected += len(rejected)
        result.featured.rejections.extend(rejected)
        result.files += 1
        progress(result.files)
    finish_mentions(database, recount, deferred)
    refresh_statistics_if_changed(database, result.papers, result.featured)
    return result


def refresh_statistics_if_changed(database: Database, *counts: IngestCounts) -> None:
    # A rerun that found nothing new (a cron's usual case) should not pay for ANALYZE: 13 s on a 2.7M-paper file.
    if any(c.added or c.updated for c in counts):
        refresh_statistics(database)


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
