"""The light default's footprint (issue: a 1 GB box): install size, `papertide embed` throughput and peak memory,
and the peak memory of `papertide serve` and `papertide demo`, each run as the real command.

Run it with the python of a fresh venv made by a plain ``pip install -e .`` (no torch), which runs every command:

    python3 -m venv /tmp/lightvenv && /tmp/lightvenv/bin/pip install -e .
    /tmp/lightvenv/bin/python bench/footprint.py                       # all four
    /tmp/lightvenv/bin/python bench/footprint.py --only embed --precision int8

- venv: its size on disk, its largest packages, and whether torch is in it.
- embed: the first N (2,000) snapshot records with an abstract, ingested into a fresh SQLite data dir, then
  ``papertide embed`` timed (abstracts/s, model load included) with its peak RSS (VmHWM).
- serve: the shared corpus (the arXiv snapshot, then the Daily Papers days) in SQLite with a stand-in vector per
  paper folded into the vector file (embedding 86,000 papers here would take hours), ``papertide serve`` with and
  without background jobs, then 200 searches (keyword, natural language, arXiv ids) through HTTP; peak RSS.
- demo: ``papertide demo --from ../shared/data/hf-daily`` in a fresh data dir, embedding in the background, for
  ``--demo-seconds`` (a search every 2 s); peak RSS and how far embedding got.

The box is shared: every figure is printed with the 1-minute load average at its end (2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "footprint"
sys.path.insert(0, str(ROOT))

from bench._process import children, high_water_kb  # noqa: E402
from bench.search_speed import mixed_queries, store_vectors  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import connect  # noqa: E402
from papertide.search.semantic import model_name, open_semantic  # noqa: E402


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def papertide(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "papertide", *args], env=env, capture_output=True, text=True)
    if check and result.returncode not in (0, 3):
        raise SystemExit(f"papertide {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    variables = {f"PAPERTIDE_{key.upper()}": value for key, value in settings.items()}
    return {**os.environ, "PAPERTIDE_DATA_DIR": str(data_dir), "PAPERTIDE_PAGE_CACHE_SECONDS": "0", **variables}


def venv_report() -> list[str]:
    prefix = Path(sys.prefix)
    sizes = subprocess.run(
        ["du", "-sm", *map(str, (prefix / "lib").glob("python3*/site-packages/*"))], text=True, capture_output=True
    ).stdout.splitlines()
    largest = sorted((line.split("\t") for line in sizes), key=lambda row: -int(row[0]))[:6]
    total = subprocess.run(["du", "-sm", str(prefix)], text=True, capture_output=True).stdout.split()[0]
    has_torch = any((prefix / "lib").glob("python3*/site-packages/torch"))
    listing = ", ".join(f"{Path(path).name} {size} MB" for size, path in largest)
    return [f"| venv ({prefix}) | {total} MB | torch installed: {has_torch}; largest: {listing} |"]


def measured(command: list[str], env: dict[str, str]) -> tuple[float, int, subprocess.Popen[bytes]]:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kb = 0
    while process.poll() is None:
        peak_kb = max(peak_kb, high_water_kb(process.pid))
        time.sleep(0.1)
    return time.perf_counter() - started, peak_kb // 1024, process


def embed_report(count: int, precision: str) -> list[str]:
    data_dir = OUT / f"embed-{precision}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    subset = data_dir / "subset.jsonl"
    with gzip.open(SHARED / "arxiv-snapshot.jsonl.gz", "rt") as lines, subset.open("w") as out:
        written = 0
        for line in lines:
            if written < count and json.loads(line).get("abstract"):
                out.write(line)
                written += 1
    env = environment(data_dir, embedding_precision=precision)
    papertide("db", "upgrade", env=env)
    papertide("ingest", "snapshot", str(subset), env=env)
    seconds, peak, process = measured([sys.executable, "-m", "papertide", "embed"], env)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return [
        f"| `papertide embed`, {count} abstracts, {precision} | {count / seconds:.1f} abstracts/s "
        f"({seconds:.0f} s, model load included) | peak RSS {peak} MB | {load()} |"
    ]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as systemd sends it; a job in hand may take a while to end under load, then SIGKILL."""
    process.terminate()
    try:
        process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serving(env: dict[str, str], args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "papertide", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(1)
        if process.poll() is not None:
            raise SystemExit(f"papertide {args[0]} exited with {process.returncode}")
    raise SystemExit(f"papertide {args[0]} did not answer in 15 minutes")


def shared_corpus(data_dir: Path) -> dict[str, str]:
    env = environment(data_dir)
    if not (data_dir / "papertide.db").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        papertide("db", "upgrade", env=env)
        papertide("ingest", "snapshot", str(SHARED / "arxiv-snapshot.jsonl.gz"), env=env)
        papertide("ingest", "daily", str(SHARED / "hf-daily"), env=env)
        settings = Settings(data_dir=data_dir)
        database = connect(settings)
        store_vectors(database, model_name(settings))
        semantic = open_semantic(settings)
        assert semantic is not None
        semantic.fold_vectors(database)
        semantic.close()
        database.dispose()
    return env


def serve_report(searches: int) -> list[str]:
    env = shared_corpus(OUT / "shared")
    database = connect(Settings(data_dir=OUT / "shared"))
    queries = (mixed_queries(database) * 2)[:searches]
    database.dispose()
    lines = []
    for jobs in ("off", "on"):
        port = free_port()
        process = serving({**env, "PAPERTIDE_JOBS_IN_WEB": jobs}, ["serve"], port)
        idle = high_water_kb(process.pid) // 1024
        started = time.perf_counter()
        with watched_children(process.pid) as jobs_peak:
            for query in queries:
                httpx.get(f"http://127.0.0.1:{port}/search.json", params={"q": query}, timeout=60).raise_for_status()
        per_search = (time.perf_counter() - started) / len(queries) * 1000
        peak = high_water_kb(process.pid) // 1024
        stop(process)
        apart = f"; its jobs' child process {jobs_peak[0] // 1024} MB" if jobs_peak[0] else ""
        lines.append(
            f"| `papertide serve`, shared corpus, jobs {jobs}, {len(queries)} searches | peak RSS {peak} MB "
            f"(ready: {idle} MB{apart}) | {per_search:.0f} ms per search | {load()} |"
        )
    return lines


@contextlib.contextmanager
def watched_children(pid: int) -> Iterator[list[int]]:
    """The highest peak RSS (kB) of any child of ``pid`` while the block runs (the embedded worker's jobs run in
    one, jobs/apart.py), polled five times a second: a list of one, filled in as it goes."""
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            for child in children(pid):
                peak[0] = max(peak[0], high_water_kb(child))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def demo_report(seconds: float) -> list[str]:
    data_dir = OUT / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = environment(data_dir, jobs_interval_seconds="5")
    port = free_port()
    started = time.perf_counter()
    process = serving(env, ["demo", "--from", str(SHARED / "hf-daily")], port)
    loaded = time.perf_counter() - started
    peak = 0
    while time.perf_counter() - started < loaded + seconds:
        httpx.get(f"http://127.0.0.1:{port}/search.json", params={"q": "diffusion video"}, timeout=60)
        peak = max(peak, high_water_kb(process.pid) // 1024)
        time.sleep(2)
    stop(process)
    status = papertide("embed", "--status", env=env).stderr.strip().splitlines()[-1]
    return [
        f"| `papertide demo --from hf-daily`, {seconds:.0f} s after loading ({loaded:.0f} s) | peak RSS {peak} MB "
        f"| {status} | {load()} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only", nargs="+", choices=["venv", "embed", "serve", "demo"], default=["venv", "embed", "serve", "demo"]
    )
    parser.add_argument("--abstracts", type=int, default=2000)
    parser.add_argument("--precision", nargs="+", choices=["fp32", "int8"], default=["fp32", "int8"])
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--demo-seconds", type=float, default=180)
    args = parser.parse_args()
    reports = {
        "venv": venv_report,
        "embed": lambda: [line for precision in args.precision for line in embed_report(args.abstracts, precision)],
        "serve": lambda: serve_report(args.searches),
        "demo": lambda: demo_report(args.demo_seconds),
    }
    for name in args.only:
        print("\n".join(reports[name]()), flush=True)


if __name__ == "__main__":
    main()
