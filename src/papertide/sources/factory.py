"""Build the network source clients from settings, so the CLI and the jobs configure them the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from papertide.config import Settings
from papertide.sources.arxiv_api import ArxivApiClient
from papertide.sources.hf_mirror import HfMirrorClient
from papertide.sources.http import PoliteClient
from papertide.sources.oai import OaiClient


def polite_client(settings: Settings, base_url: str, *, min_interval: float | None = None) -> PoliteClient:
    """A client of ``base_url`` spaced as arXiv asks, unless ``min_interval`` says otherwise (hf.co)."""
    return PoliteClient(
        base_url,
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
def hf_mirror_client(settings: Settings) -> Iterator[HfMirrorClient]:
    url = f"{settings.hf_url.rstrip('/')}/api/daily_papers"
    with polite_client(settings, url, min_interval=settings.hf_min_interval) as http:
        yield HfMirrorClient(http)
