"""The shared real data (``../shared/data``, described in its README) as tests use it: the folder, the recorded
hf.co responses, the first lines of the arXiv snapshot, and a real Daily Papers file featured in a database."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from papertide.db import Database
from papertide.services.papers import feature_papers
from papertide.sources.hf_daily import date_from_name, parse_daily

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HF_FIXTURES = SHARED_DATA / "fixtures" / "hf"
# The snapshot lines conftest's ``embedded_corpus`` ingests and embeds with the real model.
EMBEDDED_LINES = 250


def snapshot_subset(shared_data: Path, target: Path, lines: int) -> Path:
    """The first ``lines`` lines of the shared arXiv snapshot, written to ``target``."""
    with gzip.open(shared_data / "arxiv-snapshot.jsonl.gz", "rt") as source, target.open("w") as out:
        for _, line in zip(range(lines), source, strict=False):
            out.write(line)
    return target


def load_daily(db: Database, path: Path) -> list[dict[str, object]]:
    """Feature the papers of one real Daily Papers file; returns its raw items."""
    items = json.loads(path.read_text())
    featured, rejected = parse_daily(items, date_from_name(path))
    assert not rejected
    with db.write_session() as session:
        feature_papers(session, featured)
    return list(items)
