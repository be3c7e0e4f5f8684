"""Running safely: a read-only database answers 503 and ``serve`` says why and exits; metrics are off in
production until a token is set; the development secret is announced loudly.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from tests.helpers.cli import run_cli
from tests.helpers.databases import fresh_database
from tests.helpers.settings import make_settings

# -- faults tell the truth (audit 14), hardening (audit 15) --------------------------------------------------------


@pytest.fixture
def read_only_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A migrated SQLite database opened read-only, as on a read-only mount (tests/test_health_readiness.py covers a
    read-only PostgreSQL)."""
    with fresh_database(request, "sqlite", tmp_path) as url:
        path = url.removeprefix("sqlite:///")
        yield make_settings(f"sqlite:///file:{path}?mode=ro&uri=true", tmp_path, semantic_search=False)


def test_readyz_answers_503_on_a_read_only_database(read_only_settings: Settings) -> None:
    with TestClient(create_app(read_only_settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["problems"] == ["the database refuses writes (read-only)"]


def test_serve_on_a_read_only_database_says_so_and_exits(read_only_settings: Settings) -> None:
    result = run_cli(read_only_settings, "serve", "--port", "1")
    assert result.returncode == 1
    assert "Not serving: the database refuses writes" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_metrics_are_off_in_production_until_a_token_is_set(settings: Settings) -> None:
    production = {"env": "production", "secret_key": "s" * 40, "semantic_search": False}
    with TestClient(create_app(settings.model_copy(update=production))) as client:
        assert client.get("/metrics").status_code == 404
    with TestClient(create_app(settings.model_copy(update={**production, "metrics_token": "t" * 20}))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 20}).status_code == 200


def test_the_development_secret_is_announced_loudly(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="papertide.app"):
        create_app(settings.model_copy(update={"semantic_search": False}))
    assert any("development secret" in record.getMessage() for record in caplog.records)
