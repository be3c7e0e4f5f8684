"""Plain value objects that sources produce and services consume.

Every source under ``sources/`` turns what it read (Atom, OAI-PMH XML, snapshot lines, Daily Papers JSON) into
these records; ``services/papers.py`` is the only code that turns them into rows. Keeping them free of
SQLAlchemy lets sources be tested without a database and lets every source share one upsert path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    name: str
    affiliations: tuple[str, ...] = ()
    hf_user: str | None = None  # the author's hf.co user name, when hf.co links the author to an account


@dataclass(frozen=True, slots=True)
class VersionRecord:
    version: int
    created: datetime


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """What one source knows about one paper.

    ``None`` (or an empty tuple) means "this source does not know", never "erase it": the upsert keeps what
    other sources said. ``version`` is the newest version the source saw; ``None`` when the source does not
    say (Daily Papers lists), in which case the record only fills gaps.
    """

    arxiv_id: str
    title: str | None = None
    abstract: str | None = None
    version: int | None = None
    authors: tuple[AuthorRecord, ...] = ()
    categories: tuple[str, ...] = ()
    versions: tuple[VersionRecord, ...] = ()
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    announced_on: date | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    report_no: str | None = None
    license: str | None = None
    code_url: str | None = None
    project_url: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A user or organization named by an imported Daily Papers item."""

    name: str
    fullname: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class FeaturedRecord:
    """One Daily Papers item: a paper featured on a day, with hf.co's figures for it (``None``: not in the item).

    ``upvotes`` and ``num_comments`` are hf.co's counts; they land in ``Paper.hf_upvotes``/``hf_comments``, never
    in this instance's own vote and comment counts. ``ai_summary``/``ai_keywords`` are hf.co's machine summary.
    """

    paper: PaperRecord
    featured_on: date
    upvotes: int | None = None
    num_comments: int | None = None
    submitter: AccountRecord | None = None
    organization: AccountRecord | None = None
    github_stars: int | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """An input unit (a snapshot line, an XML record) that could not be read, and why."""

    line_no: int
    reason: str


@dataclass(slots=True)
class IngestCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[RejectedLine] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.rejections.extend(other.rejections)

    @property
    def changed(self) -> int:
        return self.added + self.updated

    def summary(self) -> str:
        return f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected"


def content_hash(payload: dict[str, object]) -> str:
    """A stable digest of a paper's stored metadata, used to tell 'unchanged' from 'updated'.

    One JSON encoding with sorted keys (PostgreSQL's JSONB reorders keys, so order must not matter); measured the
    cheapest canonical form, and it runs once per record on every bulk ingest.
    """
    encoded = json.dumps(payload, sort_keys=True, default=_iso)
    return hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest()


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")
