"""The Daily Papers mirror against a loopback stand-in of hf.co replaying recorded answers: backfill, reruns,
changed counts beside local votes, 429/503/garbage answers, conditional requests, and ``papertide ingest hf``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from papertide.config import Settings
from papertide.db import Database, connect
from papertide.jobs.ingest_requests import HfMirrorRequest
from papertide.jobs.payloads import TaskArgumentError
from papertide.models import FeaturedPaper, Paper, User, Vote
from papertide.records import IngestCounts
from papertide.services.mirror import REFRESH_DAYS, mirror_days, scheduled_range
from papertide.services.papers import refresh_counters
from papertide.services.source_status import record_run, source_states
from papertide.sources.hf_mirror import HfMirrorClient
from papertide.sources.http import PoliteClient
from tests.helpers.cli import cli_env
from tests.helpers.replay import FakeClock, ReplayServer, Reply
from tests.helpers.settings import make_settings

DAYS = ("2024-01-03", "2024-01-04")
RECORDED = "fixtures/hf/hf_daily_papers_2026-07-09.json"


@contextmanager
def hf_client(server: ReplayServer, clock: FakeClock) -> Iterator[HfMirrorClient]:
    http = PoliteClient(
        f"{server.url}/api/daily_papers", min_interval=1.0, max_retries=2, backoff=2.0, clock=clock, sleep=clock.sleep
    )
    with http:
        yield HfMirrorClient(http)


def serve_days(server: ReplayServer, shared_data: Path, *days: str) -> None:
    for day in days:
        server.route("/api/daily_papers", Reply(body=shared_data / "hf-daily" / f"{day}.json"), params={"date": day})


def _featured(db: Database) -> int:
    with db.read_session() as session:
        return session.execute(select(func.count()).select_from(FeaturedPaper)).scalar_one()


def test_backfill_then_rerun_changes_nothing(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    serve_days(server, shared_data, *DAYS)
    with hf_client(server, clock) as client:
        first = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 4))
        assert (first.days, first.featured.added, first.failed) == (2, 23, [])
        again = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 4))
    assert again.changed == 0 and again.featured.unchanged == 23
    assert _featured(db) == 23
    # One request at a time, spaced as asked, each asking for the whole day.
    gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert all(gap >= 1.0 for gap in gaps) and {r.params["limit"] for r in server.requests} == {"100"}
    with db.read_session() as session:
        state = source_states(session)["hf_mirror"]
    assert (state.last_result, state.cursor, state.last_error) == ("unchanged", "2024-01-04", None)


def test_changed_counts_update_hf_figures_and_keep_local_votes_and_days(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path, tmp_path: Path
) -> None:
    recorded = json.loads((shared_data / RECORDED).read_text())
    later = json.loads(json.dumps(recorded))
    later[0]["paper"]["upvotes"] += 5
    later[0]["numComments"] += 1
    changed = tmp_path / "later.json"
    changed.write_text(json.dumps(later))
    server.route("/api/daily_papers", Reply(body=shared_data / RECORDED), Reply(body=changed))
    arxiv_id = recorded[0]["paper"]["id"]
    with hf_client(server, clock) as client:
        mirror_days(db, client, date(2026, 7, 9), date(2026, 7, 9))
        with db.write_session() as session:
            paper_id = session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar_one()
            user_id = session.execute(select(User.id).limit(1)).scalar_one()
            session.execute(insert(Vote).values(user_id=user_id, paper_id=paper_id, created_at=datetime.now(UTC)))
            refresh_counters(session, [paper_id])
        report = mirror_days(db, client, date(2026, 7, 9), date(2026, 7, 9))
    assert report.featured.updated == 1 and report.featured.unchanged == len(recorded) - 1
    with db.read_session() as session:
        paper = session.execute(select(Paper).where(Paper.id == paper_id)).scalar_one()
        featured_on = session.execute(select(FeaturedPaper.featured_on).where(FeaturedPaper.paper_id == paper_id))
        assert (paper.hf_upvotes, paper.hf_comments) == (
            recorded[0]["paper"]["upvotes"] + 5,
            recorded[0]["numComments"] + 1,
        )
        assert paper.upvote_count == 1 and featured_on.scalar_one() == date(2026, 7, 9)
        # Everything else the answer carries is kept: hf.co's summary and keywords, code, stars, project page.
        assert paper.ai_summary == recorded[0]["paper"]["ai_summary"]
        assert paper.ai_keywords == recorded[0]["paper"]["ai_keywords"]
        assert paper.github_stars == recorded[0]["paper"]["githubStars"]
    assert _featured(db) == len(recorded)


def test_retry_after_and_503_are_waited_out(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    day = shared_data / "hf-daily" / "2024-01-03.json"
    server.route("/api/daily_papers", Reply(429, headers={"Retry-After": "7"}), Reply(503), Reply(body=day))
    with hf_client(server, clock) as client:
        report = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 3))
    assert report.featured.added == 11 and report.failed == []
    assert 7.0 in clock.sleeps and 4.0 in clock.sleeps  # Retry-After, then the second backoff step (2 * 2**1)
    assert len(server.requests) == 3


def test_a_garbage_day_is_reported_and_the_run_goes_on(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    server.route("/api/daily_papers", Reply(body=b'[{"paper": {"id": "2401.00908"'), params={"date": "2024-01-03"})
    serve_days(server, shared_data, "2024-01-04")
    with hf_client(server, clock) as client:
        report = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 4))
    assert [day for day, _ in report.failed] == [date(2024, 1, 3)]
    assert "the answer is not valid JSON (line 1" in report.failed[0][1]
    assert report.featured.added == 12 and _featured(db) == 12  # nothing of the broken day was written
    with db.read_session() as session:
        state = source_states(session)["hf_mirror"]
        assert session.execute(select(Paper.id).where(Paper.arxiv_id == "2401.00908")).first() is None
    assert state.last_result == "failed" and state.failures == 1
    assert state.last_error is not None and "2024-01-03" in state.last_error and state.last_error_at is not None


def test_conditional_requests_send_validators_back_and_304_costs_nothing(
    db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    day = shared_data / "hf-daily" / "2024-01-03.json"
    validators = {"ETag": '"day-v1"', "Last-Modified": "Wed, 03 Jan 2024 12:00:00 GMT"}
    server.route("/api/daily_papers", Reply(body=day, headers=validators), Reply(304))
    with hf_client(server, clock) as client:
        mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 3))
        again = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 3))
    assert "if-none-match" not in server.requests[0].headers
    assert server.requests[1].headers["if-none-match"] == '"day-v1"'
    assert server.requests[1].headers["if-modified-since"] == validators["Last-Modified"]
    assert (again.not_modified, again.changed) == (1, 0)


def test_an_unreachable_hf_stops_the_run_and_says_so(db: Database, clock: FakeClock) -> None:
    http = PoliteClient("http://127.0.0.1:9/api/daily_papers", max_retries=1, clock=clock, sleep=clock.sleep)
    with http:
        report = mirror_days(db, HfMirrorClient(http), date(2024, 1, 3), date(2024, 1, 9))
    assert report.days == 0 and report.stopped is not None and "127.0.0.1:9" in report.stopped
    with db.read_session() as session:
        assert source_states(session)["hf_mirror"].last_result == "failed"


def _ingest_hf(settings: Settings, server: ReplayServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(settings, PAPERTIDE_HF_URL=server.url, PAPERTIDE_HF_MIN_INTERVAL="0")
    command = [sys.executable, "-m", "papertide", "ingest", "hf", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def _embedded(tmp_path: Path) -> Settings:
    """A SQLite file the command creates: exit codes are the CLI's, the backends' writes are tested above."""
    return make_settings(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path, keyword_engine="database")


def test_ingest_hf_command_backfills_then_exits_3(server: ReplayServer, shared_data: Path, tmp_path: Path) -> None:
    serve_days(server, shared_data, *DAYS)
    settings = _embedded(tmp_path)
    first = _ingest_hf(settings, server, "--since", DAYS[0], "--until", DAYS[1])
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 days" in first.stdout + first.stderr
    again = _ingest_hf(settings, server, "--since", DAYS[0], "--until", DAYS[1])
    assert again.returncode == 3, again.stdout + again.stderr


def test_a_backwards_range_is_refused() -> None:
    with pytest.raises(TaskArgumentError, match="after until"):
        HfMirrorRequest(since=date(2024, 1, 4), until=date(2024, 1, 3)).check()


def test_demo_without_from_mirrors_daily_papers_and_lists_their_upvotes(
    server: ReplayServer, shared_data: Path, tmp_path: Path
) -> None:
    """The demo is the embedded mode: one SQLite file."""
    settings = _embedded(tmp_path)
    server.route("/api/daily_papers", Reply(body=shared_data / RECORDED))  # every day answers the recorded list
    search = shared_data / "fixtures" / "arxiv_api" / "api2026_search_testing_start0_max10.xml"
    server.route("/api/query", Reply(body=search))
    online = settings.model_copy(update={"arxiv_api_url": f"{server.url}/api/query"})
    env = cli_env(online, PAPERTIDE_HF_URL=server.url, PAPERTIDE_HF_MIN_INTERVAL="0")
    command = [sys.executable, "-m", "papertide", "demo", "--days", "2", "--no-serve"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    db = connect(settings)
    with db.read_session() as session:
        upvotes = session.execute(select(Paper.hf_upvotes).where(Paper.hf_upvotes.is_not(None))).scalars().all()
        states = source_states(session)
    db.dispose()
    assert sorted(upvotes, reverse=True) == [60, 39, 33, 18, 4, 4, 1]
    assert states["hf_mirror"].last_result == "added" and states["enrichment"].last_result is not None
    asked = [r.params.get("date") for r in server.requests if r.path == "/api/daily_papers"]
    assert len(asked) == 2


def test_a_mirrored_paper_shows_hf_figures_and_its_ai_summary_as_hf_cos(
    client: TestClient, db: Database, server: ReplayServer, clock: FakeClock, shared_data: Path
) -> None:
    server.route("/api/daily_papers", Reply(body=shared_data / RECORDED))
    with hf_client(server, clock) as client_of_hf:
        mirror_days(db, client_of_hf, date(2026, 7, 9), date(2026, 7, 9))
    top = json.loads((shared_data / RECORDED).read_text())[0]["paper"]
    day = client.get("/papers/date/2026-07-09").text
    assert f"on hf.co: {top['upvotes']} upvotes" in day
    paper = client.get(f"/papers/{top['id']}").text
    assert "hf.co's AI summary" in paper and "Machine-written by huggingface.co" in paper
    assert top["ai_keywords"][0] in paper
    card = client.get("/papers/date/2026-07-09.json").json()
    first = next(c for c in card["cards"] if c["arxiv_id"] == top["id"])
    assert (first["upvotes"], first["hf_upvotes"]) == (0, top["upvotes"])
    feed = client.get("/feeds/daily.json").json()
    item = next(i for i in feed["items"] if i["external_url"].endswith(top["id"]))
    assert (item["_papertide"]["upvotes"], item["_papertide"]["hf_upvotes"]) == (0, top["upvotes"])


def test_the_schedule_backfills_first_then_rereads_the_last_days(db: Database) -> None:
    today = date(2026, 7, 9)
    assert scheduled_range(db, today, backfill_days=7) == (date(2026, 7, 3), today)
    record_run(db, "hf_mirror", IngestCounts(added=3), started_at=datetime.now(UTC), cursor="2026-07-08")
    assert scheduled_range(db, today, backfill_days=7) == (date(2026, 7, 8) - timedelta(days=REFRESH_DAYS), today)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_out_of_range_count_costs_its_item_and_an_unreadable_day_only_that_day(
    db: Database, server: ReplayServer, clock: FakeClock
) -> None:
    """Audit 2, finding 4, on PostgreSQL (whose integer is the narrower): one item's 10^20 upvotes aborted the day,
    every day, so the mirror could never pass it."""

    def item(arxiv_id: str, upvotes: int) -> dict[str, object]:
        return {"paper": {"id": arxiv_id, "title": f"Paper {arxiv_id}", "upvotes": upvotes}}

    day = [item("2401.00001", 3), item("2401.00002", 10**20), item("2401.00003", 2**31)]
    server.route("/api/daily_papers", Reply(body=json.dumps(day).encode()), params={"date": "2024-01-03"})
    server.route("/api/daily_papers", Reply(body=b"[" * 100_000), params={"date": "2024-01-04"})
    server.route(
        "/api/daily_papers", Reply(body=json.dumps([item("2401.00004", 1)]).encode()), params={"date": "2024-01-05"}
    )
    with hf_client(server, clock) as client:
        report = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 5))
    assert [(line.line_no, line.reason) for line in report.featured.rejections] == [
        (2, "upvotes a 21-digit number is no count (0 to 2,147,483,647)"),
        (3, "upvotes 2147483648 is no count (0 to 2,147,483,647)"),
    ]
    assert [(day, "nests lists or objects more deeply" in reason) for day, reason in report.failed] == [
        (date(2024, 1, 4), True)
    ]
    with db.read_session() as session:
        kept = dict(session.execute(select(Paper.arxiv_id, Paper.hf_upvotes)).tuples().all())
        state = source_states(session)["hf_mirror"]
    assert kept == {"2401.00001": 3, "2401.00004": 1}
    assert state.cursor == "2024-01-05"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_error_answer_is_reported_without_its_body(db: Database, server: ReplayServer, clock: FakeClock) -> None:
    """Audit 2, finding 9: a body was quoted into the day's error and so into `sources status`."""
    server.route("/api/daily_papers", Reply(404, b"internal: token=s3cr3t"), params={"date": "2024-01-03"})
    with hf_client(server, clock) as client:
        report = mirror_days(db, client, date(2024, 1, 3), date(2024, 1, 3))
    ((_, reason),) = report.failed
    assert reason.startswith("hf.co answered HTTP 404 for ") and reason.endswith("instead of a Daily Papers list")
    with db.read_session() as session:
        error = source_states(session)["hf_mirror"].last_error
    assert error is not None and "2024-01-03" in error and "s3cr3t" not in error
