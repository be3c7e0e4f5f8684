"""The self-filling instance's schedule, harvest and enrichment on real databases against loopback stand-ins of
arXiv's OAI-PMH and API serving recorded answers: each source enqueued once per due day however many schedulers
tick, a harvest killed midway resumed to the same rows, the API fallback, thin papers completed by id_list."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select, text, update

from papertide.config import Settings
from papertide.db import Database, alembic_config
from papertide.jobs.scheduler import enqueue_due, next_runs
from papertide.models import Job, Paper
from papertide.records import IngestCounts, PaperRecord
from papertide.services.enrichment import enrich_papers, wanted_count
from papertide.services.harvest import HarvestFailed, harvest_followed, oai_set
from papertide.services.papers import upsert_papers
from papertide.services.source_status import record_run, source_states
from papertide.sources.arxiv_api import ArxivApiClient
from papertide.sources.http import PoliteClient, RateLimiter, SourceUnavailable
from papertide.sources.oai import OaiClient
from tests.helpers.cli import run_cli
from tests.helpers.replay import FakeClock, ReplayServer, Reply
from tests.helpers.web import log_in, make_admin

MONDAY = datetime(2026, 7, 6, 3, 0, tzinfo=UTC)
FOLLOWED = ["cs.IT", "cs.NI", "cs.DS"]
_OAI_NS = "{http://www.openarchives.org/OAI/2.0/}"


@contextmanager
def arxiv_clients(server: ReplayServer, clock: FakeClock) -> Iterator[tuple[OaiClient, ArxivApiClient]]:
    """OAI-PMH and the API of the stand-in, spaced together as ``sources.factory.arxiv_clients`` spaces arXiv's."""
    limiter = RateLimiter(3.0, clock, clock.sleep)
    oai_http = PoliteClient(f"{server.url}/oai2", max_retries=1, clock=clock, sleep=clock.sleep, limiter=limiter)
    api_http = PoliteClient(f"{server.url}/api/query", max_retries=1, clock=clock, sleep=clock.sleep, limiter=limiter)
    with oai_http, api_http:
        yield OaiClient(oai_http), ArxivApiClient(api_http)


def _titles(db: Database) -> list[tuple[str, str]]:
    with db.read_session() as session:
        return sorted((arxiv_id, title) for arxiv_id, title in session.execute(select(Paper.arxiv_id, Paper.title)))


def _jobs(db: Database) -> list[str]:
    with db.read_session() as session:
        return sorted(key or task for task, key in session.execute(select(Job.task, Job.dedupe_key)))


def test_each_daily_source_is_enqueued_once_per_due_day_however_many_schedulers(
    db: Database, settings: Settings
) -> None:
    changes = {"follow_categories": "cs.CL cs.LG", "hf_mirror": True, "semantic_search": False}
    settings = settings.model_copy(update=changes)
    before_hour = MONDAY.replace(hour=1)
    assert enqueue_due(db, settings, before_hour) == []
    schedulers = [threading.Thread(target=enqueue_due, args=(db, settings, MONDAY)) for _ in range(4)]
    for thread in schedulers:
        thread.start()
    for thread in schedulers:
        thread.join()
    enqueue_due(db, settings, MONDAY.replace(hour=23))
    assert _jobs(db) == ["harvest:2026-07-06", "hf_mirror:2026-07-06"]
    # arXiv announces nothing at weekends: the mirror still runs, the harvest does not.
    enqueue_due(db, settings, datetime(2026, 7, 11, 3, 0, tzinfo=UTC))
    assert _jobs(db) == ["harvest:2026-07-06", "hf_mirror:2026-07-06", "hf_mirror:2026-07-11"]
    runs = next_runs(db, settings, MONDAY)
    assert runs["harvest"] == datetime(2026, 7, 7, 2, 0, tzinfo=UTC)
    assert runs["hf_mirror"] == datetime(2026, 7, 7, 2, 0, tzinfo=UTC)
    assert runs["enrichment"] is None


