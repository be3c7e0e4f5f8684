"""The polite HTTP layer against a real local server: spacing, retries, Retry-After and giving up."""

from __future__ import annotations

import itertools
import socket
import time
from pathlib import Path

import pytest

from papertide.config import Settings
from papertide.sources.factory import host_limiter, polite_client
from papertide.sources.http import PoliteClient, RateLimiter, SourceOffline, SourceUnavailable
from tests.replay_server import FakeClock, ReplayServer, Reply


def polite(
    server: ReplayServer, clock: FakeClock, *, max_retries: int = 4, min_interval: float = 3.0, timeout: float = 5.0
) -> PoliteClient:
    return PoliteClient(
        f"{server.url}/api/query",
        min_interval=min_interval,
        timeout=timeout,
        max_retries=max_retries,
        clock=clock,
        sleep=clock.sleep,
    )


def test_rate_limiter_sleeps_only_the_rest_of_the_interval() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    limiter.wait()
    clock.now += 1.0
    limiter.wait()
    clock.now += 5.0
    limiter.wait()
    assert clock.sleeps == [2.0]


def test_two_requests_start_at_least_three_seconds_apart_without_real_sleeping() -> None:
    clock = FakeClock()
    started = time.monotonic()
    with ReplayServer(clock=clock) as server, polite(server, clock) as client:
        server.route("/api/query", Reply(body=b"ok"))
        client.get({"q": "a"})
        client.get({"q": "b"})
    assert [request.params["q"] for request in server.requests] == ["a", "b"]
    assert server.requests[1].at - server.requests[0].at >= 3.0
    assert clock.sleeps == [3.0]
    assert time.monotonic() - started < 1.0


def test_a_503_is_retried_after_backoff() -> None:
    clock = FakeClock()
    with ReplayServer(clock=clock) as server, polite(server, clock) as client:
        server.route("/api/query", Reply(503), Reply(body=b"fine"))
        response = client.get({"id_list": "2104.12255"})
    assert response.status_code == 200
    assert response.content == b"fine"
    assert len(server.requests) == 2
    assert clock.sleeps[0] == 2.0  # backoff before the retry; the limiter then tops it up to 3 s
    assert server.requests[1].at - server.requests[0].at >= 3.0


def test_retry_after_is_honoured() -> None:
    clock = FakeClock()
    with ReplayServer(clock=clock) as server, polite(server, clock) as client:
        server.route("/api/query", Reply(503, headers={"Retry-After": "7"}), Reply(body=b"ok"))
        assert client.get({"verb": "ListRecords"}).status_code == 200
    assert clock.sleeps[0] >= 7
    assert server.requests[1].at - server.requests[0].at >= 7


def test_429_is_retried_but_other_4xx_answers_are_returned() -> None:
    clock = FakeClock()
    with ReplayServer(clock=clock) as server, polite(server, clock) as client:
        server.route("/api/query", Reply(429), Reply(400, b"<feed/>"))
        response = client.get({"id_list": "abc"})
    assert response.status_code == 400
    assert response.content == b"<feed/>"
    assert len(server.requests) == 2


def test_backoff_grows_exponentially_until_retries_are_exhausted() -> None:
    clock = FakeClock()
    with ReplayServer(clock=clock) as server, polite(server, clock, max_retries=3, min_interval=0) as client:
        server.route("/api/query", Reply(500))
        with pytest.raises(SourceUnavailable) as caught:
            client.get({"search_query": "all:electron"})
    assert len(server.requests) == 4
    assert clock.sleeps == [2.0, 4.0, 8.0]
    message = str(caught.value)
    assert f"{server.url}/api/query?search_query=all%3Aelectron" in message
    assert "HTTP 500" in message
    assert "4 attempts" in message
    assert "--from FILE" in message


def test_connection_refused_becomes_source_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    client = PoliteClient(
        f"http://127.0.0.1:{port}/oai2", min_interval=0, max_retries=2, clock=clock, sleep=clock.sleep
    )
    with client, pytest.raises(SourceUnavailable, match=r"127\.0\.0\.1.*3 attempts.*ConnectError"):
        client.get({"verb": "Identify"})
    assert clock.sleeps == [2.0, 4.0]


def test_a_timeout_is_retried() -> None:
    clock = FakeClock()
    with ReplayServer() as server, polite(server, clock, timeout=0.2) as client:
        server.route("/api/query", Reply(body=b"late", delay=1.0), Reply(body=b"on time"))
        assert client.get({}).content == b"on time"
    assert len(server.requests) == 2
    assert clock.sleeps[0] == 2.0


def test_every_client_of_one_host_in_a_process_shares_its_spacing(tmp_path: Path, server: ReplayServer) -> None:
    """An enrichment job, the next one and a harvest's API fallback each build a client: arXiv's spacing holds
    between them too, not only within one client."""
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, arxiv_min_interval=0.2, http_backoff=0.0)
    server.route("/api/query", Reply(200, b"<feed/>"))
    server.route("/oai2", Reply(200, b"<OAI-PMH/>"))
    starts = []
    for path in ("/api/query", "/oai2", "/api/query"):
        with polite_client(settings, f"{server.url}{path}") as http:
            http.get({})
            starts.append(time.monotonic())
    assert min(later - earlier for earlier, later in itertools.pairwise(starts)) >= 0.19
    assert host_limiter(f"{server.url}/x", 0.2) is host_limiter(f"{server.url}/y", 0.2)
    assert host_limiter("https://huggingface.co/api", 0.2) is not host_limiter(f"{server.url}/y", 0.2)


def test_a_name_that_does_not_resolve_fails_at_once_without_retries() -> None:
    """Offline is not a hiccup: a host name that does not resolve (RFC 6761 reserves .invalid) is reported at once,
    not retried with backoff for a minute."""
    clock = FakeClock()
    client = PoliteClient("http://arxiv.invalid/api/query", min_interval=3.0, clock=clock, sleep=clock.sleep)
    started = time.monotonic()
    with client, pytest.raises(SourceOffline, match="arxiv.invalid cannot be reached"):
        client.get({"id_list": "2104.12255"})
    assert clock.sleeps == []
    assert time.monotonic() - started < 5.0
