"""The self-filling instance's running cost (issue 16): the Daily Papers mirror's backfill of the 822 recorded days,
and an enrichment pass over 7,000 thin papers, each against a loopback stand-in of its source.

Mirror: ``papertide ingest hf --since 2023-11-20 --until 2026-08-22`` (the real command, in a fresh SQLite
database, spacing off) against a loopback hf.co that serves ``../shared/data/hf-daily/D.json`` as
``/api/daily_papers?date=D`` ("[]" for the days between recorded ones) with an ``ETag`` and ``304`` for a matching
``If-None-Match``; reports days/s and the command's peak RSS, for the backfill and for a rerun (every day 304).

Enrichment: 7,000 real papers of ``../shared/data/papers.jsonl.gz`` stored thin (id and title only), then
``enrich_papers`` against a loopback arXiv API that answers each ``id_list`` request (100 ids) with an Atom feed
of those papers, with arXiv's 3 s spacing turned off; reports papers/s. With the spacing on, the API's own limit
(100 papers per 3 s request, ~33 papers/s at best) is what a real instance sees.

    .venv/bin/python bench/sources.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from bench._process import high_water_kb  # noqa: E402

from papertide.config import Settings  # noqa: E402
from papertide.db import connect, upgrade  # noqa: E402
from papertide.records import PaperRecord  # noqa: E402
from papertide.services.enrichment import enrich_papers  # noqa: E402
from papertide.services.papers import upsert_papers  # noqa: E402
from papertide.sources.arxiv_api import ArxivApiClient  # noqa: E402
from papertide.sources.http import PoliteClient  # noqa: E402

FIRST_DAY, LAST_DAY = "2023-11-20", "2026-08-22"
THIN_PAPERS = 7_000


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _DailyPapers(BaseHTTPRequestHandler):
    """hf.co's /api/daily_papers?date=D over the recorded days, with ETags."""

    def do_GET(self) -> None:
        day = parse_qs(urlsplit(self.path).query).get("date", [""])[0]
        path = SHARED / "hf-daily" / f"{day}.json"
        body = path.read_bytes() if path.is_file() else b"[]"
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def bench_mirror(workdir: Path) -> None:
    server, url = _serve(_DailyPapers)
    days = (date.fromisoformat(LAST_DAY) - date.fromisoformat(FIRST_DAY)).days + 1
    env = {
        **os.environ,
        "PAPERTIDE_DATABASE_URL": f"sqlite:///{workdir / 'mirror.db'}",
        "PAPERTIDE_DATA_DIR": str(workdir),
        "PAPERTIDE_HF_URL": url,
        "PAPERTIDE_HF_MIN_INTERVAL": "0",
        "PAPERTIDE_KEYWORD_ENGINE": "database",  # the mirror's cost, not a first tantivy build
    }
    subprocess.run([sys.executable, "-m", "papertide", "db", "upgrade"], env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "papertide", "ingest", "hf", "--since", FIRST_DAY, "--until", LAST_DAY]
    for run in ("backfill", "rerun (304s)"):
        seconds, peak_mb, summary = _measured(command, env, workdir / "mirror.log")
        print(
            f"mirror {run}: {days} days ({FIRST_DAY}..{LAST_DAY}, 822 recorded) in {seconds:.1f} s = "
            f"{days / seconds:.1f} days/s, peak RSS {peak_mb} MB; {summary}"
        )
    server.shutdown()


def _measured(command: list[str], env: dict[str, str], log: Path) -> tuple[float, int, str]:
    """Seconds, peak RSS (MB) and the end of stderr of a command; exit 3 (nothing changed) is a success here."""
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=output)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, high_water_kb(process.pid))
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stderr = log.read_text()
    if process.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command[2:])} failed:\n{stderr}")
    return elapsed, peak_kb // 1024, f"exit {process.returncode}: " + " ".join(stderr.split()[-12:])


def _master_papers(count: int) -> dict[str, dict[str, object]]:
    """``count`` real papers with an abstract, authors and categories, by new-style id."""
    chosen: dict[str, dict[str, object]] = {}
    with gzip.open(SHARED / "papers.jsonl.gz", "rt") as lines:
        for line in lines:
            paper = json.loads(line)
            if (
                paper.get("abstract")
                and paper.get("authors")
                and paper.get("categories")
                and "/" not in paper["arxiv_id"]
            ):
                chosen[paper["arxiv_id"]] = paper
                if len(chosen) == count:
                    break
    return chosen


def _entry(paper: dict[str, object]) -> str:
    authors = "".join(f"<author><name>{escape(str(name))}</name></author>" for name in paper["authors"])  # type: ignore[attr-defined]
    categories = "".join(f'<category term="{escape(str(c))}"/>' for c in paper["categories"])  # type: ignore[attr-defined]
    published = f"{paper.get('published') or '2025-01-01'}T00:00:00Z"
    return (
        f"<entry><id>http://arxiv.org/abs/{paper['arxiv_id']}v1</id><published>{published}</published>"
        f"<updated>{published}</updated><title>{escape(str(paper['title']))}</title>"
        f"<summary>{escape(str(paper['abstract']))}</summary>{authors}"
        f'<arxiv:primary_category term="{escape(str(paper["categories"][0]))}"/>{categories}</entry>'  # type: ignore[index]
    )


def _arxiv_handler(papers: dict[str, dict[str, object]]) -> type[BaseHTTPRequestHandler]:
    class ArxivApi(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ids = parse_qs(urlsplit(self.path).query).get("id_list", [""])[0].split(",")
            entries = "".join(_entry(papers[i]) for i in ids if i in papers)
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">'
                f"<opensearch:totalResults>{len(ids)}</opensearch:totalResults>{entries}</feed>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ArxivApi


def bench_enrichment(workdir: Path) -> None:
    papers = _master_papers(THIN_PAPERS)
    settings = Settings(database_url=f"sqlite:///{workdir / 'enrich.db'}", data_dir=workdir)
    database = connect(settings)
    upgrade(database)
    with database.write_session() as session:
        upsert_papers(session, [PaperRecord(arxiv_id=i, title=str(p["title"])) for i, p in papers.items()])
    server, url = _serve(_arxiv_handler(papers))
    with PoliteClient(f"{url}/api/query", min_interval=0.0) as http:
        started = time.perf_counter()
        report = enrich_papers(database, ArxivApiClient(http), limit=THIN_PAPERS)
        seconds = time.perf_counter() - started
    server.shutdown()
    print(
        f"enrichment: {report.asked} thin papers in {seconds:.1f} s = {report.asked / seconds:.0f} papers/s "
        f"({report.summary()}; {report.left} left)"
    )
    database.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="papertide-sources-") as directory:
        bench_mirror(Path(directory))
        bench_enrichment(Path(directory))


if __name__ == "__main__":
    main()