def test_a_source_whose_host_does_not_resolve_waits_as_offline_then_runs(db: Database, settings: Settings) -> None:
    """Offline is a state: nothing is enqueued to fail and retry, the source says why, a later check enqueues it."""
    offline = settings.model_copy(
        update={"hf_mirror": True, "semantic_search": False, "hf_url": "http://hf-mirror.invalid"}
    )
    assert enqueue_due(db, offline, MONDAY) == []
    assert enqueue_due(db, offline, MONDAY.replace(hour=4)) == []
    with db.read_session() as session:
        state = source_states(session)["hf_mirror"]
    assert (state.last_result, state.failures) == ("offline", 0)
    assert state.last_error is not None and "hf-mirror.invalid does not resolve" in state.last_error
    shown = run_cli(offline, "sources", "status")
    assert "offline" in shown.stdout + shown.stderr
    online = offline.model_copy(update={"hf_url": "http://127.0.0.1:9"})
    assert enqueue_due(db, online, MONDAY.replace(hour=5)) == ["hf_mirror:2026-07-06"]


def test_nothing_is_scheduled_when_no_source_is_on(db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"semantic_search": False})
    assert enqueue_due(db, settings, MONDAY) == []
    assert next_runs(db, settings, MONDAY) == {"harvest": None, "hf_mirror": None, "enrichment": None}


def test_thin_papers_get_one_enrichment_job_at_a_time(db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"semantic_search": False})
    with db.write_session() as session:
        upsert_papers(session, [PaperRecord(arxiv_id="1707.08567", title="Known by its title only")])
    assert enqueue_due(db, settings, MONDAY) == ["enrichment"]
    assert enqueue_due(db, settings, MONDAY) == []
    assert next_runs(db, settings, MONDAY)["enrichment"] == MONDAY
    with db.write_session() as session:  # the job ran out of attempts: arXiv gets an hour's rest
        session.execute(update(Job).where(Job.task == "enrichment").values(status="failed"))
    record_run(db, "enrichment", IngestCounts(), started_at=datetime.now(UTC), error="arXiv unreachable")
    assert enqueue_due(db, settings, datetime.now(UTC)) == []
    assert enqueue_due(db, settings, datetime.now(UTC) + timedelta(hours=2)) == ["enrichment"]


def test_categories_map_to_their_oai_sets() -> None:
    assert [oai_set(c) for c in ("cs.CL", "stat.ML", "hep-th", "astro-ph.CO", "q-bio.NC", "math.CO")] == [
        "cs",
        "stat",
        "physics:hep-th",
        "physics:astro-ph",
        "q-bio",
        "math",
    ]


