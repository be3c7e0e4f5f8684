"""The access log never carries a link's token, including uvicorn's own records.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

from fastapi import FastAPI

from papertide.web.middleware.accesslog import redact_secrets


def test_logs_never_carry_link_tokens() -> None:
    line = redact_secrets(
        'GET /feeds/personal/pt_abcdefABCDEF123456.rss HTTP/1.1" 200 and /subscription?token=eyJx.y-z'
    )
    assert "pt_abcdef" not in line and "eyJx" not in line and "/feeds/personal/" in line


def test_the_access_log_filter_rewrites_uvicorns_records(app: FastAPI) -> None:
    import logging

    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/feeds/personal/pt_secretsecret.rss", "1.1", 200),
        None,
    )
    assert all(f.filter(record) for f in logger.filters) and logger.filters
    assert "pt_secretsecret" not in record.getMessage() and "[redacted].rss" in record.getMessage()
