"""What the model jobs add to a process's memory (issue 31's `serve` ≤ 400 MB, where the embedded mode runs the
worker in the web process): resident memory after loading the bundled encoder, after embedding batches of
abstracts (the `embed` job's work), after the gists of further batches (the `insights` job's model half), and
after yake's keyphrases (its other half) over 3,000 abstracts.

    .venv/bin/python bench/job_memory.py [--batch 64] [--batches 5]

Abstracts are the first ones of the shared arXiv snapshot. Prints VmRSS and VmHWM (MB) after each step.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT.parent / "shared" / "data" / "arxiv-snapshot.jsonl.gz"
sys.path.insert(0, str(ROOT))

from papertide.search.embedder import load_embedder, paper_text  # noqa: E402
from papertide.services.keyphrases import gists, keyphrases  # noqa: E402


def memory() -> str:
    status = Path("/proc/self/status").read_text()
    rss, peak = (int(re.search(rf"{key}:\s+(\d+)", status).group(1)) // 1024 for key in ("VmRSS", "VmHWM"))  # type: ignore[union-attr]
    return f"RSS {rss} MB, peak {peak} MB"


def abstracts(count: int) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with gzip.open(SNAPSHOT, "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("abstract"):
                found.append((record["title"], record["abstract"]))
            if len(found) == count:
                break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    papers = abstracts(3000)
    print(f"imports: {memory()}")
    embedder = load_embedder()
    embedder.encode(["warm up"])
    print(f"encoder loaded: {memory()}")
    for n in range(args.batches):
        batch = papers[n * args.batch : (n + 1) * args.batch]
        embedder.encode([paper_text(title, abstract) for title, abstract in batch])
    print(f"embedded {args.batches} batches of {args.batch} abstracts: {memory()}")
    for n in range(args.batches):
        gists(embedder, [abstract for _, abstract in papers[n * args.batch : (n + 1) * args.batch]])
    print(f"gists of {args.batches} batches: {memory()}")
    for title, abstract in papers:
        keyphrases(title, abstract)
    print(f"keyphrases of {len(papers)} abstracts: {memory()}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
