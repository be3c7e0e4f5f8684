"""Build the network source clients from settings, so the CLI and the jobs configure them the same way.

Each kind of answer has its own size cap, well above the largest real one and far below what would hurt a small
server: an arXiv API page (100 entries, about 300 kB), an OAI-PMH ListRecords page (1,000 records, a few MB) and
an hf.co day (100 items, under 1 MB)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from papertide.config import Settings
from papertide.sources.arxiv_api import ArxivApiClient
from papertide.sources.hf_mirror import HfMirrorClient
from papertide.sources.http import PoliteClient, RateLimiter
from papertide.sources.oai import OaiClient

ARXIV_API_MAX_BYTES = 20_000_000
OAI_MAX_BYTES = 50_000_000
HF_DAY_MAX_BYTES = 10_000_000

_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def host_limiter(base_url: str, min_interval: float) -> RateLimiter:
    """The one limiter of this process for a host: clients come and go with each job and request (the OAI-PMH
    harvest and the API fallback, an enrichment job and the next, a submission), and arXiv asks for its spacing
    between all of them, not just within one client."""
    key = (urlsplit(base_url).netloc, min_interval)
    with _limiters_lock:
        return _limiters.setdefault(key, RateLimiter(min_interval))


def polite_client(
    settings: Settings,
    base_url: str,
    *,
    min_interval: float | None = None,
    max_bytes: int = ARXIV_API_MAX_BYTES,
    wait: float | None = None,
) -> PoliteClient:
    """A client of ``base_url`` spaced as arXiv asks, unless ``min_interval`` says otherwise (hf.co), reading answers
    of at most ``max_bytes`` within ``PAPERTIDE_HTTP_DEADLINE``. With ``wait``, someone is waiting for the answer:
    one attempt, given ``wait`` seconds in all."""
    interval = settings.arxiv_min_interval if min_interval is None else min_interval
    return PoliteClient(
        base_url,
        limiter=host_limiter(base_url, interval),
        min_interval=interval,
        timeout=settings.http_timeout if wait is None else wait,
        max_retries=settings.http_max_retries if wait is None else 0,
        backoff=settings.http_backoff,
        user_agent=settings.user_agent,
        max_bytes=max_bytes,
        deadline=settings.http_deadline if wait is None else min(wait, settings.http_deadline),
    )


@contextmanager
def arxiv_client(settings: Settings, *, wait: float | None = None) -> Iterator[ArxivApiClient]:
    """The arXiv API; ``wait`` when a reader waits for it (see :func:`polite_client`)."""
    with polite_client(settings, settings.arxiv_api_url, wait=wait) as http:
        yield ArxivApiClient(http)


@contextmanager
def oai_client(settings: Settings) -> Iterator[OaiClient]:
    with polite_client(settings, settings.arxiv_oai_url, max_bytes=OAI_MAX_BYTES) as http:
        yield OaiClient(http)


@contextmanager
def arxiv_clients(settings: Settings) -> Iterator[tuple[OaiClient, ArxivApiClient]]:
    """OAI-PMH and the API together (a harvest that falls back): both are export.arxiv.org, one limiter."""
    with (
        polite_client(settings, settings.arxiv_oai_url, max_bytes=OAI_MAX_BYTES) as oai,
        polite_client(settings, settings.arxiv_api_url) as api,
    ):
        yield OaiClient(oai), ArxivApiClient(api)


@contextmanager
def hf_mirror_client(settings: Settings) -> Iterator[HfMirrorClient]:
    url = f"{settings.hf_url.rstrip('/')}/api/daily_papers"
    with polite_client(settings, url, min_interval=settings.hf_min_interval, max_bytes=HF_DAY_MAX_BYTES) as http:
        yield HfMirrorClient(http)
