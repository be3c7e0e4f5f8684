"""The ingest commands end to end: real files, a real HTTP server replaying arXiv, real subprocesses and kills."""

from __future__ import annotations

import heapq
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from papertide.config import Settings
from papertide.db import Database
from papertide.models import FeaturedPaper, IngestCheckpoint, Paper
from papertide.people import author_key
from papertide.records import PaperRecord, RejectedLine
from papertide.services.ingest import ingest_daily, ingest_snapshot
from papertide.sources.snapshot import iter_snapshot, open_lines
from tests.helpers.cli import cli_env, run_cli
from tests.helpers.data import snapshot_subset
from tests.helpers.databases import content_hashes
from tests.helpers.factories import make_paper_record
from tests.helpers.replay import ReplayServer, Reply

EXIT_NOTHING_NEW = 3


def paper_count(db: Database) -> int:
    with db.read_session() as session:
        return session.execute(select(func.count()).select_from(Paper)).scalar_one()


SNAPSHOT_LINES = 75_639
SAMPLED_LINES = 3_000
EXTREMES_PER_MEASURE = 5
ID_FORMS_KEPT = 3


def line_measures(record: PaperRecord) -> tuple[int, ...]:
    """What a database could refuse a record for, each as a number whose largest values are the riskiest lines:
    a column's length (ids, categories, names and their keys, DOI, licence), a long text, many rows, rare code
    points."""
    names = [author.name for author in record.authors] or [""]
    longest_name = max(names, key=len)
    texts = " ".join(filter(None, (record.title, record.abstract, record.comments, record.journal_ref, *names)))
    return (
        len(record.arxiv_id),
        len(record.title or ""),
        len(record.abstract or ""),
        len(record.comments or ""),
        len(record.journal_ref or ""),
        len(record.doi or ""),
        len(record.report_no or ""),
        len(record.license or ""),
        len(record.authors),
        len(longest_name),
        len(author_key(longest_name)),
        len(record.categories),
        max(map(len, record.categories), default=0),
        len(record.versions),
        len(texts.encode()) - len(texts),  # UTF-8 bytes beyond one per character
        0 if texts.isascii() else ord(max(texts)),  # the highest code point (astral planes, private use)
    )


def scan_snapshot(path: Path) -> tuple[list[RejectedLine], int, set[int]]:
    """Every line through the ingest's own parser, without a database: its rejections, the number of distinct ids,
    and the lines worth writing (the extremes of each measure, the first lines of each id form, a seeded sample)."""
    rejections: list[RejectedLine] = []
    ids: set[str] = set()
    measured: list[tuple[int, tuple[int, ...]]] = []
    id_forms: dict[str, list[int]] = {}
    for line_no, item in iter_snapshot(path):
        if isinstance(item, RejectedLine):
            rejections.append(item)
            continue
        ids.add(item.arxiv_id)
        measured.append((line_no, line_measures(item)))
        form = id_forms.setdefault(re.sub(r"[0-9]", "9", item.arxiv_id), [])
        if len(form) < ID_FORMS_KEPT:
            form.append(line_no)
    chosen = {line_no for lines in id_forms.values() for line_no in lines}
    for measure in range(len(measured[0][1])):
        extremes = heapq.nlargest(EXTREMES_PER_MEASURE, measured, key=lambda entry: entry[1][measure])
        chosen.update(line_no for line_no, _ in extremes)
    all_lines = [line_no for line_no, _ in measured]
    chosen.update(random.Random(20_260_101).sample(all_lines, min(SAMPLED_LINES, len(all_lines))))
    return rejections, len(ids), chosen


def copy_lines(source: Path, target: Path, wanted: set[int]) -> Path:
    """The lines numbered ``wanted`` (as the ingest numbers them), verbatim and in file order."""
    with open_lines(source) as lines, target.open("w") as out:
        out.writelines(line for line_no, line in enumerate(lines, start=1) if line_no in wanted)
    return target


