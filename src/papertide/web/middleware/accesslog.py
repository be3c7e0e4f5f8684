"""Secrets out of the access log: private feed tokens, mailed-link tokens and reset tokens travel in URLs (feed
readers and mail clients can send nothing else), so the access log would keep a copy of each for whoever reads
the log. The filter rewrites them as ``[redacted]`` before any handler formats the line."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(
    r"(?P<lead>/feeds/personal/|/reset/|/settings/email/|[?&]token=)(?P<secret>[^\s/?&\"'.]+(?:\.[^\s/?&\"'.]+)*)"
)
_KEEP_SUFFIX = re.compile(r"\.(rss|atom|json)$")


def redact_secrets(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        suffix = _KEEP_SUFFIX.search(match.group("secret"))
        return f"{match.group('lead')}[redacted]{suffix.group(0) if suffix else ''}"

    return _SECRETS.sub(replace, text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact_secrets(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact_secrets(str(record.msg))
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process, whoever builds the app)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
