"""Importing a citation manager's library into a collection: match each entry to a paper (arXiv id, then DOI,
then normalised title), fetch unknown arXiv ids from arXiv, and add what matched to a new or existing collection.

Run by the web upload (``/collections/import``) and ``papertide collection import``. The file is read and checked
whole before anything is written (:mod:`services.library_files`); arXiv is asked outside any transaction (papers it
returns are stored as every ingest stores them); then one transaction creates the collection if asked and adds
every matched paper, so a failure leaves no half-filled collection. The :class:`ImportReport` lists every entry as
matched, fetched or unmatched, with the reason. The collection's papers then count as positives for "for you"
and personal digests (``search/personal.py``), which name the collection in their explanation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Collection, Paper
from papertide.services.collections import CollectionError, add_many_to_collection, create_collection
from papertide.services.ingest import ingest_arxiv_ids
from papertide.services.library_files import LibraryEntry, LibraryFileError, read_library
from papertide.sources.arxiv_api import ArxivApiError
from papertide.sources.factory import arxiv_client
from papertide.sources.http import SourceUnavailable
from papertide.text import latex_plain, without_diacritics

MAX_FETCHED = 200  # unknown arXiv ids fetched per import: 2 API requests, a few seconds at arXiv's pace
MAX_TITLE_LOOKUPS = 300  # entries matched by title alone, each one indexed LIKE over the titles
Outcome = Literal["matched", "fetched", "unmatched"]
log = logging.getLogger(__name__)


class ImportRefused(ValueError):
    """Nothing was imported; the message says why (a bad file, a collection that is not the user's)."""


@dataclass(frozen=True, slots=True)
class ImportLine:
    label: str
    outcome: Outcome
    arxiv_id: str | None = None
    reason: str = ""


@dataclass(slots=True)
class ImportReport:
    collection_title: str
    collection_slug: str
    format: str
    lines: list[ImportLine] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome == outcome]

    @property
    def added(self) -> int:
        return len(self.of("matched")) + len(self.of("fetched"))


def normalised_title(title: str) -> str:
    """``"{BERT}: Pre-training of Deep\\nBidirectional…"`` → ``"bert pre training of deep bidirectional"``."""
    folded = without_diacritics(latex_plain(title)).casefold()
    return " ".join(re.findall(r"[^\W_]+", folded))


def import_library(
    database: Database,
    settings: Settings,
    *,
    owner_id: int,
    data: bytes,
    filename: str = "",
    collection_slug: str | None = None,
    new_title: str | None = None,
) -> ImportReport:
    """Import ``data`` into the owner's collection ``collection_slug``, or into a new one titled ``new_title``
    (the file's name when neither is given). :class:`ImportRefused` when nothing could be imported."""
    try:
        format_name, entries = read_library(data, filename)
    except LibraryFileError as error:
        raise ImportRefused(str(error)) from error
    title = new_title or _title_from(filename)
    with database.read_session() as session:
        if collection_slug is not None:
            title = _existing(session, owner_id, collection_slug).title
        found = _match(session, entries)
    fetched = _fetch(
        database, settings, [e.arxiv_id for e in entries if e.arxiv_id and e.arxiv_id not in found.by_arxiv]
    )
    with database.read_session() as session:
        found = _match(session, entries)
    report = ImportReport(title, collection_slug or "", format_name)
    paper_ids = _report(report, entries, found, fetched)
    with database.write_session() as session:
        try:
            target = (
                _existing(session, owner_id, collection_slug)
                if collection_slug is not None
                else create_collection(session, owner_id=owner_id, title=title, is_public=False)
            )
        except CollectionError as error:
            raise ImportRefused(str(error)) from error
        add_many_to_collection(session, collection_id=target.id, owner_id=owner_id, paper_ids=paper_ids)
        report.collection_title, report.collection_slug = target.title, target.slug
    return report


