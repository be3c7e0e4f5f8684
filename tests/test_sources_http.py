"""The polite HTTP layer against a real local server: spacing, retries, Retry-After and giving up."""

from __future__ import annotations

import gzip
import itertools
import socket
import time
from pathlib import Path

import pytest

from papertide.config import Settings
from papertide.sources.factory import host_limiter, polite_client
from papertide.sources.http import PoliteClient, RateLimiter, SourceOffline, SourceUnavailable
from tests.helpers.replay import FakeClock, ReplayServer, Reply


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


def test_every_client_of_one_host_in_a_process_shares_its_spacing(tmp_path: Path) -> None:
    """An enrichment job, the next one and a harvest's API fallback each build a client: arXiv's spacing holds
    between them too, not only within one client."""
    with ReplayServer() as server:  # stamped by the real clock: the spacing is real time here
        _three_clients(tmp_path, server)


def _three_clients(tmp_path: Path, server: ReplayServer) -> None:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, arxiv_min_interval=0.2, http_backoff=0.0)
    server.route("/api/query", Reply(200, b"<feed/>"))
    server.route("/oai2", Reply(200, b"<OAI-PMH/>"))
    for path in ("/api/query", "/oai2", "/api/query"):
        with polite_client(settings, f"{server.url}{path}") as http:
            http.get({})
    arrivals = [received.at for received in server.requests]
    # Unshared, a new client would ask at once (gaps of a few ms); shared, its requests leave 0.2 s apart. Arrival
    # times carry each request's delivery jitter on a busy box, hence the margin (completion times, measured before,
    # also carried each answer's, and failed at 0.186 under load).
    assert min(later - earlier for earlier, later in itertools.pairwise(arrivals)) >= 0.15
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


# -- what a source may not do (audit 2, finding 9) ----------------------------------------------------------------


def test_an_answer_dripping_a_byte_at_a_time_is_dropped_at_the_deadline() -> None:
    """Each byte comes well within the timeout, so only the deadline of the whole exchange stops it (headers too)."""
    clock = FakeClock()
    with ReplayServer() as server:
        server.route("/api/query", Reply(body=b"x" * 40, drip=0.1))
        client = PoliteClient(f"{server.url}/api/query", timeout=5.0, deadline=1.0, clock=clock, sleep=clock.sleep)
        started = time.monotonic()
        with client, pytest.raises(SourceUnavailable, match=r"did not arrive in full within 1 s"):
            client.get({})
        assert time.monotonic() - started < 1.5
    assert len(server.requests) == 1  # not retried: the same server would drip again


def test_an_answer_past_its_size_cap_is_not_read_or_retried() -> None:
    bomb = gzip.compress(b"\0" * 2_000_000)  # 2 kB on the wire
    clock = FakeClock()
    with ReplayServer(clock=clock) as server:
        server.route("/big", Reply(body=b"x" * 5_000))
        server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
        server.route("/fits", Reply(body=gzip.compress(b"y" * 900), headers={"Content-Encoding": "gzip"}))
        for path in ("/big", "/bomb"):
            client = PoliteClient(f"{server.url}{path}", max_bytes=1_000, clock=clock, sleep=clock.sleep)
            with client, pytest.raises(SourceUnavailable, match="larger than 1,000 bytes"):
                client.get({})
        with PoliteClient(f"{server.url}/fits", max_bytes=1_000, clock=clock, sleep=clock.sleep) as client:
            assert client.get({}).content == b"y" * 900
    assert [request.path for request in server.requests] == ["/big", "/bomb", "/fits"]


def test_redirects_are_followed_within_the_sources_host_only() -> None:
    clock = FakeClock()
    with ReplayServer(clock=clock) as source, ReplayServer(clock=clock) as other:
        other.route("/private", Reply(body=b"the body of another local service"))
        source.route("/moved", Reply(302, headers={"Location": "/api/query?page=2"}))
        source.route("/api/query", Reply(body=b"found"))
        source.route("/away", Reply(302, headers={"Location": f"{other.url}/private"}))
        renamed = source.url.replace("127.0.0.1", "localhost")
        source.route("/renamed", Reply(301, headers={"Location": f"{renamed}/api/query"}))
        with polite(source, clock) as client:
            client.base_url = f"{source.url}/moved"
            assert client.get({}).content == b"found"
            for path, where in (("/away", other.url), ("/renamed", renamed)):
                client.base_url = f"{source.url}{path}"
                with pytest.raises(SourceUnavailable, match=f"redirected to {where}; papertide follows") as caught:
                    client.get({})
                assert "another local service" not in str(caught.value)
    assert other.requests == []