@pytest.mark.slow
# Every real line goes through the ingest's parser (the same code on both backends); the database only sees the lines
# most likely to break a column (each measure's extremes) and a seeded sample: writing all 75,639 to PostgreSQL took
# two minutes and found nothing parsing had not. PostgreSQL only, the stricter store (varchar lengths, NUL); SQLite's
# upsert runs on real lines in the killed-and-resumed test below.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_shared_snapshot_parses_and_its_extreme_lines_ingest_with_zero_rejects(
    db: Database, shared_data: Path, tmp_path: Path
) -> None:
    snapshot = shared_data / "arxiv-snapshot.jsonl.gz"
    rejections, distinct_ids, chosen = scan_snapshot(snapshot)
    assert rejections == []
    assert distinct_ids == SNAPSHOT_LINES
    assert len(chosen) > SAMPLED_LINES  # the extremes are more than the sample happened to hold
    counts = ingest_snapshot(db, copy_lines(snapshot, tmp_path / "extremes.jsonl", chosen), batch_size=1000)
    assert counts.rejected == 0, counts.rejections[:5]
    assert counts.added == len(chosen)
    assert paper_count(db) == len(chosen)


def test_broken_lines_are_reported_and_the_rest_ingested(
    settings: Settings, db: Database, tmp_path: Path, shared_data: Path
) -> None:
    good = snapshot_subset(shared_data, tmp_path / "good.jsonl", 6).read_text().splitlines()
    broken = [
        good[0],
        good[1][: len(good[1]) // 2],  # truncated
        "{not json at all",
        good[2],
        json.dumps({**json.loads(good[3]), "id": "not-an-id/123"}),
        good[4],
        good[5],
    ]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(broken) + "\n")
    result = run_cli(settings, "ingest", "snapshot", str(path))
    assert result.returncode == 0, result.stderr
    for line_no in (2, 3, 5):
        assert f"rejected line {line_no}:" in result.stderr
    assert "rejected line 1:" not in result.stderr and "rejected line 4:" not in result.stderr
    assert "4 added, 0 updated, 0 unchanged, 3 rejected" in result.stderr
    assert paper_count(db) == 4


def test_reingest_is_a_no_op_with_exit_code_3(
    settings: Settings, db: Database, tmp_path: Path, shared_data: Path
) -> None:
    path = snapshot_subset(shared_data, tmp_path / "subset.jsonl", 300)
    first = run_cli(settings, "ingest", "snapshot", str(path))
    assert first.returncode == 0, first.stderr
    before = content_hashes(db)
    second = run_cli(settings, "ingest", "snapshot", str(path))
    assert second.returncode == EXIT_NOTHING_NEW, second.stderr
    assert "0 added, 0 updated, 300 unchanged, 0 rejected" in second.stderr
    assert content_hashes(db) == before


# Killed after 2 of 12 committed batches: the 10 left take seconds, the poll 50 ms, so the kill lands mid-file.
KILLED_LINES = 3_000
KILLED_BATCH = 250
KILLED_AFTER = 500


