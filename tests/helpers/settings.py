"""Settings for tests: a test database's settings with nothing reaching a real host, and the same pointed at the
SMTP sink. conftest.py builds its fixtures from these; tests that need other values call them with overrides."""

from __future__ import annotations

from pathlib import Path

from papertide.config import Settings
from tests.helpers.smtp import SmtpSink


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "arxiv_min_interval": 0.0,
        "http_backoff": 0.0,
        # Tests write to the database behind the app's back; tests/test_web_cache.py covers the cache itself.
        "page_cache_seconds": 0.0,
        # Tests run the embed job themselves; tests/test_jobs_background.py covers the background scheduler.
        "jobs_interval_seconds": 0.0,
        # Passwords hashed at argon2's least cost: hundreds of sign-ups and log-ins would cost a minute of CPU at the
        # production cost (the cost itself is argon2-cffi's to test; tests/test_accounts_security.py checks a change
        # of cost rehashes at log-in).
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 64,
        "password_hash_parallelism": 1,
        # Nothing reaches the real hosts: a closed loopback port, unless a test points a source at its replay server.
        "hf_url": "http://127.0.0.1:9",
        "arxiv_api_url": "http://127.0.0.1:9/api/query",
        "arxiv_oai_url": "http://127.0.0.1:9/oai2",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def mail_settings(settings: Settings, smtp: SmtpSink, **overrides: object) -> Settings:
    """``settings`` pointed at the sink: plain SMTP on loopback, no retry waits."""
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "digest_retry_backoff": 0.0,
        "base_url": "http://testserver",
        "mail_from": "papertide <digest@papertide.test>",
    }
    values.update(overrides)
    return settings.model_copy(update=values)
