"""Ctrl+C and SIGTERM at work, for each long-running command: it stops within seconds, with exit code 130 (0 for
the servers and the worker, whose normal end a stop is), without a traceback or a C++ abort, and what it did is
kept and taken up by the next start. The commands run as subprocesses, as a user runs them; SQLite only (what a
stop leaves in the database is the same transaction rule on both backends, tested by the kill -9 tests).

The digest run's stop is in tests/test_digests_delivery.py (its kill test, with SIGINT); a snapshot's kill -9 in
tests/test_ingest_cli.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.queue import enqueue
from papertide.models import Job, Paper
from papertide.search.semantic import model_name
from papertide.services.embeddings import embedding_status
from papertide.services.ingest import ingest_snapshot
from tests.helpers.cli import cli_env
from tests.helpers.data import snapshot_subset
from tests.helpers.servers import free_port

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

STOP_WITHIN = 5.0
BROKEN = ("Traceback", "terminate called", "Aborted", "core dumped")
# .invalid never resolves (RFC 6761): the demo and the schedule see an offline machine, whatever this one has.
OFFLINE = {
    "PAPERTIDE_HF_URL": "https://hf.invalid",
    "PAPERTIDE_ARXIV_API_URL": "https://arxiv.invalid/api/query",
    "PAPERTIDE_ARXIV_OAI_URL": "https://arxiv.invalid/oai2",
}


def _start(settings: Settings, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "papertide", *args],
        env=cli_env(settings, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the command ended before {what}: {process.communicate()[0]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} within {seconds:.0f} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[str], signum: int) -> tuple[float, int, str]:
    """Send ``signum``; how long the process took to end, its exit code and everything it printed."""
    started = time.monotonic()
    process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("still running 30 s after the signal")
    return time.monotonic() - started, process.returncode, output


def _assert_clean_stop(elapsed: float, code: int, output: str, expected_code: int) -> None:
    assert elapsed < STOP_WITHIN, f"took {elapsed:.1f} s to stop"
    assert code == expected_code, output
    assert not any(sign in output for sign in BROKEN), output


def _embedded(db: Database, settings: Settings) -> int:
    with db.read_session() as session:
        return embedding_status(session, model_name(settings)).embedded


def test_ctrl_c_stops_embedding_within_seconds_and_the_next_run_goes_on(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", 400))
    process = _start(settings, "embed")
    _wait_for(lambda: _embedded(db, settings) >= 32, process, "vectors stored")
    elapsed, code, output = _stop(process, signal.SIGINT)
    _assert_clean_stop(elapsed, code, output, 130)
    assert "Stopped. What was done so far is kept" in output
    # What was stored stays (the next run embeds only what is pending: tests/test_jobs_background.py).
    assert 32 <= _embedded(db, settings) < 400


def test_sigterm_stops_a_snapshot_ingest_which_the_next_run_resumes(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    path = snapshot_subset(shared_data, tmp_path / "subset.jsonl", 3_000)
    process = _start(settings, "ingest", "snapshot", str(path), PAPERTIDE_INGEST_BATCH_SIZE="100")
    _wait_for(lambda: _papers(db) >= 300, process, "the first batches committed")
    elapsed, code, output = _stop(process, signal.SIGTERM)
    _assert_clean_stop(elapsed, code, output, 130)
    assert _papers(db) < 3_000
    rerun = subprocess.run(
        [sys.executable, "-m", "papertide", "ingest", "snapshot", str(path)],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _papers(db) == 3_000


def test_sigterm_stops_a_worker_mid_embedding_and_hands_the_job_back(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", 400))
    enqueue(db, "embed")
    process = _start(settings, "worker", "--no-schedule", PAPERTIDE_JOBS_LEASE_SECONDS="600")
    _wait_for(lambda: _embedded(db, settings) >= 32, process, "vectors stored")
    elapsed, code, output = _stop(process, signal.SIGTERM)
    _assert_clean_stop(elapsed, code, output, 0)
    with db.read_session() as session:
        job = session.execute(select(Job).where(Job.task == "embed")).scalar_one()
    # Queued again at once, not after its 600 s lease, and the attempt not counted: the next start takes it up.
    assert (job.status, job.attempts, job.locked_until) == ("queued", 0, None)


def test_the_demo_offline_serves_the_sample_stops_cleanly_mid_embedding_and_restarts_without_reloading(
    settings: Settings, db: Database
) -> None:
    port = free_port()
    process = _start(settings, "demo", "--port", str(port), PAPERTIDE_JOBS_INTERVAL_SECONDS="1", **OFFLINE)
    _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"), process, "a first page")
    _wait_for(lambda: _embedded(db, settings) >= 32, process, "vectors stored in the background")
    elapsed, code, output = _stop(process, signal.SIGINT)
    _assert_clean_stop(elapsed, code, output, 0)
    lines = output.splitlines()
    # The embedded worker's job ran in a child process (jobs/apart.py: its log lines carry its own process id, and
    # the web process logs none of a job's), which handed the job back when the server stopped it.
    handed_back = [line for line in lines if "(embed) postponed 0 s: the worker is stopping" in line]
    assert len(handed_back) == 1 and f" {process.pid} papertide.jobs" not in handed_back[0], output
    offline = [line for line in lines if "No network" in line]
    assert len(offline) == 1 and "hf.invalid and arxiv.invalid do not resolve" in offline[0]
    assert f"Data: {settings.sqlite_file}" in output.replace("\n", "")
    assert "485 papers, 485 featured" in output
    kept = _embedded(db, settings)
    assert kept >= 32

    again = _start(settings, "demo", "--no-serve", **OFFLINE)
    rerun = again.communicate(timeout=120)[0]
    assert again.returncode == 0, rerun
    assert "2 of 2 files unchanged since they were loaded" in rerun and "arXiv records:" not in rerun
    assert len(rerun.splitlines()) < 12  # a screen, not a line per file
    assert _embedded(db, settings) == kept


def _papers(db: Database) -> int:
    with db.read_session() as session:
        return session.execute(select(func.count()).select_from(Paper)).scalar_one()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