def test_killed_ingest_resumes_to_the_same_database(
    settings: Settings, db: Database, second_database: Database, tmp_path: Path, shared_data: Path
) -> None:
    path = snapshot_subset(shared_data, tmp_path / "subset.jsonl", KILLED_LINES)
    env = cli_env(settings, PAPERTIDE_INGEST_BATCH_SIZE=str(KILLED_BATCH))
    process = subprocess.Popen(
        [sys.executable, "-m", "papertide", "ingest", "snapshot", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while paper_count(db) < KILLED_AFTER and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = paper_count(db)
    assert 0 < killed_at < KILLED_LINES, "the ingest finished before it could be killed; make the file larger"
    with db.read_session() as session:
        left = dict(session.execute(select(IngestCheckpoint.source, IngestCheckpoint.position)).all())
    assert left["snapshot"] and left["name-mentions"]  # where it got to, and the name mentions' recount owed
    resumed = subprocess.run(
        [sys.executable, "-m", "papertide", "ingest", "snapshot", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr

    ingest_snapshot(second_database, path)  # the same file, never interrupted, in batches of another size
    assert paper_count(db) == paper_count(second_database) == KILLED_LINES
    assert content_hashes(db) == content_hashes(second_database)
    mentions = select(Paper.arxiv_id, Paper.name_mentions).order_by(Paper.arxiv_id)
    with db.read_session() as session, second_database.read_session() as other:
        assert session.execute(mentions).all() == other.execute(mentions).all()
        assert session.execute(select(func.count()).select_from(IngestCheckpoint)).scalar_one() == 0


def test_daily_directory_creates_featured_days(
    settings: Settings, db: Database, tmp_path: Path, shared_data: Path
) -> None:
    days = tmp_path / "days"
    days.mkdir()
    for name in ("2024-01-03.json", "2024-01-04.json", "2026-07-01.json"):
        (days / name).write_bytes((shared_data / "hf-daily" / name).read_bytes())
    expected = sum(len(json.loads((days / n).read_text())) for n in os.listdir(days))
    result = run_cli(settings, "ingest", "daily", str(days))
    assert result.returncode == 0, result.stderr
    # One bar per phase: the files, then the name-mention recount a bulk load ends with, over every paper.
    assert "files" in result.stderr and "papers read for name mentions ━" in result.stderr
    assert f"{paper_count(db)}/{paper_count(db)}" in result.stderr.split("papers read for name mentions")[1]
    with db.read_session() as session:
        featured = session.execute(select(func.count()).select_from(FeaturedPaper)).scalar_one()
        dates = set(session.execute(select(FeaturedPaper.featured_on)).scalars())
    assert featured == expected
    assert {d.isoformat() for d in dates} == {"2024-01-03", "2024-01-04", "2026-07-01"}
    again = run_cli(settings, "ingest", "daily", str(days))
    assert again.returncode == EXIT_NOTHING_NEW, again.stderr


def test_arxiv_ids_then_nothing_new(settings: Settings, db: Database, shared_data: Path) -> None:
    fixture = shared_data / "fixtures" / "arxiv_api" / "api2026_idlist_2104.12255v1.xml"
    with ReplayServer() as server:
        server.route("/api/query", Reply(body=fixture))
        env_settings = settings.model_copy(update={"arxiv_api_url": f"{server.url}/api/query"})
        first = run_cli(env_settings, "ingest", "arxiv", "--ids", "https://arxiv.org/abs/2104.12255v1")
        second = run_cli(env_settings, "ingest", "arxiv", "--ids", "2104.12255")
    assert first.returncode == 0, first.stderr
    assert second.returncode == EXIT_NOTHING_NEW, second.stderr
    assert paper_count(db) == 1


def test_arxiv_rejects_a_malformed_id_before_any_request(settings: Settings) -> None:
    result = run_cli(settings, "ingest", "arxiv", "--ids", "2104.1225")
    assert result.returncode == 2
    assert "not an arXiv id" in result.stderr


def test_oai_no_records_match_is_nothing_new(settings: Settings, shared_data: Path) -> None:
    fixture = shared_data / "fixtures" / "oai" / "oai_error_noRecordsMatch.xml"
    with ReplayServer() as server:
        server.route("/oai2", Reply(body=fixture))
        oai_settings = settings.model_copy(update={"arxiv_oai_url": f"{server.url}/oai2"})
        result = run_cli(oai_settings, "ingest", "oai", "--set", "physics:hep-lat", "--from", "2024-01-01")
    assert result.returncode == EXIT_NOTHING_NEW, result.stderr


def test_oai_harvest_ingests_records(settings: Settings, db: Database, shared_data: Path) -> None:
    fixture = shared_data / "fixtures" / "oai" / "oai_listrecords_arXiv_cs.xml"
    with ReplayServer() as server:
        server.route("/oai2", Reply(body=fixture))
        oai_settings = settings.model_copy(update={"arxiv_oai_url": f"{server.url}/oai2"})
        result = run_cli(oai_settings, "ingest", "oai", "--set", "cs", "--from", "2015-01-16")
    assert result.returncode == 0, result.stderr
    assert paper_count(db) == 46


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_errors_print_text_they_quote_as_it_is(settings: Settings, tmp_path: Path) -> None:
    """A file name (or title, or message) holding Rich markup is printed as written, not styled away."""
    broken = tmp_path / "[bold]day [torch].json"
    broken.write_text("not JSON")
    result = run_cli(settings, "ingest", "daily", str(broken))
    assert result.returncode == 1
    assert "[bold]day [torch].json is not valid JSON" in result.stderr.replace("\n", "")


def test_demo_whose_sources_answer_nothing_serves_the_bundled_sample(settings: Settings) -> None:
    """The hosts resolve but refuse (a firewall, an outage): each is reported once, then the sample is served."""
    nowhere = {"arxiv_api_url": "http://127.0.0.1:9/api/query", "hf_url": "http://127.0.0.1:9", "http_max_retries": 0}
    result = run_cli(settings.model_copy(update=nowhere), "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "Could not reach hf.co" in result.stderr and "Could not reach arXiv" in result.stderr
    assert "serving the bundled sample" in result.stderr and "485 papers, 485 featured" in result.stderr


def test_demo_from_files_loads_both_formats(
    settings: Settings, db: Database, tmp_path: Path, shared_data: Path
) -> None:
    folder = tmp_path / "offline"
    folder.mkdir()
    snapshot_subset(shared_data, folder / "snapshot.jsonl", 50)
    (folder / "2024-01-03.json").write_bytes((shared_data / "hf-daily" / "2024-01-03.json").read_bytes())
    result = run_cli(settings, "demo", "--from", str(folder), "--no-serve")
    assert result.returncode == 0, result.stderr
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(FeaturedPaper)).scalar_one() > 0
    assert paper_count(db) > 50


def test_user_add_creates_an_admin_who_can_log_in(settings: Settings, db: Database) -> None:
    env = cli_env(settings, PAPERTIDE_NEW_PASSWORD="a long enough password")
    result = subprocess.run(
        [sys.executable, "-m", "papertide", "user", "add", "root", "--admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    again = subprocess.run(
        [sys.executable, "-m", "papertide", "user", "add", "root"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1 and "taken" in again.stderr
    from papertide.models import User
    from papertide.services.accounts import check_password

    with db.read_session() as session:
        checked = check_password(session, "root", "a long enough password")
        assert checked is not None and session.get_one(User, checked.user_id).is_admin


def test_serve_command_serves_the_database(settings: Settings, db: Database, tmp_path: Path) -> None:
    import socket

    import httpx

    from papertide.services.papers import upsert_papers

    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00099", title="Served by the real command")])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "papertide", "serve", "--port", str(port)],
        env=cli_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "papertide serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and "Served by the real command" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"status": "ok"}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_arxiv_query_pages_through_results(settings: Settings, db: Database, shared_data: Path) -> None:
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with ReplayServer() as server:
        server.route(
            "/api/query", Reply(body=fixtures / "api2026_search_testing_start0_max10.xml"), params={"start": "0"}
        )
        server.route(
            "/api/query", Reply(body=fixtures / "api2026_search_testing_start10_max10.xml"), params={"start": "10"}
        )
        configured = settings.model_copy(update={"arxiv_api_url": f"{server.url}/api/query"})
        result = run_cli(configured, "ingest", "arxiv", "--query", "testing", "--max-results", "20")
        starts = [request.params.get("start") for request in server.requests]
    assert result.returncode == 0, result.stderr
    assert "20 added" in result.stderr and paper_count(db) == 20
    assert starts[:2] == ["0", "10"]


def test_bulk_ingests_leave_planner_statistics(db: Database, shared_data: Path, tmp_path: Path) -> None:
    # Without statistics SQLite drove daily pages through every paper by the papers.hidden index: 730 ms a page at
    # 2.7M papers (bench/RESULTS.md, scale).
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", 200))
    ingest_daily(db, shared_data / "hf-daily" / "2024-01-03.json")
    with db.read_session() as session:
        if db.is_sqlite:
            analysed = set(session.execute(text("SELECT tbl FROM sqlite_stat1")).scalars())
            plan = " ".join(
                row[3]
                for row in session.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT papers.id FROM papers JOIN featured_papers "
                        "ON featured_papers.paper_id = papers.id WHERE papers.hidden IS 0 "
                        "AND featured_papers.featured_on BETWEEN '2024-01-03' AND '2024-01-03' "
                        "ORDER BY papers.upvote_count DESC LIMIT 30"
                    )
                )
            )
            assert "ix_featured_papers_featured_on" in plan and "ix_papers_hidden" not in plan, plan
        else:
            analysed = set(
                session.execute(
                    text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
                ).scalars()
            )
    assert {"papers", "featured_papers", "paper_categories"} <= analysed