def _split_listing(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The recorded cs ListRecords as two pages joined by a resumption token, as arXiv pages a long harvest."""
    source = shared_data / "fixtures" / "oai" / "oai_listrecords_arXiv_cs.xml"
    pages = []
    for half in (0, 1):
        root = etree.fromstring(source.read_bytes())
        listing = root.find(f"{_OAI_NS}ListRecords")
        records = listing.findall(f"{_OAI_NS}record")
        for record in records[23:] if half == 0 else records[:23]:
            listing.remove(record)
        if half == 0:
            token = etree.SubElement(listing, f"{_OAI_NS}resumptionToken", cursor="0", completeListSize="46")
            token.text = "page-2"
        path = tmp_path / f"page{half + 1}.xml"
        path.write_bytes(etree.tostring(root))
        pages.append(path)
    return pages[0], pages[1]


def test_a_harvest_killed_midway_resumes_to_the_same_rows(
    db: Database, second_database: Database, server: ReplayServer, clock: FakeClock, shared_data: Path, tmp_path: Path
) -> None:
    first, second = _split_listing(shared_data, tmp_path)
    server.route("/oai2", Reply(body=first), params={"set": "cs"})
    server.route("/oai2", Reply(503), params={"resumptionToken": "page-2"})
    with arxiv_clients(server, clock) as (oai, api):
        with pytest.raises(HarvestFailed, match="OAI-PMH.*503.*arXiv API"):
            harvest_followed(db, oai, api, FOLLOWED, first_days=3, today=date(2026, 7, 6))
        with db.read_session() as session:
            failed = source_states(session)["harvest"]
        assert (failed.last_result, failed.cursor) == ("failed", None)
        half = len(_titles(db))
        server.route("/oai2", Reply(body=second), params={"resumptionToken": "page-2"})
        resumed = harvest_followed(db, oai, api, FOLLOWED, first_days=3, today=date(2026, 7, 6))
        clean = harvest_followed(second_database, oai, api, FOLLOWED, first_days=3, today=date(2026, 7, 6))
    oai_requests = [r.params for r in server.requests if r.path == "/oai2"]
    assert oai_requests[-3] == {"verb": "ListRecords", "resumptionToken": "page-2"}  # the resumed run's only call
    assert 0 < half < len(_titles(db)) and _titles(db) == _titles(second_database)
    assert resumed.via == "OAI-PMH" and clean.counts.added == len(_titles(db))
    with db.read_session() as session:
        rows = session.execute(select(Paper.categories)).scalars().all()
        state = source_states(session)["harvest"]
    assert all(set(categories) & set(FOLLOWED) for categories in rows)  # other cs categories were left out
    assert (state.last_result, state.cursor, state.failures) == ("added", "2026-07-06", 0)
    assert state.last_error is not None  # yesterday's error stays visible
    times = [r.at for r in server.requests]  # OAI-PMH and the API fallback alike: spaced as arXiv asks
    assert all(b - a >= 3.0 for a, b in zip(times, times[1:], strict=False))


def test_the_api_stands_in_when_oai_is_unreachable(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    server.route("/oai2", Reply(503))
    server.route("/api/query", Reply(body=shared_data / "fixtures" / "arxiv_api" / "api2026_idlist_1605.08386.xml"))
    with arxiv_clients(server, clock) as (oai, api):
        report = harvest_followed(db, oai, api, ["cs.LG"], first_days=3, today=date(2016, 5, 30))
    assert report.via == "the arXiv API" and report.oai_error is not None and "503" in report.oai_error
    api_call = next(r for r in server.requests if r.path == "/api/query")
    assert api_call.params["search_query"] == "cat:cs.LG"


def test_enrichment_completes_a_thin_paper_and_marks_an_unknown_id(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    thin = [PaperRecord(arxiv_id="1707.08567", title="AEW10"), PaperRecord(arxiv_id="1707.99999", title="Gone")]
    with db.write_session() as session:
        upsert_papers(session, [*thin, PaperRecord(arxiv_id="1707.00001", title="Hidden")])
        session.execute(update(Paper).where(Paper.arxiv_id == "1707.00001").values(hidden=True))
    assert wanted_count(db) == 2
    recorded = shared_data / "fixtures" / "arxiv_api" / "api2026_idlist_two_ids_one_missing.xml"
    server.route("/api/query", Reply(body=recorded), params={"id_list": "1707.08567,1707.99999"})
    with arxiv_clients(server, clock) as (_, api):
        report = enrich_papers(db, api, limit=500)
        again = enrich_papers(db, api, limit=500)
    assert (report.asked, report.counts.updated, report.missing, report.left) == (2, 1, ["1707.99999"], 0)
    assert again.asked == 0 and len(server.requests) == 1  # the unknown id is not asked again
    with db.read_session() as session:
        rows = {p.arxiv_id: p for p in session.execute(select(Paper)).scalars()}
        state = source_states(session)["enrichment"]
    completed = rows["1707.08567"]
    assert completed.abstract and completed.authors and completed.categories and completed.enrichment is None
    assert completed.title.startswith("Proceedings of Workshop AEW10")
    assert rows["1707.99999"].enrichment == "missing" and rows["1707.00001"].enrichment == "wanted"
    assert state.last_result == "unchanged"  # the second run found nothing to do


def test_enrichment_that_cannot_reach_arxiv_is_recorded_and_raised(db: Database, clock: FakeClock) -> None:
    with db.write_session() as session:
        upsert_papers(session, [PaperRecord(arxiv_id="1707.08567", title="AEW10")])
    http = PoliteClient("http://127.0.0.1:9/api/query", max_retries=0, clock=clock, sleep=clock.sleep)
    with http, pytest.raises(SourceUnavailable, match="127.0.0.1:9"):
        enrich_papers(db, ArxivApiClient(http), limit=10)
    with db.read_session() as session:
        state = source_states(session)["enrichment"]
    assert state.last_result == "failed" and state.failures == 1 and wanted_count(db) == 1


def _record_failures(db: Database) -> None:
    started = datetime.now(UTC)
    record_run(db, "hf_mirror", IngestCounts(added=4), started_at=started, cursor="2026-07-06")
    for _ in range(2):
        record_run(db, "harvest", IngestCounts(), started_at=started, error="OAI-PMH: HTTP 503 <script>")


def test_sources_are_visible_on_the_admin_page_metrics_and_cli(
    client: TestClient, db: Database, settings: Settings
) -> None:
    _record_failures(db)
    make_admin(db, "boss")
    log_in(client, "boss")
    page = client.get("/admin").text
    assert 'data-source="harvest"' in page and "2 failed runs in a row" in page
    assert "OAI-PMH: HTTP 503 &lt;script&gt;" in page  # an error is shown, escaped
    sources = {s["status"]["source"]: s for s in client.get("/admin.json").json()["page"]["sources"]}
    assert sources["hf_mirror"]["status"]["last_result"] == "added" and not sources["hf_mirror"]["enabled"]
    metrics = client.get("/metrics").text
    assert 'papertide_source_last_result{result="failed",source="harvest"} 1.0' in metrics
    assert 'papertide_source_failures{source="harvest"} 2.0' in metrics
    assert 'papertide_source_last_run_timestamp_seconds{source="hf_mirror"}' in metrics
    shown = run_cli(settings, "sources", "status")
    assert shown.returncode == 0, shown.stderr
    table = " ".join(shown.stderr.split())
    assert "harvest" in table and "failed runs in a row" in table and "OAI-PMH" in table


def _migrate(db: Database, step: Callable[[Config, str], None], revision: str) -> None:
    with db.engine.begin() as connection:
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        step(config, revision)


def test_migration_0011_moves_imported_counts_to_hf_figures_and_back(db: Database) -> None:
    _migrate(db, command.downgrade, "0010")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO papers (id, arxiv_id, title, authors, author_names, categories, versions, content_hash, "
                "upvote_count, comment_count, hidden, created_at, modified_at) VALUES (1, '2401.00001', 'T', '[]', "
                "'', '[]', '[]', 'x', 10, 2, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO featured_papers (paper_id, featured_on, imported_upvotes, imported_comments, created_at) "
                "VALUES (1, '2024-01-01', 9, 2, CURRENT_TIMESTAMP)"
            )
        )
        account = (
            "INSERT INTO users (username, is_admin, is_active, created_at) "
            "VALUES ('u', false, true, CURRENT_TIMESTAMP) RETURNING id"
        )
        user = connection.execute(text(account)).scalar_one()
        vote = "INSERT INTO votes (user_id, paper_id, created_at) VALUES (:user, 1, CURRENT_TIMESTAMP)"
        connection.execute(text(vote), {"user": user})
    _migrate(db, command.upgrade, "head")
    figures = "SELECT hf_upvotes, hf_comments, upvote_count, comment_count, enrichment FROM papers"
    with db.engine.begin() as connection:
        assert connection.execute(text(figures)).one() == (9, 2, 1, 0, "wanted")  # a title alone is thin
    _migrate(db, command.downgrade, "0010")
    with db.engine.begin() as connection:
        back = (
            "SELECT f.imported_upvotes, f.imported_comments, p.upvote_count "
            "FROM papers p JOIN featured_papers f ON f.paper_id = p.id"
        )
        assert connection.execute(text(back)).one() == (9, 2, 10)
    _migrate(db, command.upgrade, "head")


def test_migration_0013_gives_queued_jobs_their_sources_names_and_back(db: Database) -> None:
    _migrate(db, command.downgrade, "0012")
    insert = (
        "INSERT INTO jobs (task, payload, status, dedupe_key, attempts, max_attempts, run_after, created_at) "
        "VALUES (:task, '{}', 'queued', :key, 0, 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    with db.engine.begin() as connection:
        for task, key in (("ingest-hf", "hf-mirror:2026-07-06"), ("enrich", None), ("harvest", "harvest:2026-07-06")):
            connection.execute(text(insert), {"task": task, "key": key})
    jobs = "SELECT task, dedupe_key FROM jobs ORDER BY id"
    _migrate(db, command.upgrade, "head")
    with db.engine.begin() as connection:
        assert connection.execute(text(jobs)).all() == [
            ("hf_mirror", "hf_mirror:2026-07-06"),
            ("enrichment", None),
            ("harvest", "harvest:2026-07-06"),
        ]
    _migrate(db, command.downgrade, "0012")
    with db.engine.begin() as connection:
        assert connection.execute(text(jobs)).all()[:2] == [("ingest-hf", "hf-mirror:2026-07-06"), ("enrich", None)]
    _migrate(db, command.upgrade, "head")
