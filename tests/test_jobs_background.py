"""Background work: the lease that lets one process run a job, the jobs `serve` runs, the embed job's share of the
work, the embed command."""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.jobs import queue, tasks
from papertide.jobs.worker import Worker
from papertide.models import Job, JobLease, utcnow
from papertide.search.semantic import model_name, open_semantic
from papertide.search.tantivy_keyword.retriever import CATCH_UP_LIMIT
from papertide.search.tantivy_keyword.sync import open_keyword_index
from papertide.services.embeddings import embedding_status
from papertide.services.ingest import ingest_snapshot
from papertide.services.leases import acquire_lease
from papertide.services.papers import upsert_papers
from tests.helpers.cli import run_cli
from tests.helpers.data import snapshot_subset
from tests.helpers.embedder import MemoEmbedder, wait_until_embedded
from tests.helpers.factories import make_paper_record
from tests.helpers.settings import make_settings


def test_one_holder_at_a_time_until_the_lease_expires(db: Database) -> None:
    assert acquire_lease(db, "embed", "web-1", 60)
    assert not acquire_lease(db, "embed", "web-2", 60)
    assert acquire_lease(db, "embed", "web-1", 60)  # renewal
    with db.write_session() as session:  # web-1 died: its lease runs out
        session.execute(update(JobLease).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert acquire_lease(db, "embed", "web-2", 60)
    assert not acquire_lease(db, "embed", "web-1", 60)


def test_serve_embeds_new_papers_in_the_background(database_url: str, tmp_path: Path, db: Database) -> None:
    # On PostgreSQL, web processes leave jobs to `papertide worker` unless told otherwise (tests/test_jobs_queue.py).
    settings = make_settings(database_url, tmp_path, jobs_interval_seconds=0.2, jobs_in_web="on")
    record = make_paper_record(title="Teaching quadruped robots to climb stairs", abstract="Legged locomotion.")
    with TestClient(create_app(settings)) as client:
        with db.write_session() as session:
            upsert_papers(session, [record])
        wait_until_embedded(db, settings, seconds=60)
        found = client.get("/search.json", params={"q": "legged robot walking up steps"}).json()
    assert found["cards"][0]["arxiv_id"] == record.arxiv_id
    assert "semantic" in found["matched_by"][record.arxiv_id]


@pytest.fixture
def embed_worker(
    db: Database, settings: Settings, embedder: MemoEmbedder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Worker]:
    """A worker whose embed jobs take 4 papers each, over 10 papers without a vector."""
    monkeypatch.setattr(tasks, "EMBED_PER_JOB", 4)
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record() for _ in range(10)])
    semantic = open_semantic(settings, embedder)
    assert semantic is not None
    yield Worker(db, settings, semantic)
    semantic.close()


def _embedded(db: Database, settings: Settings) -> int:
    with db.read_session() as session:
        return embedding_status(session, model_name(settings)).embedded


def _embed_jobs(db: Database) -> list[tuple[str, str | None]]:
    with db.read_session() as session:
        return [(job.status, job.dedupe_key) for job in session.execute(select(Job).order_by(Job.id)).scalars()]


def test_an_embed_job_takes_its_share_and_queues_the_rest_once(
    db: Database, settings: Settings, embed_worker: Worker
) -> None:
    worker = embed_worker
    queue.enqueue(db, "embed")
    assert worker.run_one()
    assert _embedded(db, settings) == 4
    first = _embed_jobs(db)
    with db.read_session() as session:
        first_id = session.scalars(select(Job.id).order_by(Job.id)).first()
    assert first == [("done", None), ("queued", f"embed:after:{first_id}")]
    with db.write_session() as session:  # the first job runs again, as if its worker had died before finishing
        session.execute(update(Job).where(Job.id == first_id).values(status="running", locked_until=utcnow()))
    assert worker.run_one()
    assert _embedded(db, settings) == 8 and len(_embed_jobs(db)) == 2  # its follow-up was there already
    assert worker.run_until_empty() == 1  # the last two papers, and no follow-up: nothing is left
    assert _embedded(db, settings) == 10
    assert [status for status, _ in _embed_jobs(db)] == ["done", "done"]


def test_an_embed_job_with_a_limit_passes_on_what_is_left_of_it(
    db: Database, settings: Settings, embed_worker: Worker
) -> None:
    queue.enqueue(db, "embed", {"limit": 6})
    assert embed_worker.run_until_empty() == 2
    assert _embedded(db, settings) == 6
    with db.read_session() as session:
        assert session.scalars(select(Job.payload).order_by(Job.id)).all() == [{"limit": 6}, {"limit": 2}]


def test_embed_command_reports_progress_and_nothing_new(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", 40))  # the command: test_ingest_cli
    first = run_cli(settings, "embed", "--limit", "25", timeout=300)
    assert first.returncode == 0, first.stderr
    assert "25 of 40 papers embedded" in first.stderr
    pending = run_cli(settings, "embed", "--status")  # with papers waiting: reports them and embeds none
    assert pending.returncode == 0 and "25 of 40 papers embedded" in pending.stderr
    assert _embedded(db, settings) == 25
    rest = run_cli(settings, "embed", timeout=300)
    assert rest.returncode == 0 and "40 of 40 papers embedded" in rest.stderr
    assert run_cli(settings, "embed").returncode == 3  # nothing new: cron can skip follow-up work
    status = run_cli(settings, "embed", "--status")
    assert status.returncode == 0 and "40 of 40" in status.stderr


# On SQLite only: the error comes from loading the model for a device, before any vector is written; the database
# side of the command runs on both backends in the test above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_embed_command_explains_a_missing_gpu(
    settings: Settings, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "one.jsonl", 1))

    result = run_cli(settings, "embed", "--device", "cuda", "--limit", "1")
    if importlib.util.find_spec("torch") is None:  # the default install: the torch extra is what cuda needs
        assert result.returncode == 1 and "pip install 'papertide[torch]'" in result.stderr
    elif importlib.import_module("torch").cuda.is_available():
        assert result.returncode == 0 and "on cuda" in result.stderr
    else:
        assert result.returncode == 1 and "no CUDA GPU" in result.stderr
    assert run_cli(settings, "embed", "--device", "tpu").returncode == 2


def test_web_processes_keep_their_keyword_index_current(database_url: str, tmp_path: Path, db: Database) -> None:
    # SQLite picks tantivy by itself; a PostgreSQL deployment opts in to a keyword index on each web host.
    settings = make_settings(
        database_url, tmp_path, jobs_interval_seconds=0.2, keyword_engine="tantivy", semantic_search=False
    )
    assert settings.keyword_index_path is not None
    records = [make_paper_record(title=f"Quasicrystal lattice number {n}") for n in range(CATCH_UP_LIMIT * 3)]
    with TestClient(create_app(settings)) as client:
        with db.write_session() as session:
            upsert_papers(session, records)  # more than a search catches up on by itself
        index = open_keyword_index(settings.keyword_index_path)
        deadline = time.monotonic() + 60
        while True:
            with db.read_session() as session:
                if index.pending(session, 1) == []:
                    break
            assert time.monotonic() < deadline, "the web process did not index the new papers within a minute"
            time.sleep(0.2)
        found = client.get("/search.json", params={"q": "quasicrystal"}).json()
    assert found["total"] == len(records)
