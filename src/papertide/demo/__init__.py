"""The demo's offline sample, shipped as package data: about a month of complete hf.co Daily Papers days
(2025-03-17 to 2025-04-16, every paper with its authors, abstract and hf.co's upvotes) and those papers' arXiv
metadata records. ``papertide demo`` serves it when hf.co and arXiv cannot be reached. ``scripts/cut_demo_sample.py``
cut it from the project's shared data; README.md here names the sources and the licence.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent
SAMPLE_SNAPSHOT = SAMPLE_DIR / "arxiv-snapshot.jsonl.gz"
SAMPLE_DAILY = SAMPLE_DIR / "daily-papers.json"
SAMPLE_DAYS = "2025-03-17 to 2025-04-16"
