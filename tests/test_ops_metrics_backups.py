"""Operations: Prometheus metrics (one process and summed over `serve --workers 2`), backups taken while
papertide writes and restored elsewhere, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, connect
from papertide.jobs.queue import enqueue
from papertide.models import Paper
from papertide.services.ingest import ingest_snapshot
from papertide.services.papers import upsert_papers
from tests.helpers.cli import cli_env, run_cli
from tests.helpers.data import snapshot_subset
from tests.helpers.databases import admin_execute, fresh_database
from tests.helpers.factories import make_paper_record
from tests.helpers.postgres import bin_dir
from tests.helpers.servers import free_port
from tests.helpers.settings import make_settings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _requests(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str) -> float:
    return sum(
        value
        for (name, labels), value in samples.items()
        if name == "papertide_http_request_duration_seconds_count" and ("route", route) in labels
    )


def test_metrics_report_latency_by_route_and_the_shared_state(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record() for _ in range(3)])
    enqueue(db, "embed")
    route = "/api/papers/{arxiv_id:path}"  # one series for every id: the route, not the path
    with TestClient(create_app(settings)) as client:
        before = _requests(_samples(client.get("/metrics").text), route)  # the histogram lives as long as the process
        for arxiv_id in ("2401.00001", "2401.00002", "not-an-id"):
            client.get(f"/api/papers/{arxiv_id}")
        samples = _samples(client.get("/metrics").text)
    assert _requests(samples, route) - before == 3
    assert samples[("papertide_papers", (("kind", "all"),))] == 3
    assert samples[("papertide_jobs", (("status", "queued"), ("task", "embed")))] == 1
    assert ("papertide_jobs_oldest_waiting_seconds", ()) in samples


def test_metrics_can_require_a_token(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, metrics_token="s3cret-metrics-token")
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert allowed.status_code == 200 and "papertide_papers" in allowed.text


def test_serve_with_two_workers_on_postgresql_sums_metrics_over_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with fresh_database(request, "postgresql", tmp_path) as url:
        settings = make_settings(url, tmp_path)
        port = free_port()
        env = cli_env(settings, PAPERTIDE_PORT=str(port), PAPERTIDE_PAGE_CACHE_SECONDS="0")
        server = subprocess.Popen(
            [sys.executable, "-m", "papertide", "serve", "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                try:
                    if httpx.get(base + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve --workers 2 did not come up in 90 s"
                time.sleep(0.3)
            with httpx.Client(base_url=base, timeout=30) as http:
                for _ in range(40):  # new connections each time would spread them; this is what a proxy does
                    assert http.get("/api/daily_papers", headers={"Connection": "close"}).status_code == 200
                counted = _counted_soon(http, 40)
        finally:
            server.terminate()
            server.wait(timeout=60)
    assert counted == 40


def _counted_soon(http: httpx.Client, expected: float) -> float:
    """The requests /metrics counts once it reaches ``expected`` or 5 s pass: a process records a request after its
    response is sent, so a scrape answered by the other process can come before the last one is written."""
    deadline = time.monotonic() + 5
    while True:
        counted = _requests(_samples(http.get("/metrics").text), "/api/daily_papers")
        if counted >= expected or time.monotonic() > deadline:
            return counted
        time.sleep(0.1)


def _count(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(Paper)) or 0


def test_a_backup_taken_while_papertide_writes_restores_elsewhere(
    request: pytest.FixtureRequest, settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "s.jsonl", 300))  # the command: test_ingest_cli
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            with db.write_session() as session:
                upsert_papers(session, [make_paper_record()])

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        backup_file = tmp_path / "backup.db"
        made = run_cli(settings.model_copy(update={"pg_bin_dir": bin_dir()}), "backup", str(backup_file))
        backed_up_at_least = 300
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert "backup written" in made.stderr
    assert run_cli(settings, "backup", str(backup_file)).returncode == 1  # never overwrites

    backend = "sqlite" if settings.is_sqlite else "postgresql"
    if backend == "sqlite":
        target_url = f"sqlite:///{tmp_path / 'restored' / 'papertide.db'}"
    else:
        admin_url = request.getfixturevalue("postgres_server")
        name = f"papertide_restored_{os.getpid()}"
        admin_execute(admin_url, f"CREATE DATABASE {name}")
        request.addfinalizer(lambda: admin_execute(admin_url, f"DROP DATABASE {name} WITH (FORCE)"))
        target_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    target = make_settings(target_url, tmp_path / "elsewhere", pg_bin_dir=bin_dir())
    restored = run_cli(target, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    restored_db = connect(target)
    try:
        count = _count(restored_db)
        assert backed_up_at_least <= count <= _count(db)  # one consistent moment between start and end
        with restored_db.read_session() as session:
            assert session.execute(select(Paper.arxiv_id).order_by(Paper.id).limit(1)).scalar_one()
        if backend == "sqlite":
            assert run_cli(target, "restore", str(backup_file)).returncode == 1  # refuses to replace data
            assert run_cli(target, "restore", str(backup_file), "--force").returncode == 0
    finally:
        restored_db.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, pg_bin_dir=bin_dir())
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    result = run_cli(settings, "restore", str(junk))
    assert result.returncode == 1 and "Restore failed" in result.stderr
