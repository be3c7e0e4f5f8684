"""The job queue and its workers on SQLite and PostgreSQL: claims, leases, retries, deduplication, exclusive
tasks, ingest requests through the queue, and `papertide worker` processes, including one killed with SIGKILL half
way through an ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs import queue
from papertide.jobs.ingest_requests import ArxivRequest, DailyRequest, IngestRequest, OaiRequest, SnapshotRequest
from papertide.jobs.scheduler import JobRunner
from papertide.jobs.worker import Worker
from papertide.models import Job, Paper, PaperCategory, utcnow
from papertide.services.leases import acquire_lease
from papertide.services.papers import upsert_papers
from tests.helpers.cli import cli_env, run_cli
from tests.helpers.data import snapshot_subset
from tests.helpers.embedder import wait_until_embedded
from tests.helpers.factories import make_paper_record
from tests.helpers.replay import ReplayServer, Reply


def _job(db: Database, job_id: int) -> Job:
    with db.read_session() as session:
        return session.get_one(Job, job_id)


def _lapse_leases(db: Database) -> None:
    with db.write_session() as session:
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))


def test_each_job_goes_to_one_worker_oldest_first(db: Database) -> None:
    for n in range(3):
        assert queue.enqueue(db, "embed", {"n": n})
    first = queue.claim(db, "w1", 60)
    second = queue.claim(db, "w2", 60)
    assert first and second and (first.payload["n"], second.payload["n"]) == (0, 1)
    assert not queue.complete(db, first.id, "w2")  # only the holder can finish it
    assert queue.complete(db, first.id, "w1")
    assert _job(db, first.id).status == "done"
    assert queue.claim(db, "w3", 60).payload == {"n": 2}  # type: ignore[union-attr]
    assert queue.claim(db, "w4", 60) is None


def test_concurrent_workers_never_claim_the_same_job(db: Database) -> None:
    for n in range(60):
        queue.enqueue(db, "embed", {"n": n})
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(name: str) -> None:
        while (job := queue.claim(db, name, 60)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 60


def test_failures_back_off_then_fail_and_can_be_retried(db: Database) -> None:
    queue.enqueue(db, "embed", max_attempts=2)
    job = queue.claim(db, "w1", 60)
    assert job is not None
    assert queue.fail(db, job, "w1", "boom", backoff_seconds=60) == "queued"
    assert queue.claim(db, "w1", 60) is None  # backing off
    with db.write_session() as session:
        session.execute(update(Job).values(run_after=utcnow()))
    again = queue.claim(db, "w1", 60)
    assert again is not None and again.attempts == 2
    assert queue.fail(db, again, "w1", "boom again", backoff_seconds=60) == "failed"
    assert _job(db, job.id).last_error == "boom again"
    assert queue.requeue(db, job.id) and not queue.requeue(db, job.id)
    assert queue.claim(db, "w1", 60).attempts == 1  # type: ignore[union-attr]


def test_a_dead_workers_job_passes_on_and_a_job_that_kills_every_worker_is_abandoned(db: Database) -> None:
    queue.enqueue(db, "ingest-snapshot", {"path": "/nowhere"}, max_attempts=2)
    assert queue.claim(db, "w1", 60) is not None
    assert queue.claim(db, "w2", 60) is None  # w1 still holds it
    _lapse_leases(db)  # w1 died
    taken = queue.claim(db, "w2", 60)
    assert taken is not None and taken.attempts == 2
    assert not queue.renew(db, taken.id, "w1", 60) and queue.renew(db, taken.id, "w2", 60)
    _lapse_leases(db)  # w2 died too
    worker = Worker(db, _settings(db), None)
    assert worker.run_one()
    job = _job(db, taken.id)
    assert job.status == "failed" and "stopped during each of 2 attempts" in (job.last_error or "")


def test_scheduled_work_is_enqueued_once_per_key(db: Database) -> None:
    assert queue.enqueue(db, "digest", {"cadence": "daily"}, dedupe_key="digest:daily:2026-07-09")
    assert not queue.enqueue(db, "digest", {"cadence": "daily"}, dedupe_key="digest:daily:2026-07-09")
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


@pytest.mark.parametrize(
    "ingest",
    [
        SnapshotRequest(Path(__file__)),
        DailyRequest(Path(__file__).parent),
        ArxivRequest(ids=["2104.12255", "2401.00001"]),
        ArxivRequest(query="cat:cs.LG", since=date(2026, 11, 27), max_results=20),
        OaiRequest(set_spec="physics:hep-lat", from_date=date(2024, 1, 1), until=date(2024, 2, 1)),
    ],
    ids=repr,
)
def test_the_ingest_a_command_queues_is_the_ingest_the_worker_runs(db: Database, ingest: IngestRequest) -> None:
    assert queue.enqueue(db, ingest.task, ingest.payload())
    job = queue.claim(db, "w1", 60)
    assert job is not None and job.task == ingest.task
    assert type(ingest).from_payload(job.payload) == ingest


def _settings(db: Database) -> Settings:
    return Settings(database_url=db.engine.url.render_as_string(hide_password=False), jobs_retry_backoff=0)


def test_the_worker_records_what_went_wrong(db: Database, tmp_path: Path) -> None:
    worker = Worker(db, _settings(db), None)
    queue.enqueue(db, "no-such-task")
    queue.enqueue(db, "ingest-snapshot", {"path": 42})
    queue.enqueue(db, "ingest-snapshot", {"path": str(tmp_path / "gone.jsonl")})
    assert worker.run_until_empty() == 3
    with db.read_session() as session:
        jobs = session.execute(select(Job).order_by(Job.id)).scalars().all()
    assert jobs[0].status == "queued" and "unknown task 'no-such-task'" in (jobs[0].last_error or "")
    assert jobs[1].status == "failed" and "'path' must be a str" in (jobs[1].last_error or "")
    assert jobs[2].status == "failed" and "not a file on this worker's machine" in (jobs[2].last_error or "")


def test_exclusive_tasks_wait_for_each_other_without_spending_attempts(db: Database) -> None:
    assert acquire_lease(db, "source:arxiv", "another-worker", 60)
    queue.enqueue(db, "ingest-arxiv", {"query": "cat:cs.LG"})
    worker = Worker(db, _settings(db), None)
    assert worker.run_one()
    with db.read_session() as session:
        job = session.execute(select(Job)).scalar_one()
    assert (job.status, job.attempts, worker.stats.postponed) == ("queued", 0, 1)
    assert job.run_after > utcnow()


def _papers(db: Database) -> tuple[int, int]:
    with db.read_session() as session:
        papers = session.scalar(select(func.count()).select_from(Paper)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Paper.arxiv_id)))) or 0
    return papers, distinct


# Killed after 2 committed batches of 100: the 10 left take a second or more, the poll 20 ms, so the kill lands mid-job.
KILLED_JOB_LINES = 1_200
KILLED_JOB_BATCH = 100
KILLED_JOB_AFTER = 200


def test_a_worker_killed_mid_ingest_is_completed_by_another(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    subset = snapshot_subset(shared_data, tmp_path / "subset.jsonl", KILLED_JOB_LINES)
    expected = {json.loads(line)["id"] for line in subset.read_text().splitlines()}
    assert run_cli(settings, "ingest", "snapshot", str(subset), "--queue").returncode == 0
    env = cli_env(settings, PAPERTIDE_INGEST_BATCH_SIZE=str(KILLED_JOB_BATCH), PAPERTIDE_JOBS_LEASE_SECONDS="2")
    command = [sys.executable, "-m", "papertide", "worker", "--burst"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _papers(db)[0] < KILLED_JOB_AFTER and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = _papers(db)[0]
    assert KILLED_JOB_AFTER <= killed_at < len(expected), f"the worker was not killed half way ({killed_at} papers)"
    time.sleep(2.2)  # its lease lapses
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert _papers(db) == (len(expected), len(expected))
    with db.read_session() as session:
        stored = set(session.execute(select(Paper.arxiv_id)).scalars())
        categories = session.execute(
            select(PaperCategory.paper_id, PaperCategory.category, func.count())
            .group_by(PaperCategory.paper_id, PaperCategory.category)
            .having(func.count() > 1)
        ).all()
        job = session.execute(select(Job)).scalar_one()
    assert stored == expected and categories == []
    assert (job.status, job.attempts) == ("done", 2)


def test_a_worker_process_makes_new_papers_searchable_by_meaning(settings: Settings, db: Database) -> None:
    record = make_paper_record(title="Teaching quadruped robots to climb stairs", abstract="Legged locomotion.")
    env = cli_env(settings, PAPERTIDE_JOBS_INTERVAL_SECONDS="0.5")
    process = subprocess.Popen(
        [sys.executable, "-m", "papertide", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        with db.write_session() as session:
            upsert_papers(session, [record])

        def alive() -> None:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""

        wait_until_embedded(db, settings, seconds=90, alive=alive)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert b"stopping after the job in hand's current batch" in stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_runner_that_cannot_stop_in_time_hands_its_job_and_lease_back(settings: Settings, db: Database) -> None:
    """A task that cannot be cut short (here arXiv answering after 3 s) outlasts the stop's wait: the job goes back
    to the queue at once, its attempt uncounted, and its exclusive lease is free, so the next start takes it up."""
    with ReplayServer() as arxiv:
        arxiv.route("/api/query", Reply(delay=3.0, body=b"<feed xmlns='http://www.w3.org/2005/Atom'/>"))
        slow = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query"})
        queue.enqueue(db, "ingest-arxiv", {"ids": ["2104.12255"]})
        runner = JobRunner(db, slow, None, interval=60, poll=0.05, schedule=False)
        runner.start()
        deadline = time.monotonic() + 30
        while arxiv.requests == [] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert arxiv.requests, "the job never asked arXiv"
        assert runner.stop(timeout=0.2) is False
        with db.read_session() as session:
            job = session.execute(select(Job)).scalar_one()
        assert (job.status, job.attempts, job.locked_until) == ("queued", 0, None)
        assert acquire_lease(db, "source:arxiv", "the next start", 60)
        assert runner.stop(timeout=10) is True  # the task's own end changes nothing of what was handed back
    with db.read_session() as session:
        assert session.execute(select(Job.status)).scalar_one() == "queued"
