"""Digest composition and delivery at scale (issue: digests): N subscribers with mixed preferences over the shared
corpus, sent by ``papertide digest send`` to a local SMTP sink (aiosmtpd in its own process); total time,
messages/s and the sender's peak RSS, for two subscriber counts to show memory does not grow with them.

Corpus: the shared snapshot (75,639 papers) and the 822 real Daily Papers days, in a SQLite database. The digest
is the daily one for the busiest featured day. Preferences (seed 0): 50 % top papers only, 30 % one to three of
the 20 commonest categories (plus top papers half the time), 10 % an organization (the shared days name none, so
an author instead), 10 % an author. Personal picks
are left out (they need every paper embedded; their cost is one vector search per account).

    .venv/bin/python bench/digest.py                  # 2,000 and 10,000 subscribers
    .venv/bin/python bench/digest.py --subscribers 10000
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.ingest import run_measured  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect, upgrade  # noqa: E402
from papertide.models import FeaturedPaper, Organization, Paper, PaperCategory, Subscription  # noqa: E402
from papertide.services.ingest import ingest_daily, ingest_snapshot  # noqa: E402

SINK = textwrap.dedent(
    """
    import sys, time
    from aiosmtpd.controller import Controller
    class Count:
        received = 0
        async def handle_DATA(self, server, session, envelope):
            Count.received += 1
            return "250 OK"
    controller = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    for line in sys.stdin:
        print(Count.received, flush=True)
    """
)


def build_corpus(folder: Path) -> tuple[Database, str]:
    settings = Settings(data_dir=folder, jobs_interval_seconds=0)
    db = connect(settings)
    upgrade(db)
    with db.read_session() as session:
        empty = session.scalar(select(func.count()).select_from(Paper)) == 0
    if empty:
        ingest_snapshot(db, SHARED / "arxiv-snapshot.jsonl.gz")
        for day in sorted((SHARED / "hf-daily").glob("*.json")):
            ingest_daily(db, day)
    return db, settings.resolved_database_url


def add_subscribers(db: Database, count: int) -> str:
    """Replace the subscriptions with ``count`` active ones; returns the --today that digests the busiest day."""
    rng = random.Random(0)
    with db.read_session() as session:
        busiest = session.execute(
            select(FeaturedPaper.featured_on, func.count())
            .group_by(FeaturedPaper.featured_on)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        categories = list(
            session.execute(
                select(PaperCategory.category).group_by(PaperCategory.category).order_by(func.count().desc()).limit(20)
            ).scalars()
        )
        organizations = list(session.execute(select(Organization.name).limit(200)).scalars())
        authors = [
            name.split(",")[0]
            for name in session.execute(
                select(Paper.author_names).where(Paper.announced_on == busiest[0]).limit(300)
            ).scalars()
            if name
        ]
    rows = []
    for number in range(count):
        roll = rng.random()
        if roll < 0.5:
            preferences = {"trending": True}
        elif roll < 0.8:
            preferences = {"trending": rng.random() < 0.5, "categories": rng.sample(categories, rng.randint(1, 3))}
        elif roll < 0.9 and organizations:  # the shared Daily Papers days name no organizations: authors instead
            preferences = {"trending": False, "organizations": [rng.choice(organizations)]}
        else:
            preferences = {"trending": False, "authors": [rng.choice(authors)]}
        rows.append(
            {"email": f"reader{number}@example.org", "status": "active", "cadence": "daily", "preferences": preferences}
        )
    with db.write_session() as session:
        session.execute(Subscription.__table__.delete())
        session.execute(insert(Subscription), rows)
    today = busiest[0] + timedelta(days=1)
    while today.weekday() >= 5:
        today += timedelta(days=1)
    return today.isoformat()


def run(db_url: str, folder: Path, today: str) -> tuple[float, int, int, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None and sink.stdin is not None
    sink.stdout.readline()
    env = {
        **os.environ,
        "PAPERTIDE_DATABASE_URL": db_url,
        "PAPERTIDE_DATA_DIR": str(folder),
        "PAPERTIDE_SMTP_HOST": "127.0.0.1",
        "PAPERTIDE_SMTP_PORT": str(port),
        "PAPERTIDE_SMTP_SECURITY": "none",
        "PAPERTIDE_SEMANTIC_SEARCH": "false",
        "COLUMNS": "300",  # one line for the summary the table quotes
    }
    command = [sys.executable, "-m", "papertide", "digest", "send", "--today", today]
    elapsed, peak_mb, summary = run_measured(command, env, folder / "digest.log")
    sink.stdin.write("count\n")
    sink.stdin.flush()
    received = int(sink.stdout.readline())
    sink.terminate()
    return elapsed, received, peak_mb, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[2_000, 10_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="papertide-digest-") as tmp:
        folder = Path(tmp)
        print("loading the shared corpus…", file=sys.stderr)
        db, url = build_corpus(folder)
        rows = []
        for count in args.subscribers:
            today = add_subscribers(db, count)
            elapsed, received, peak_mb, summary = run(url, folder, today)
            rows.append(
                f"| {count:,} | {elapsed:.1f} | {received / elapsed:.0f} | {received:,} | {peak_mb} | {summary} |"
            )
            print(rows[-1], file=sys.stderr)
    print("| subscribers | time (s) | messages/s | received | peak RSS (MB) | report |\n|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
