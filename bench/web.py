"""Page latency in process and over HTTP, against a static file of the same size (issue: the Daily Papers site).

Loads the shared corpus (75,639 snapshot records + the 822 Daily Papers days) into a fresh SQLite database, then:
1. in process (ASGI, no network): p50/p99 of the daily page (50 cards), the weekly page and a paper page;
2. over HTTP with wrk against ``papertide serve`` (the production command): requests/s and latency of the same
   pages, and of a static file with the daily page's size served by the same server.

    .venv/bin/python bench/web.py [--workers 2] [--duration 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
STATIC = ROOT / "src" / "papertide" / "web" / "static"
DAY, WEEK = "2026-02-04", "2026-W06"
PAPER = "2601.14691"


def load(env: dict[str, str]) -> None:
    for args in (
        ["ingest", "snapshot", str(SHARED / "arxiv-snapshot.jsonl.gz")],
        ["ingest", "daily", str(SHARED / "hf-daily")],
    ):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "papertide", *args], env=env, capture_output=True, text=True)
        if result.returncode not in (0, 3):
            raise SystemExit(result.stderr)
        print(f"{' '.join(args[:2])}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def in_process(env: dict[str, str], paths: dict[str, str], requests: int) -> dict[str, tuple[float, float, int]]:
    os.environ.update(env)
    from papertide.app import create_app
    from papertide.config import Settings

    results = {}
    with TestClient(create_app(Settings())) as client:
        for name, path in paths.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results[name] = (statistics.median(timings), timings[int(len(timings) * 0.99) - 1], len(response.content))
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, duration: int, connections: int) -> tuple[float, str, str]:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+(\S+)", output).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", output).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{output}")
    return rate, p50, p99


def over_http(
    env: dict[str, str], paths: dict[str, str], args: argparse.Namespace
) -> list[tuple[str, float, str, str]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers", str(args.workers)],
        env={**env, "PAPERTIDE_HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        _wait_for(f"{base}/healthz")
        for name, path in paths.items():
            rows.append((name, *wrk(base + path, args.duration, args.connections)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def _wait_for(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=300, help="in-process requests per page")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="papertide-web-bench-"))
    env = {
        **os.environ,
        "PAPERTIDE_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "PAPERTIDE_DATA_DIR": str(workdir),
    }
    paths = {
        "daily page": f"/papers/date/{DAY}",
        "weekly page": f"/papers/week/{WEEK}",
        "paper page": f"/papers/{PAPER}",
    }
    static_copy = STATIC / f"bench-{os.getpid()}.html"
    try:
        load(env)
        local = in_process(env, paths, args.requests)
        static_copy.write_bytes(b"x" * local["daily page"][2])
        remote = over_http(env, {**paths, "static file, same size": f"/static/{static_copy.name}"}, args)
    finally:
        static_copy.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print("| page | bytes | in process p50 (ms) | in process p99 (ms) |")
    print("|---|---:|---:|---:|")
    for name, (p50, p99, size) in local.items():
        print(f"| {name} | {size:,} | {p50:.1f} | {p99:.1f} |")
    print()
    setup = f"wrk, {args.connections} connections, {args.duration} s, {args.workers} workers"
    print(f"| over HTTP ({setup}) | requests/s | p50 | p99 |")
    print("|---|---:|---:|---:|")
    for name, rate, p50, p99 in remote:
        print(f"| {name} | {rate:,.0f} | {p50} | {p99} |")
    daily = next(rate for name, rate, _, _ in remote if name == "daily page")
    static = next(rate for name, rate, _, _ in remote if name.startswith("static"))
    print(f"\ndaily page throughput = {daily / static:.0%} of the static file's")


if __name__ == "__main__":
    main()
