"""Page and search latency of two revisions side by side, in process (issue 30: a refactor's figures must stay within
noise). Each revision runs from its own checkout (``git worktree add --detach DIR REV``) with this checkout's
virtual environment, loads the 822 hf.co Daily Papers days into its own SQLite file, and times the rendered pages
(page cache off) and keyword search; the revisions take turns, round after round, so a busy machine slows both.

    .venv/bin/python bench/revisions.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 3] [--requests 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAGES = {
    "daily page (2026-02-04)": "/papers/date/2026-02-04",
    "weekly page (2026-W06)": "/papers/week/2026-W06",
    "paper page": "/papers/2601.14691",
    "search, keyword (diffusion transformer)": "/search?q=diffusion+transformer",
    "search, a title": "/search?q=Self-Rewarding+Language+Models",
}
# Runs inside the revision's own interpreter: its papertide comes first on sys.path.
TIMER = """
import json, statistics, sys, time
from fastapi.testclient import TestClient
from papertide.app import create_app
from papertide.config import Settings
pages, requests = json.loads(sys.argv[1]), int(sys.argv[2])
out = {}
with TestClient(create_app(Settings())) as client:
    for name, path in pages.items():
        assert client.get(path).status_code == 200, path
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        out[name] = statistics.median(times)
print(json.dumps(out))
"""


def _env(checkout: Path, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(checkout / "src"),
        "PAPERTIDE_DATA_DIR": str(data),
        "PAPERTIDE_SEMANTIC_SEARCH": "false",
        "PAPERTIDE_PAGE_CACHE_SECONDS": "0",
        "PAPERTIDE_JOBS_IN_WEB": "off",
    }


def _load(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "papertide", "ingest", "daily", str(SHARED / "hf-daily")]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 3):
        raise SystemExit(result.stderr[-2000:])


def _time(env: dict[str, str], requests: int) -> dict[str, float]:
    command = [sys.executable, "-c", TIMER, json.dumps(PAGES), str(requests)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        envs = {}
        for label, checkout in (("old", args.old), ("new", args.new)):
            envs[label] = _env(checkout.resolve(), Path(folder) / label)
            _load(envs[label])
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for label in ("old", "new"):
                runs[label].append(_time(envs[label], args.requests))
    print(f"| page (p50 ms, median of {args.rounds} rounds of {args.requests}) | old | new | new / old |")
    print("|---|---:|---:|---:|")
    for name in PAGES:
        old = statistics.median(run[name] for run in runs["old"])
        new = statistics.median(run[name] for run in runs["new"])
        print(f"| {name} | {old:.1f} | {new:.1f} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
