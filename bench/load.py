"""Load: the scaled layout on loopback (PostgreSQL + `papertide serve --workers 2` + `papertide worker`) under 64
concurrent clients for 60 s, mixing daily pages, paper pages, search, upvotes and API calls (issue 7).

Reports requests, errors and p50/p99 per endpoint, throughput, the web processes' peak RSS, and checks afterwards
that no upvote was lost or doubled: each client votes as its own user on a small set of hot papers (PUT/DELETE
through /api/v1, so concurrent votes hit the same papers' counters), remembers what it last did, and the database
must hold exactly those votes and counters moved by exactly their number.

Data: the shared snapshot (75,639 papers, searchable), the last 90 Daily Papers days (featured, upvoted), synthetic
stand-in vectors so searches run the hybrid path (query vectors are real). The client runs on the same 2 cores.

    .venv/bin/python bench/load.py                      # 64 clients, 60 s
    .venv/bin/python bench/load.py --clients 16 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import SHARED_SNAPSHOT, database  # noqa: E402
from bench.search_speed import mixed_queries, store_vectors  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402
from tests.helpers.servers import free_port  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect  # noqa: E402
from papertide.models import FeaturedPaper, Paper, User, Vote  # noqa: E402
from papertide.search.semantic import model_name  # noqa: E402
from papertide.search.tantivy_keyword.sync import sync_keyword_index  # noqa: E402
from papertide.services.accounts import create_user  # noqa: E402
from papertide.services.tokens import create_api_token  # noqa: E402

DAILY_DIR = ROOT.parent / "shared" / "data" / "hf-daily"
HOT_PAPERS = 30
MIX = (("daily", 25), ("paper", 20), ("search", 20), ("vote", 20), ("api", 15))


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{result.stderr[-2000:]}")


def prepare(env: dict[str, str], workdir: Path, days: int, papers: int) -> None:
    papertide = [sys.executable, "-m", "papertide"]
    run([*papertide, "db", "upgrade"], env)
    recent = workdir / "daily"
    recent.mkdir()
    for path in sorted(DAILY_DIR.glob("*.json"))[-days:]:
        (recent / path.name).symlink_to(path)
    print("ingesting the shared snapshot and the Daily Papers days…", file=sys.stderr)
    snapshot = SHARED_SNAPSHOT
    if papers:  # a smaller corpus, to try the script quickly
        snapshot = workdir / "subset.jsonl"
        with gzip.open(SHARED_SNAPSHOT, "rt") as lines, snapshot.open("w") as out:
            out.writelines(itertools.islice(lines, papers))
    run([*papertide, "ingest", "snapshot", str(snapshot)], env)
    run([*papertide, "ingest", "daily", str(recent)], env)


def make_users(db: Database, count: int) -> list[str]:
    tokens = []
    with db.write_session() as session:
        for n in range(count):
            user = create_user(session, username=f"load{n:03d}", password="correct horse battery staple")
            tokens.append(create_api_token(session, user.id, "load", "write"))
    return tokens


def targets(db: Database) -> tuple[list[str], list[str], list[str], list[str]]:
    with db.read_session() as session:
        featured = session.execute(
            select(Paper.arxiv_id, FeaturedPaper.featured_on)
            .join(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
            .order_by(FeaturedPaper.featured_on.desc(), Paper.upvote_count.desc())
        ).all()
    ids = [arxiv_id for arxiv_id, _ in featured]
    days = sorted({day.isoformat() for _, day in featured})
    return ids, ids[:HOT_PAPERS], days, mixed_queries(db)


class Recorder:
    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, endpoint: str, seconds: float, error: str | None) -> None:
        self.seconds[endpoint].append(seconds)
        if error:
            self.errors[endpoint].append(error)


async def client(
    http: httpx.AsyncClient,
    token: str,
    plan: tuple[list[str], list[str], list[str], list[str]],
    deadline: float,
    recorder: Recorder,
    rng: random.Random,
) -> dict[str, bool]:
    ids, hot, days, queries = plan
    my_votes: dict[str, bool] = {}
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    auth = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline:
        kind = rng.choice(kinds)
        method, url, headers, endpoint = "GET", "", {}, kind
        if kind == "daily":
            url = rng.choice(["/", f"/papers/date/{rng.choice(days)}", "/papers/trending"])
        elif kind == "paper":
            url = f"/papers/{rng.choice(ids)}"
        elif kind == "search":
            url = f"/search?q={rng.choice(queries)}"
        elif kind == "vote":
            paper = rng.choice(hot)
            up = not my_votes.get(paper, False) if rng.random() < 0.8 else my_votes.get(paper, False)
            method, url, headers = ("PUT" if up else "DELETE"), f"/api/v1/papers/{paper}/vote", auth
        else:
            endpoint, url = rng.choice(
                [
                    ("api daily_papers", f"/api/daily_papers?date={rng.choice(days)}"),
                    ("api paper", f"/api/papers/{rng.choice(ids)}"),
                    ("api v1 search", f"/api/v1/search?q={rng.choice(queries)}"),
                ]
            )
        started = time.perf_counter()
        error = None
        try:
            response = await http.request(method, url, headers=headers)
            if response.status_code >= 400:
                error = f"{response.status_code} {method} {url}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__} {method} {url}"
        recorder.add(endpoint, time.perf_counter() - started, error)
        if kind == "vote":
            if error is None:
                my_votes[paper] = method == "PUT"
            else:
                my_votes.pop(paper, None)  # unknown outcome: left out of the check, and counted as an error
    return my_votes


async def drive(
    base: str, tokens: list[str], plan: tuple[list[str], list[str], list[str], list[str]], seconds: float
) -> tuple[Recorder, list[dict[str, bool]]]:
    recorder = Recorder()
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        deadline = time.monotonic() + seconds
        votes = await asyncio.gather(
            *(client(http, token, plan, deadline, recorder, random.Random(n)) for n, token in enumerate(tokens))
        )
    return recorder, list(votes)


def check_votes(db: Database, hot: list[str], before: dict[str, int], votes: list[dict[str, bool]]) -> list[str]:
    """Problems found: a vote the database lost or invented, or a counter that moved by the wrong amount."""
    problems = []
    expected_by_user = {f"load{n:03d}": {p for p, up in mine.items() if up} for n, mine in enumerate(votes)}
    with db.read_session() as session:
        stored = session.execute(
            select(User.username, Paper.arxiv_id)
            .join(Vote, Vote.user_id == User.id)
            .join(Paper, Paper.id == Vote.paper_id)
            .where(User.username.like("load%"))
        ).all()
        counts = dict(session.execute(select(Paper.arxiv_id, Paper.upvote_count).where(Paper.arxiv_id.in_(hot))).all())
    stored_by_user: dict[str, set[str]] = defaultdict(set)
    for username, arxiv_id in stored:
        stored_by_user[username].add(arxiv_id)
    for n, mine in enumerate(votes):
        username = f"load{n:03d}"
        known = set(mine)  # papers whose last outcome this client knows
        found = stored_by_user[username] & known
        if found != expected_by_user[username]:
            problems.append(f"{username}: stored {sorted(found)}, expected {sorted(expected_by_user[username])}")
    ours = defaultdict(int)
    for _, arxiv_id in stored:
        ours[arxiv_id] += 1
    for arxiv_id in hot:
        if counts[arxiv_id] - before[arxiv_id] != ours[arxiv_id]:
            problems.append(f"{arxiv_id}: counter moved {counts[arxiv_id] - before[arxiv_id]}, votes {ours[arxiv_id]}")
    return problems


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the PostgreSQL it started
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--days", type=int, default=90, help="Daily Papers days to load")
    parser.add_argument("--papers", type=int, default=0, help="snapshot records to load (0: all 75,639)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="papertide-load-") as tmp:
        workdir = Path(tmp)
        cluster = PostgresCluster.start()
        try:
            with database("postgresql", workdir, cluster, "bench_load") as url:
                measure(url, workdir, args)
        finally:
            cluster.stop()


def measure(url: str, workdir: Path, args: argparse.Namespace) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAPERTIDE_")},
        "PAPERTIDE_DATABASE_URL": url,
        "PAPERTIDE_DATA_DIR": str(workdir / "data"),
        "PAPERTIDE_PORT": str(port),
        "PAPERTIDE_RATE_LIMIT_VOTES_PER_MINUTE": "1000000",
        # The recommended configuration for a large PostgreSQL instance (docs/deployment.md): PostgreSQL's own
        # full-text ranking costs ~0.5 s of CPU a query at 75k papers and saturates 2 cores under this load.
        "PAPERTIDE_KEYWORD_ENGINE": "tantivy",
    }
    prepare(env, workdir, args.days, args.papers)
    settings = Settings(database_url=url, data_dir=workdir / "data", keyword_engine="tantivy")
    db = connect(settings)
    print("storing stand-in vectors…", file=sys.stderr)
    store_vectors(db, model_name(settings))  # current for the embed job: the worker idles, as in steady state
    sync_keyword_index(db, settings)  # each web host's keyword index, built before it takes traffic
    tokens = make_users(db, args.clients)
    plan = targets(db)
    with db.read_session() as session:
        before = dict(
            session.execute(select(Paper.arxiv_id, Paper.upvote_count).where(Paper.arxiv_id.in_(plan[1]))).all()
        )
    papertide = [sys.executable, "-m", "papertide"]
    web_log, worker_log = (workdir / "web.log").open("w"), (workdir / "worker.log").open("w")
    web = subprocess.Popen([*papertide, "serve", "--workers", "2"], env=env, stdout=web_log, stderr=web_log)
    worker = subprocess.Popen([*papertide, "worker"], env=env, stdout=worker_log, stderr=worker_log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, web)
        for _ in range(2):  # warm every process: the model loads on the first semantic query
            for query in plan[3][:20]:
                httpx.get(f"{base}/search?q={query}", timeout=120)
        peak = PeakRss(web.pid)
        peak.start()
        print(f"{args.clients} clients for {args.seconds:.0f} s…", file=sys.stderr)
        started = time.monotonic()
        recorder, votes = asyncio.run(drive(base, tokens, plan, args.seconds))
        elapsed = time.monotonic() - started
        peak.stop()
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
    problems = check_votes(db, plan[1], before, votes)
    with db.read_session() as session:
        vote_rows = session.scalar(select(func.count()).select_from(Vote))
    db.dispose()
    report(recorder, elapsed, args, peak.peaks, problems, vote_rows or 0)


def wait_ready(base: str, web: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit("serve exited; see its log")
        try:
            if httpx.get(base + "/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("serve did not become ready in 120 s")


class PeakRss:
    """Samples the resident memory of the web processes (serve's children) once a second."""

    def __init__(self, pid: int) -> None:
        self.parent = psutil.Process(pid)
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()

    def start(self) -> None:
        def sample() -> None:
            while not self._stop.wait(1):
                for child in self.parent.children(recursive=True):
                    with contextlib.suppress(psutil.Error):  # a process that just exited
                        self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), child.memory_info().rss)

        threading.Thread(target=sample, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def report(
    recorder: Recorder,
    elapsed: float,
    args: argparse.Namespace,
    peaks: dict[int, int],
    problems: list[str],
    vote_rows: int,
) -> None:
    total = sum(len(v) for v in recorder.seconds.values())
    errors = sum(len(v) for v in recorder.errors.values())
    print(f"\n{args.clients} clients, {elapsed:.0f} s: {total:,} requests ({total / elapsed:.0f}/s), {errors} errors")
    print("| endpoint | requests | errors | p50 (ms) | p99 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for endpoint in sorted(recorder.seconds):
        samples = recorder.seconds[endpoint]
        print(
            f"| {endpoint} | {len(samples):,} | {len(recorder.errors[endpoint])} | "
            f"{statistics.median(samples) * 1000:.0f} | {percentile(samples, 0.99):.0f} |"
        )
    print(f"web processes' peak RSS: {', '.join(f'{rss / 2**20:.0f} MB' for rss in peaks.values())}")
    print(
        f"votes: {vote_rows} rows after the run; "
        + ("every vote and counter checked: none lost or doubled" if not problems else f"{len(problems)} PROBLEMS")
    )
    for problem in problems[:20]:
        print("  " + problem)
    for endpoint, failures in recorder.errors.items():
        for failure in failures[:5]:
            print(f"  error on {endpoint}: {failure}")


if __name__ == "__main__":
    main()
