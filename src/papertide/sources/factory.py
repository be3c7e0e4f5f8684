"""Build the network source clients from settings, so the CLI and the jobs configure them the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from papertide.config import Settings
from papertide.sources.arxiv_api import ArxivApiClient
from papertide.sources.hf_mirror import HfMirrorClient
from papertide.sources.http import PoliteClient, RateLimiter
from papertide.sources.oai import OaiClient


def polite_client(
    settings: Settings, base_url: str, *, min_interval: float | None = None, limiter: RateLimiter | None = None
) -> PoliteClient:
    """A client of ``base_url`` spaced as arXiv asks, unless ``min_interval`` says otherwise (hf.co)."""
    return PoliteClient(
        base_url,
        limiter=limiter,
        min_interval=settings.arxiv_min_interval if min_interval is None else min_interval,
        timeout=settings.http_timeout,
        max_retries=settings.http_max_retries,
        backoff=settings.http_backoff,
        user_agent=settings.user_agent,
    )


@contextmanager
def arxiv_client(settings: Settings) -> Iterator[ArxivApiClient]:
    with polite_client(settings, settings.arxiv_api_url) as http:
        yield ArxivApiClient(http)


@contextmanager
def oai_client(settings: Settings) -> Iterator[OaiClient]:
    with polite_client(settings, settings.arxiv_oai_url) as http:
        yield OaiClient(http)


@contextmanager
def arxiv_clients(settings: Settings) -> Iterator[tuple[OaiClient, ArxivApiClient]]:
    """OAI-PMH and the API together (a harvest that falls back), spaced as one client: both are export.arxiv.org."""
    limiter = RateLimiter(settings.arxiv_min_interval)
    with (
        polite_client(settings, settings.arxiv_oai_url, limiter=limiter) as oai,
        polite_client(settings, settings.arxiv_api_url, limiter=limiter) as api,
    ):
        yield OaiClient(oai), ArxivApiClient(api)


@contextmanager
def hf_mirror_client(settings: Settings) -> Iterator[HfMirrorClient]:
    url = f"{settings.hf_url.rstrip('/')}/api/daily_papers"
    with polite_client(settings, url, min_interval=settings.hf_min_interval) as http:
        yield HfMirrorClient(http)
