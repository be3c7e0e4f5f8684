"""The ``papertide`` command as a real subprocess: the environment that points it at a test's settings, and a
run that returns its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys

from papertide.config import Settings


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "papertide", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERTIDE_")}
    env.update(
        PAPERTIDE_DATABASE_URL=settings.resolved_database_url,
        PAPERTIDE_DATA_DIR=str(settings.data_dir),
        PAPERTIDE_ARXIV_API_URL=settings.arxiv_api_url,
        PAPERTIDE_ARXIV_OAI_URL=settings.arxiv_oai_url,
        PAPERTIDE_HF_URL=settings.hf_url,
        PAPERTIDE_ARXIV_MIN_INTERVAL=str(settings.arxiv_min_interval),
        PAPERTIDE_HTTP_BACKOFF=str(settings.http_backoff),
        PAPERTIDE_HTTP_MAX_RETRIES=str(settings.http_max_retries),
        PAPERTIDE_INGEST_BATCH_SIZE=str(settings.ingest_batch_size),
        PAPERTIDE_PASSWORD_HASH_TIME_COST=str(settings.password_hash_time_cost),
        PAPERTIDE_PASSWORD_HASH_MEMORY_KIB=str(settings.password_hash_memory_kib),
        PAPERTIDE_PASSWORD_HASH_PARALLELISM=str(settings.password_hash_parallelism),
        COLUMNS="200",
    )
    if settings.pg_bin_dir:
        env["PAPERTIDE_PG_BIN_DIR"] = str(settings.pg_bin_dir)
    env.update(extra)
    return env
