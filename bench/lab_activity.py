"""What the lab read, at a lab's scale (issue 32): an organization of 50 members with a year of activity.

Builds a database of N real papers (the shared arXiv snapshot's first lines) and 50 members who, every day of a
year, upvote papers (3 a day on average), add them to collections (one in two days, to the lab's members-only
collections and their own public and private ones), comment (one in three days) and submit (one a week among
them), every member sharing but five. Then times, each R times (p50, p99):

- the activity page, ``GET /orgs/lab/activity`` (the last seven days) through the app in process (HTML);
- its builder alone, ``organization_activity``, for the last seven days and for the last month;
- the digest's section builder ``lab_digest_picks`` for a weekly digest of a member;
- the baseline beside them: one SQL statement (UNION ALL of the four sources, the sharing members, GROUP BY paper,
  ordered by members then events, LIMIT 100) that counts but neither names who did what nor loads the papers.

    .venv/bin/python bench/lab_activity.py                 # 5,000 papers, 50 repetitions
    .venv/bin/python bench/lab_activity.py --papers 20000 --repeat 100
    .venv/bin/python bench/lab_activity.py --backend postgresql     # a throwaway cluster, as the tests start
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import bindparam, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.ingest import database as scratch_database  # noqa: E402
from tests.helpers.data import snapshot_subset  # noqa: E402
from tests.helpers.postgres import PostgresCluster  # noqa: E402

from papertide.app import create_app  # noqa: E402
from papertide.config import Settings  # noqa: E402
from papertide.db import Database, connect, upgrade  # noqa: E402
from papertide.models import (  # noqa: E402
    CollectionItem,
    Comment,
    FeaturedPaper,
    OrganizationMember,
    Paper,
    Subscription,
    UtcDateTime,
    Vote,
)
from papertide.periods import parse_period  # noqa: E402
from papertide.services.accounts import add_member, create_organization, create_user  # noqa: E402
from papertide.services.activity import lab_digest_picks, organization_activity  # noqa: E402
from papertide.services.collections import create_collection, create_organization_collection  # noqa: E402
from papertide.services.ingest import ingest_snapshot  # noqa: E402

MEMBERS = 50
NOT_SHARING = 5
DAYS = 365
PASSWORD = "correct horse battery"

BASELINE_SQL = """
WITH events(paper_id, user_id) AS (
    SELECT paper_id, user_id FROM votes WHERE created_at >= :start AND created_at < :end
    UNION ALL SELECT paper_id, user_id FROM comments
        WHERE created_at >= :start AND created_at < :end AND hidden = false AND deleted = false
    UNION ALL SELECT paper_id, submitted_by_id FROM featured_papers WHERE created_at >= :start AND created_at < :end
    UNION ALL SELECT ci.paper_id, ci.added_by_id FROM collection_items ci JOIN collections c ON c.id = ci.collection_id
        WHERE ci.added_at >= :start AND ci.added_at < :end
          AND (c.visibility = 'public' OR (c.visibility = 'organization' AND c.organization_id = :org))
)
SELECT paper_id, COUNT(DISTINCT user_id) AS members, COUNT(*) AS events FROM events
WHERE user_id IN (SELECT user_id FROM organization_members WHERE organization_id = :org AND shares_activity = true)
GROUP BY paper_id ORDER BY members DESC, events DESC LIMIT 100
"""
BASELINE = text(BASELINE_SQL).bindparams(bindparam("start", type_=UtcDateTime), bindparam("end", type_=UtcDateTime))


def build(url: str, folder: Path, papers: int, seed: int) -> tuple[Database, Settings, int, list[int]]:
    settings = Settings(
        database_url=url,
        data_dir=folder / "data",
        page_cache_seconds=0.0,
        jobs_interval_seconds=0.0,
        semantic_search=False,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
        password_hash_parallelism=1,
    )  # type: ignore[call-arg]
    database = connect(settings)
    upgrade(database)
    ingest_snapshot(database, snapshot_subset(SHARED, folder / "subset.jsonl", papers))
    rng = random.Random(seed)
    with database.write_session() as session:
        org_id = create_organization(session, "lab", "The Lab").id
        members = [create_user(session, username=f"member{n:02d}", password=PASSWORD).id for n in range(MEMBERS)]
        for n in range(MEMBERS):
            add_member(session, "lab", f"member{n:02d}", "admin" if n == 0 else "member")
        session.execute(
            update(OrganizationMember)
            .where(OrganizationMember.user_id.in_(members[-NOT_SHARING:]))
            .values(shares_activity=False)
        )
        shared = [
            create_organization_collection(
                session,
                organization_id=org_id,
                member_id=members[0],
                title=title,
                description=None,
                visibility="organization",
            ).id
            for title in ("RL reading", "Diffusion", "Theory club")
        ]
        own = {
            user: [
                create_collection(session, owner_id=user, title=t, is_public=p).id
                for t, p in (("Mine", True), ("Secret", False))
            ]
            for user in members
        }
        paper_ids = list(session.execute(select(Paper.id)).scalars())
    _activity(database, rng, members, paper_ids, shared, own)
    return database, settings, org_id, members


def _activity(
    database: Database,
    rng: random.Random,
    members: list[int],
    paper_ids: list[int],
    shared: list[int],
    own: dict[int, list[int]],
) -> None:
    """A year of activity up to now, written in bulk."""
    now = datetime.now(UTC)
    moment = lambda day: now - timedelta(days=day, seconds=rng.randint(0, 86_399))  # noqa: E731
    votes: dict[tuple[int, int], datetime] = {}
    items: dict[tuple[int, int], dict[str, object]] = {}
    comments, featured = [], {}
    for day in range(DAYS):
        for user in members:
            for _ in range(rng.choice((1, 2, 3, 4, 5))):
                votes.setdefault((user, rng.choice(paper_ids)), moment(day))
            if rng.random() < 0.5:
                collection = rng.choice(shared + own[user])
                paper = rng.choice(paper_ids)
                items.setdefault(
                    (collection, paper),
                    {
                        "collection_id": collection,
                        "paper_id": paper,
                        "position": 0,
                        "added_at": moment(day),
                        "added_by_id": user,
                    },
                )
            if rng.random() < 1 / 3:
                comments.append(
                    {
                        "paper_id": rng.choice(paper_ids),
                        "user_id": user,
                        "body": "Worth reading",
                        "body_html": "<p>Worth reading</p>",
                        "hidden": False,
                        "deleted": False,
                        "created_at": moment(day),
                    }
                )
        if day % 7 == 0:
            paper = rng.choice(paper_ids)
            when = moment(day)
            featured.setdefault(
                paper,
                {
                    "paper_id": paper,
                    "featured_on": when.date(),
                    "submitted_by_id": rng.choice(members),
                    "created_at": when,
                },
            )
    with database.write_session() as session:
        session.execute(insert(Vote), [{"user_id": u, "paper_id": p, "created_at": at} for (u, p), at in votes.items()])
        session.execute(insert(CollectionItem), list(items.values()))
        session.execute(insert(Comment), comments)
        taken = set(session.execute(select(FeaturedPaper.paper_id)).scalars())
        session.execute(insert(FeaturedPaper), [row for paper, row in featured.items() if paper not in taken])
    print(
        f"activity: {len(votes):,} upvotes, {len(items):,} collection additions, {len(comments):,} comments, "
        f"{len(featured):,} submissions over {DAYS} days by {MEMBERS} members"
    )


def measure(label: str, work: Callable[[], object], repeat: int) -> None:
    work()  # warm: the first call compiles statements and fills caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(f"| {label} | {statistics.median(times):.1f} | {p99:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    arguments = parser.parse_args()
    cluster = PostgresCluster.start() if arguments.backend == "postgresql" else None
    try:
        with (
            tempfile.TemporaryDirectory() as directory,
            scratch_database(arguments.backend, Path(directory), cluster, "lab_bench") as url,
        ):
            database, settings, org_id, members = build(url, Path(directory), arguments.papers, arguments.seed)
            run(database, settings, org_id, members, arguments.repeat)
            database.dispose()
    finally:
        if cluster is not None:
            cluster.stop()


def run(database: Database, settings: Settings, org_id: int, members: list[int], repeat: int) -> None:
    now = datetime.now(UTC)
    week, month = (now - timedelta(days=7), now), (now - timedelta(days=30), now)
    last_week = (date.today() - timedelta(days=7)).isocalendar()
    period = parse_period("week", f"{last_week.year}-W{last_week.week:02d}")  # a weekly digest's: last week
    reader = Subscription(user_id=members[1], cadence="weekly")
    print("| what (50 members, a year of activity) | p50 ms | p99 ms |")
    print("|---|---|---|")
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        client.post("/login", data={"username": "member01", "password": PASSWORD, "csrf_token": _csrf(client)})
        assert client.get("/orgs/lab/activity").status_code == 200
        measure("`GET /orgs/lab/activity` (HTML, 7 days)", lambda: client.get("/orgs/lab/activity"), repeat)
    with database.read_session() as session:
        measure("`organization_activity`, 7 days", lambda: organization_activity(session, org_id, *week), repeat)
        measure("`organization_activity`, 30 days", lambda: organization_activity(session, org_id, *month), repeat)
        measure("`lab_digest_picks`, weekly digest", lambda: lab_digest_picks(session, period, reader, 10), repeat)
        for label, (start, end) in (("7 days", week), ("30 days", month)):
            bounds = {"start": start, "end": end, "org": org_id}
            measure(
                f"baseline: one GROUP BY statement, counts only, {label}",
                lambda bounds=bounds: session.execute(BASELINE, bounds).all(),
                repeat,
            )


def _csrf(client: TestClient) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found
    return found.group(1)


if __name__ == "__main__":
    main()
