"""Factories with random defaults and keyword overrides, for records and rows the tests need."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

from papertide.records import AccountRecord, AuthorRecord, FeaturedRecord, PaperRecord, VersionRecord

_rng = random.Random()


_issued: set[str] = set()


def random_arxiv_id() -> str:
    """An id no earlier call in this process returned: 300 random draws from 1.2M ids collide 4 % of the time,
    which made a test that upserts 300 papers and counts them fail now and then."""
    while True:
        arxiv_id = f"25{_rng.randint(1, 12):02d}.{_rng.randint(0, 99999):05d}"
        if arxiv_id not in _issued:
            _issued.add(arxiv_id)
            return arxiv_id


def _words(count: int) -> str:
    return " ".join("".join(_rng.choices(string.ascii_lowercase, k=_rng.randint(3, 9))) for _ in range(count))


def make_paper_record(**overrides: Any) -> PaperRecord:
    submitted = datetime(2025, 3, 18, 15, 0, tzinfo=UTC) + timedelta(days=_rng.randint(0, 400))
    values: dict[str, Any] = {
        "arxiv_id": random_arxiv_id(),
        "title": _words(8).capitalize(),
        "abstract": _words(60),
        "version": 1,
        "authors": (AuthorRecord(_words(2).title()), AuthorRecord(_words(2).title(), ("Some University",))),
        "categories": ("cs.LG", "cs.AI"),
        "versions": (VersionRecord(1, submitted),),
        "submitted_at": submitted,
        "updated_at": submitted,
        "announced_on": submitted.date() + timedelta(days=1),
    }
    values.update(overrides)
    return PaperRecord(**values)


def make_featured_record(**overrides: Any) -> FeaturedRecord:
    values: dict[str, Any] = {
        "paper": make_paper_record(version=None),
        "featured_on": date(2026, 7, 9),
        "upvotes": _rng.randint(0, 50),
        "num_comments": _rng.randint(0, 5),
        "submitter": AccountRecord(name="user_" + _words(1)),
        "organization": None,
    }
    values.update(overrides)
    return FeaturedRecord(**values)