def _title_from(filename: str) -> str:
    stem = re.sub(r"\.(bib|ris|json|csl\.json|txt)$", "", filename.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    return stem.strip()[:120] or "Imported library"


def _existing(session: Session, owner_id: int, slug: str) -> Collection:
    collection = session.execute(
        select(Collection).where(Collection.owner_id == owner_id, Collection.slug == slug)
    ).scalar_one_or_none()
    if collection is None:
        raise ImportRefused(f"You have no collection {slug!r}: leave the collection out to create one.")
    return collection


@dataclass(frozen=True, slots=True)
class _Found:
    by_arxiv: dict[str, tuple[int, bool]]  # arXiv id -> (paper id, hidden)
    by_doi: dict[str, tuple[int, str, bool]]  # lower-case DOI -> (paper id, arXiv id, hidden)
    by_title: dict[str, tuple[int, str, bool]]  # normalised title -> (paper id, arXiv id, hidden)


def _match(session: Session, entries: Sequence[LibraryEntry]) -> _Found:
    arxiv_ids = sorted({e.arxiv_id for e in entries if e.arxiv_id})
    by_arxiv = {
        arxiv_id: (paper_id, hidden)
        for paper_id, arxiv_id, hidden in session.execute(
            select(Paper.id, Paper.arxiv_id, Paper.hidden).where(Paper.arxiv_id.in_(arxiv_ids))
        )
    }
    dois = sorted({e.doi for e in entries if e.doi and not e.arxiv_id})
    by_doi = {
        str(doi).lower(): (paper_id, arxiv_id, hidden)
        for paper_id, arxiv_id, hidden, doi in session.execute(
            select(Paper.id, Paper.arxiv_id, Paper.hidden, Paper.doi).where(func.lower(Paper.doi).in_(dois))
        )
    }
    titled = [e.title for e in entries if e.title and not e.arxiv_id and e.doi not in by_doi][:MAX_TITLE_LOOKUPS]
    return _Found(by_arxiv, by_doi, {key: hit for key, hit in _by_titles(session, titled).items() if hit})


def _by_titles(session: Session, titles: Sequence[str]) -> dict[str, tuple[int, str, bool]]:
    """Papers whose normalised title equals one of ``titles``': candidates share the title's longest word."""
    found: dict[str, tuple[int, str, bool]] = {}
    for title in titles:
        key = normalised_title(title)
        words = sorted(key.split(), key=len, reverse=True)
        if not words or len(words[0]) < 4 or key in found:
            continue
        escaped = words[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        candidates = session.execute(
            select(Paper.id, Paper.arxiv_id, Paper.hidden, Paper.title)
            .where(func.lower(Paper.title).like(f"%{escaped}%", escape="\\"))
            .limit(200)
        )
        for paper_id, arxiv_id, hidden, candidate in candidates:
            if normalised_title(candidate) == key:
                found[key] = (paper_id, arxiv_id, hidden)
                break
    return found


@dataclass(frozen=True, slots=True)
class _Fetched:
    arxiv_ids: frozenset[str]
    missing: frozenset[str]
    failed: str | None  # why arXiv could not be asked, when it could not
    skipped: frozenset[str]  # over MAX_FETCHED


def _fetch(database: Database, settings: Settings, unknown: Sequence[str]) -> _Fetched:
    wanted = list(dict.fromkeys(unknown))
    asked, skipped = wanted[:MAX_FETCHED], frozenset(wanted[MAX_FETCHED:])
    if not asked:
        return _Fetched(frozenset(), frozenset(), None, skipped)
    try:
        with arxiv_client(settings) as client:
            result = ingest_arxiv_ids(database, client, asked)
    except (SourceUnavailable, ArxivApiError) as error:
        log.warning("library import: arXiv did not answer for %d ids: %s", len(asked), error)
        return _Fetched(frozenset(), frozenset(), str(error)[:200], skipped)
    missing = frozenset(result.missing)
    return _Fetched(frozenset(asked) - missing, missing, None, skipped)


def _report(report: ImportReport, entries: Sequence[LibraryEntry], found: _Found, fetched: _Fetched) -> list[int]:
    """Fill ``report`` with one line per entry; the paper ids to add, in file order, each once."""
    added: dict[int, str] = {}
    for entry in entries:
        line, paper_id = _line(entry, found, fetched)
        if paper_id is not None and paper_id in added:
            line = ImportLine(entry.label, "unmatched", line.arxiv_id, f"the same paper as {added[paper_id]}")
        elif paper_id is not None:
            added[paper_id] = entry.label
        report.lines.append(line)
    return list(added)


def _line(entry: LibraryEntry, found: _Found, fetched: _Fetched) -> tuple[ImportLine, int | None]:
    label = entry.label
    if entry.problem:
        return ImportLine(label, "unmatched", reason=entry.problem), None
    if entry.arxiv_id:
        return _arxiv_line(entry, found, fetched)
    hit = found.by_doi.get(entry.doi or "") or found.by_title.get(normalised_title(entry.title or ""))
    if hit is not None:
        paper_id, arxiv_id, hidden = hit
        if hidden:
            return ImportLine(label, "unmatched", arxiv_id, "an administrator hid that paper here"), None
        how = "by DOI" if entry.doi and entry.doi in found.by_doi else "by title"
        return ImportLine(label, "matched", arxiv_id, how), paper_id
    if entry.doi:
        return ImportLine(label, "unmatched", reason=f"no paper here has the DOI {entry.doi}, and no arXiv id"), None
    if entry.title:
        return ImportLine(label, "unmatched", reason="no arXiv id or DOI, and no paper here has that title"), None
    return ImportLine(label, "unmatched", reason="the entry has no arXiv id, DOI or title"), None


def _arxiv_line(entry: LibraryEntry, found: _Found, fetched: _Fetched) -> tuple[ImportLine, int | None]:
    arxiv_id, label = entry.arxiv_id or "", entry.label
    known = found.by_arxiv.get(arxiv_id)
    if known is not None and known[1]:
        return ImportLine(label, "unmatched", arxiv_id, "an administrator hid that paper here"), None
    if known is not None:
        outcome: Outcome = "fetched" if arxiv_id in fetched.arxiv_ids else "matched"
        return ImportLine(label, outcome, arxiv_id, "from arXiv" if outcome == "fetched" else "by arXiv id"), known[0]
    if arxiv_id in fetched.missing:
        reason = "arXiv has no such paper"
    elif arxiv_id in fetched.skipped:
        reason = f"more than {MAX_FETCHED} papers to fetch from arXiv: import the file again for the rest"
    else:
        reason = f"arXiv did not answer ({fetched.failed}): import the file again later"
    return ImportLine(label, "unmatched", arxiv_id, reason), None
