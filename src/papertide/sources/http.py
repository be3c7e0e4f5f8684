"""The one polite HTTP layer every network source goes through: spacing between requests, retries, backoff, and
the limits that keep a source from steering papertide.

arXiv asks API and OAI-PMH clients for at most one request every three seconds and answers overload with
503 + ``Retry-After``; both clients share :class:`PoliteClient` so they obey those rules the same way. Time is
read and slept through injected callables so tests can check the spacing with a fake clock.

What an answer may do is bounded (audit 2, finding 9): a redirect is followed only within the source's own
scheme, host and port (or from http to https on the same host), so a source cannot point papertide at another
service; an answer is read up to ``max_bytes`` (decoded, so a gzip bomb counts at its full size) and refused past
it; and one exchange (connecting, sending, the headers, the whole body) ends by its ``deadline`` however slowly
the server drips, because every socket wait is cut to what is left of it (:class:`_DeadlineBackend`). None of
these is retried: the same server would do the same again. No error quotes an answer's body.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import httpcore
import httpx

from papertide import __version__

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"papertide/{__version__}"
# A server may ask for any pause; beyond this a harvest would look hung, so we wait at most this long.
MAX_RETRY_AFTER = 600.0
_ADVICE = "Check your network connection or try again later, or import from a downloaded file (--from FILE)."
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 20_000_000
DEFAULT_DEADLINE = 120.0
# Headers that describe the body as it travelled; the response handed on holds it decoded and whole.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

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


class _Deadline(threading.local):
    """When the exchange this thread is in must end (``time.monotonic()``), or None outside one."""

    at: float | None = None


def _within(deadline: _Deadline, timeout: float | None) -> float | None:
    """``timeout`` cut to what is left before the deadline; httpcore's timeout once it has passed."""
    if deadline.at is None:
        return timeout
    left = deadline.at - time.monotonic()
    if left <= 0:
        raise httpcore.TimeoutException("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the deadline of the exchange using it."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within(self._deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within(self._deadline, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _within(self._deadline, timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, held to the deadline. httpx's timeouts are per operation: a server sending a byte
    every few seconds never trips them, however long the whole answer takes."""

    def __init__(self, deadline: _Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.connect_tcp(host, port, _within(self._deadline, timeout), local_address, socket_options)
        return _DeadlineStream(inner, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.connect_unix_socket(path, _within(self._deadline, timeout), socket_options)
        return _DeadlineStream(inner, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool built on :class:`_DeadlineBackend` (httpx takes no backend)."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_DeadlineBackend(deadline)
        )


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
        limiter: RateLimiter | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.deadline = deadline
        self._sleep = sleep
        # Clients of one host (arXiv's API and OAI-PMH) pass one limiter, so their requests are spaced together.
        self._limiter = limiter or RateLimiter(min_interval, clock, sleep)
        self._deadline = _Deadline()
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent},
            follow_redirects=False,  # followed by _exchange, within the source's host only
            transport=_DeadlineTransport(self._deadline),
        )

    def get(self, params: Params, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET ``base_url`` with ``params`` (and extra ``headers``, e.g. a conditional request's validators);
        raise :class:`SourceUnavailable` once retries are exhausted, or at once for an answer past the limits."""
        url = httpx.URL(self.base_url).copy_merge_params(params)
        for attempt in range(self.max_retries + 1):
            self._limiter.wait()
            try:
                response = self._exchange(url, headers)
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

    def _exchange(self, url: httpx.URL, headers: Mapping[str, str] | None) -> httpx.Response:
        """One answer to ``url`` within :attr:`deadline`, following same-host redirects."""
        self._deadline.at = time.monotonic() + self.deadline
        try:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                response = self._read(target, headers)
                if not response.has_redirect_location:
                    return response
                target = _same_host_redirect(url, target, response.headers["Location"])
            raise SourceUnavailable(f"GET {url} was redirected more than {MAX_REDIRECTS} times. {_ADVICE}")
        except httpx.TimeoutException as exc:
            if time.monotonic() < self._deadline.at:
                raise  # an ordinary timeout, retried
            raise SourceUnavailable(
                f"GET {url}: the answer did not arrive in full within {self.deadline:g} s "
                f"(PAPERTIDE_HTTP_DEADLINE), so it was dropped. {_ADVICE}"
            ) from exc
        finally:
            self._deadline.at = None

    def _read(self, url: httpx.URL, headers: Mapping[str, str] | None) -> httpx.Response:
        """The answer to one GET, its body read whole and decoded, or :class:`SourceUnavailable` past
        :attr:`max_bytes` (declared or counted)."""
        with self._client.stream("GET", url, headers=headers) as streamed:
            declared = streamed.headers.get("Content-Length", "").strip()
            if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > self.max_bytes):
                raise self._too_large(url)
            body = bytearray()
            for chunk in streamed.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_large(url)
        kept = [(name, value) for name, value in streamed.headers.multi_items() if name not in _TRANSFER_HEADERS]
        return httpx.Response(streamed.status_code, headers=kept, content=bytes(body), request=streamed.request)

    def _too_large(self, url: httpx.URL) -> SourceUnavailable:
        return SourceUnavailable(
            f"GET {url}: the answer is larger than {self.max_bytes:,} bytes, more than such an answer ever is, "
            f"so it was not read. {_ADVICE}"
        )

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


def _same_host_redirect(asked: httpx.URL, current: httpx.URL, location: str) -> httpx.URL:
    """Where a redirect from ``current`` leads, when that is the scheme, host and port ``asked`` named (or https on
    the same host); else :class:`SourceUnavailable`: a source may not send papertide to another service."""
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError):
        raise SourceUnavailable(f"GET {asked} was redirected to an address that is no URL. {_ADVICE}") from None
    same_host = target.host.lower() == asked.host.lower()
    same_origin = (target.scheme, target.port) == (asked.scheme, asked.port)
    upgraded = (asked.scheme, target.scheme) == ("http", "https") and asked.port is None and target.port is None
    if not (same_host and (same_origin or upgraded)):
        where = f"{target.scheme}://{target.host}" + (f":{target.port}" if target.port else "")
        raise SourceUnavailable(
            f"GET {asked} was redirected to {where}; papertide follows a source's redirects within its own host "
            "only. Check the source's URL in the settings."
        )
    return target


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
