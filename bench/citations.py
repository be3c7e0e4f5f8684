"""Citation export and library import speed (issue 20, items 1 and 3), on real papers in a SQLite database.

Loads the first N papers of the shared arXiv snapshot, then times: writing all of them as BibTeX (bibtexparser 2),
RIS (rispy) and CSL-JSON; reading that BibTeX back as an import file; and a whole import of it (matching every
entry by arXiv id, one transaction adding them to a new collection; nothing fetched, as all are known). A second
import of the same papers as a title-only BibTeX measures the slowest match path (one LIKE per title).

    .venv/bin/python bench/citations.py               # 1,000 papers
    .venv/bin/python bench/citations.py --papers 2000
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.helpers.data import snapshot_subset  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import connect, upgrade  # noqa: E402
from papertide.models import Paper  # noqa: E402
from papertide.services.accounts import create_user  # noqa: E402
from papertide.services.citations import query_citables, to_bibtex, to_csl_json, to_ris  # noqa: E402
from papertide.services.ingest import ingest_snapshot  # noqa: E402
from papertide.services.library_files import read_library  # noqa: E402
from papertide.services.library_import import import_library  # noqa: E402


def timed(label: str, work: object) -> object:
    start = time.perf_counter()
    result = work()  # type: ignore[operator]
    print(f"{label:<44} {1000 * (time.perf_counter() - start):8.0f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    papers = parser.parse_args().papers
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        settings = Settings(database_url=f"sqlite:///{folder / 'bench.db'}", data_dir=folder / "data")
        database = connect(settings)
        upgrade(database)
        ingest_snapshot(database, snapshot_subset(SHARED, folder / "subset.jsonl", papers))
        with database.write_session() as session:
            owner = create_user(session, username="bench", password="correct horse battery").id
        with database.read_session() as session:
            ids = list(session.execute(select(Paper.id).order_by(Paper.id)).scalars())
            citables = timed(f"read {len(ids)} citables", lambda: query_citables(session, ids))
        assert isinstance(citables, list)
        bibtex = timed("write BibTeX", lambda: to_bibtex(citables))
        timed("write RIS", lambda: to_ris(citables))
        timed("write CSL-JSON", lambda: to_csl_json(citables))
        assert isinstance(bibtex, str)
        data = bibtex.encode()
        print(f"BibTeX file: {len(data):,} bytes")
        timed("read the BibTeX back (import parsing)", lambda: read_library(data, "all.bib"))
        report = timed(
            "import by arXiv id (match + one transaction)",
            lambda: import_library(database, settings, owner_id=owner, data=data, filename="all.bib"),
        )
        print(f"  added {report.added} of {len(report.lines)}")  # type: ignore[attr-defined]
        titles_only = re.sub(r"\n  (eprint|archivePrefix|url|doi|journal) = \{[^\n]*\},", "", bibtex)
        some = "\n@".join(titles_only.split("\n@")[:300]).encode()
        report = timed(
            "import 300 by title only (one LIKE each)",
            lambda: import_library(database, settings, owner_id=owner, data=some, filename="titles.bib"),
        )
        print(f"  added {report.added} of {len(report.lines)}")  # type: ignore[attr-defined]
        database.dispose()


if __name__ == "__main__":
    main()
