"""The one polite HTTP layer every network source goes through: spacing between requests, retries, backoff.

arXiv asks API and OAI-PMH clients for at most one request every three seconds and answers overload with
503 + ``Retry-After``; both clients share :class:`PoliteClient` so they obey those rules the same way. Time is
read and slept through injected callables so tests can check the spacing with a fake clock.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType

import httpx

from papertide import __version__

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"papertide/{__version__}"
# A server may ask for any pause; beyond this a harvest would look hung, so we wait at most this long.
MAX_RETRY_AFTER = 600.0
_ADVICE = "Check your network connection or try again later, or import from a downloaded file (--from FILE)."
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Params = Mapping[str, str | int]


class SourceUnavailable(Exception):
    """A source could not be reached or kept failing; the message names the URL and what to do."""


class SourceOffline(SourceUnavailable):
    """The source's host name does not resolve: this machine is offline (or the name is wrong). Retrying at once
    cannot help, so it is not retried; the schedule tries again later (``jobs/scheduler.py``)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} cannot be reached: its name does not resolve (no network?). {_ADVICE}")
        self.host = host


class RateLimiter:
    """Guarantees at least ``min_interval`` seconds between the starts of consecutive requests."""

    def __init__(self, min_interval: float, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._last_start: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until a request may start, and record that it starts now."""
        with self._lock:
            now = self._clock()
            if self._last_start is not None:
                remaining = self._last_start + self.min_interval - now
                if remaining > 0:
                    self._sleep(remaining)
                    now = self._clock()
            self._last_start = now


class PoliteClient:
    """GET requests to one endpoint, spaced by a :class:`RateLimiter` and retried with exponential backoff.

    Retries 5xx, 429, timeouts and connection errors (``max_retries`` times, waiting ``backoff * 2**n``
    seconds or the server's integer ``Retry-After``); other 4xx answers are returned so callers can read the
    error body.
    """

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float = 3.0,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 2.0,
        user_agent: str = DEFAULT_USER_AGENT,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep
        # Clients of one host (arXiv's API and OAI-PMH) pass one limiter, so their requests are spaced together.
        self._limiter = limiter or RateLimiter(min_interval, clock, sleep)
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            transport=transport,
        )

    def get(self, params: Params, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET ``base_url`` with ``params`` (and extra ``headers``, e.g. a conditional request's validators);
        raise :class:`SourceUnavailable` once retries are exhausted."""
        url = httpx.URL(self.base_url).copy_merge_params(params)
        for attempt in range(self.max_retries + 1):
            self._limiter.wait()
            try:
                response = self._client.get(url, headers=headers)
            except httpx.ConnectError as exc:
                if _name_does_not_resolve(exc):
                    raise SourceOffline(url.host) from exc
                problem, delay = _describe(exc), self._backoff(attempt)
            except _RETRYABLE_ERRORS as exc:
                problem, delay = _describe(exc), self._backoff(attempt)
            except httpx.HTTPError as exc:
                raise SourceUnavailable(f"GET {url} failed: {exc}. {_ADVICE}") from exc
            else:
                if not _is_retryable(response.status_code):
                    return response
                problem = f"HTTP {response.status_code}"
                delay = _retry_after(response) or self._backoff(attempt)
            if attempt < self.max_retries:
                log.warning("GET %s: %s; retrying in %.1f s", url, problem, delay)
                self._sleep(delay)
        raise SourceUnavailable(f"GET {url} failed after {self.max_retries + 1} attempts (last: {problem}). {_ADVICE}")

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff * 2**attempt)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return min(float(value), MAX_RETRY_AFTER)


def _describe(exc: Exception) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _name_does_not_resolve(exc: BaseException) -> bool:
    """Whether the connection failed at name resolution (``socket.gaierror`` somewhere in its causes)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
