"""Cut the demo's offline sample from the shared data: run once by a developer, never by papertide.

``papertide demo`` serves this sample when hf.co and arXiv cannot be reached, so a newcomer on an offline machine
still sees a working site. It is about a month of complete Daily Papers days (every kept paper has its authors,
abstract and hf.co's upvote count) plus those papers' arXiv metadata records, written into the package
(``src/papertide/demo/``) with the source of every record::

    python scripts/cut_demo_sample.py ../shared/data

Sources and licence are in ``src/papertide/demo/README.md``: arXiv's metadata is CC0 1.0, upvote counts and dates
are facts. The output is deterministic: the same shared data gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
from datetime import date, timedelta
from pathlib import Path

FIRST_DAY = date(2025, 3, 17)
LAST_DAY = date(2025, 4, 16)
OUT = Path(__file__).resolve().parents[1] / "src" / "papertide" / "demo"


def complete(item: dict) -> bool:
    """A Daily Papers item a reader can use: authors, an abstract and hf.co's count."""
    paper = item.get("paper") or {}
    return bool(paper.get("authors")) and bool(paper.get("summary")) and isinstance(paper.get("upvotes"), int)


def featured_items(shared: Path) -> list[dict]:
    """Each day's complete items, with the day as the item's ``publishedAt`` (one file holds every day)."""
    items = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        path = shared / "hf-daily" / f"{day}.json"
        if path.exists():
            for item in json.loads(path.read_text(encoding="utf-8")):
                if complete(item):
                    items.append({**item, "publishedAt": f"{day}T00:00:00.000Z"})
        day += timedelta(days=1)
    return items


def snapshot_lines(shared: Path, ids: set[str]) -> list[str]:
    with gzip.open(shared / "arxiv-snapshot.jsonl.gz", "rt", encoding="utf-8") as lines:
        kept = {record["id"]: line for line in lines if (record := json.loads(line))["id"] in ids}
    return [kept[arxiv_id] for arxiv_id in sorted(kept)]


def record_sources(shared: Path, ids: set[str]) -> list[str]:
    """``arxiv_id<TAB>source`` for every record: the shared data asks that a subset keep them."""
    rows = []
    with gzip.open(shared / "papers.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["arxiv_id"] in ids:
                rows.append(f"{record['arxiv_id']}\t{' '.join(record['sources'])}")
    return sorted(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shared_data", type=Path, help="the shared data folder (../shared/data)")
    shared = parser.parse_args().shared_data
    items = featured_items(shared)
    ids = {item["paper"]["id"] for item in items}
    snapshot = snapshot_lines(shared, ids)
    (OUT / "daily-papers.json").write_text(json.dumps(items, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    with gzip.GzipFile(OUT / "arxiv-snapshot.jsonl.gz", "wb", mtime=0) as out:
        out.write("".join(snapshot).encode())
    (OUT / "SOURCES.tsv").write_text("arxiv_id\tsources\n" + "\n".join(record_sources(shared, ids)) + "\n")
    days = len({item["publishedAt"][:10] for item in items})
    print(f"{len(items)} featured papers on {days} days, {len(snapshot)} arXiv records, written to {OUT}")


if __name__ == "__main__":
    main()
