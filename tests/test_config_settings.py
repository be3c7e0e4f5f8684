"""Settings: validated values, refused unsafe secrets outside development, readable errors from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from papertide.config import DEV_SECRET, ConfigError, Settings, describe, get_settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="built-in development secret"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="x" * 40).secret_key == "x" * 40


def test_production_refuses_a_password_hash_cost_below_owasps_floor() -> None:
    secret = "x" * 40
    for cheap in ({"password_hash_time_cost": 1}, {"password_hash_memory_kib": 8_192}):
        with pytest.raises(ValidationError, match="OWASP's floor"):
            Settings(env="production", secret_key=secret, **cheap)  # type: ignore[arg-type]
    floor = Settings(env="production", secret_key=secret, password_hash_time_cost=2, password_hash_memory_kib=19_456)
    assert (floor.password_hash_time_cost, floor.password_hash_memory_kib) == (2, 19_456)
    assert Settings(env="dev").secret_key == DEV_SECRET


def test_bad_values_are_described_by_variable_name() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(port=70_000, arxiv_min_interval=-1)  # type: ignore[arg-type]
    message = describe(caught.value)
    assert "PAPERTIDE_PORT" in message and "PAPERTIDE_ARXIV_MIN_INTERVAL" in message


def test_get_settings_raises_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTIDE_ENV", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="PAPERTIDE_SECRET_KEY"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_cli_prints_one_line_not_a_traceback() -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PAPERTIDE_")}, "PAPERTIDE_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "papertide", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Configuration error" in result.stderr and "PAPERTIDE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_database_lives_in_the_data_dir(tmp_path: object) -> None:
    settings = Settings(data_dir="somewhere")  # type: ignore[arg-type]
    assert settings.resolved_database_url == "sqlite:///somewhere/papertide.db" and settings.is_sqlite


def test_sqlite_page_cache_follows_the_setting(tmp_path: object) -> None:
    """Each pooled SQLite connection keeps PAPERTIDE_SQLITE_CACHE_MB of pages (8 by default: the OS page cache
    serves the rest to every process, and a web process's memory stays small)."""
    from sqlalchemy import text

    from papertide.db import connect

    for settings, expected in ((Settings(data_dir=tmp_path), 8), (Settings(data_dir=tmp_path, sqlite_cache_mb=64), 64)):
        database = connect(settings)
        with database.read_session() as session:
            assert session.execute(text("PRAGMA cache_size")).scalar() == -expected * 1024
        database.dispose()
