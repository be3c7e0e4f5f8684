"""The arXiv API (``export.arxiv.org/api/query``): Atom feeds in, :class:`PaperRecord` values out.

Reads both the classic feed (namespaces declared on each element) and the current one (declared on ``<feed>``,
authors with ``arxiv:affiliation``); lxml resolves namespaces either way. The API gives only the first and the
latest version dates, so ``versions`` holds at most those two.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lxml import etree

from papertide.arxiv_ids import estimate_announcement, parse_arxiv_id
from papertide.records import AuthorRecord, PaperRecord, RejectedLine, VersionRecord
from papertide.sources.http import PoliteClient
from papertide.sources.normalize import clean_text, parse_xml, within_calendar

log = logging.getLogger(__name__)

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ERROR_ID_MARK = "/api/errors"
# arXiv caps id_list queries; 100 ids keep the URL well under common length limits.
_ID_CHUNK = 100


class ArxivApiError(Exception):
    """arXiv rejected a query (its error feed) or answered something that is not a feed."""


@dataclass(slots=True)
class AtomPage:
    total_results: int
    start_index: int
    items_per_page: int
    records: list[PaperRecord]
    rejected: list[RejectedLine] = field(default_factory=list)


@dataclass(slots=True)
class IdFetch:
    records: list[PaperRecord]
    missing: list[str]


def parse_feed(content: bytes) -> AtomPage:
    """Parse one API response; raise :class:`ArxivApiError` for arXiv's error feed or a non-Atom body."""
    try:
        feed = parse_xml(content)
    except etree.XMLSyntaxError as exc:
        raise ArxivApiError(f"the arXiv API answered something that is not an Atom feed ({exc})") from exc
    if feed.tag != f"{_ATOM}feed":
        raise ArxivApiError(f"the arXiv API answered <{etree.QName(feed).localname[:40]}> instead of an Atom feed")
    records: list[PaperRecord] = []
    rejected: list[RejectedLine] = []
    for position, entry in enumerate(feed.iterfind(f"{_ATOM}entry"), start=1):
        _raise_if_error(entry)
        try:
            records.append(_parse_entry(entry))
        except ValueError as exc:
            rejected.append(RejectedLine(position, str(exc)))
    return AtomPage(
        total_results=_int(feed, f"{_OPENSEARCH}totalResults", len(records)),
        start_index=_int(feed, f"{_OPENSEARCH}startIndex", 0),
        items_per_page=_int(feed, f"{_OPENSEARCH}itemsPerPage", len(records)),
        records=records,
        rejected=rejected,
    )


def _raise_if_error(entry: Any) -> None:
    if _ERROR_ID_MARK in (entry.findtext(f"{_ATOM}id") or ""):
        # arXiv's own explanation (a field of its error feed, not the body), short: it reaches logs and the CLI.
        message = (clean_text(entry.findtext(f"{_ATOM}summary")) or "no explanation given")[:200]
        raise ArxivApiError(f"the arXiv API rejected the query: {message}")


def _parse_entry(entry: Any) -> PaperRecord:
    """One ``<entry>``; raises ``ValueError`` (``InvalidArxivId`` included) when it cannot be read."""
    entry_id = parse_arxiv_id(entry.findtext(f"{_ATOM}id") or "")
    published = _timestamp(entry, f"{_ATOM}published")
    updated = _timestamp(entry, f"{_ATOM}updated")
    return PaperRecord(
        arxiv_id=entry_id.id,
        title=clean_text(entry.findtext(f"{_ATOM}title")),
        abstract=clean_text(entry.findtext(f"{_ATOM}summary")),
        version=entry_id.version,
        authors=tuple(_author(author) for author in entry.iterfind(f"{_ATOM}author")),
        categories=_categories(entry),
        versions=_versions(entry_id.version, published, updated),
        submitted_at=published,
        updated_at=updated,
        announced_on=estimate_announcement(published) if published else None,
        comments=clean_text(entry.findtext(f"{_ARXIV}comment")),
        journal_ref=clean_text(entry.findtext(f"{_ARXIV}journal_ref")),
        doi=clean_text(entry.findtext(f"{_ARXIV}doi")),
    )


def _author(author: Any) -> AuthorRecord:
    affiliations = (clean_text(a.text) for a in author.iterfind(f"{_ARXIV}affiliation"))
    return AuthorRecord(
        name=clean_text(author.findtext(f"{_ATOM}name")) or "",
        affiliations=tuple(a for a in affiliations if a),
    )


def _categories(entry: Any) -> tuple[str, ...]:
    primary = entry.find(f"{_ARXIV}primary_category")
    terms = [primary.get("term")] if primary is not None else []
    terms += [category.get("term") for category in entry.iterfind(f"{_ATOM}category")]
    return tuple(dict.fromkeys(term for term in terms if term))


def _versions(version: int | None, published: datetime | None, updated: datetime | None) -> tuple[VersionRecord, ...]:
    if version is None or published is None:
        return ()
    first = VersionRecord(1, published)
    if version > 1 and updated is not None:
        return (first, VersionRecord(version, updated))
    return (first,)


def _timestamp(entry: Any, tag: str) -> datetime | None:
    text = (entry.findtext(tag) or "").strip()
    if not text:
        return None
    try:
        return within_calendar(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(f"unreadable <{tag.split('}')[1]}> timestamp {text!r}") from exc


def _int(feed: Any, tag: str, default: int) -> int:
    text = (feed.findtext(tag) or "").strip()
    # A count a feed could mean: a million-digit one is more than Python will read, and no feed's size.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else default


class ArxivApiClient:
    """Searches and id look-ups against the arXiv API, paged and spaced by a shared :class:`PoliteClient`."""

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    def search(
        self, query: str, *, since: date | None = None, max_results: int | None = None, page_size: int = 100
    ) -> Iterator[PaperRecord]:
        """Yield records matching ``query`` (arXiv ``search_query`` syntax); newest first when ``since`` set.

        ``since`` is compared with the estimated listing date, not the submission date, so a paper submitted
        on Friday evening and listed on Monday is not lost by a harvest ``since`` Monday.
        """
        start = 0
        yielded = 0
        sort = {"sortBy": "submittedDate", "sortOrder": "descending"} if since else {}
        while max_results is None or yielded < max_results:
            size = page_size if max_results is None else min(page_size, max_results - yielded)
            page = self._page({"search_query": query, "start": start, "max_results": size, **sort})
            for record in page.records:
                if since and record.announced_on and record.announced_on < since:
                    return
                yield record
                yielded += 1
                if yielded == max_results:
                    return
            start += len(page.records) + len(page.rejected)
            if not page.records or start >= page.total_results:
                return

    def fetch_ids(self, ids: Sequence[str]) -> IdFetch:
        """Fetch papers by id, 100 per request; ids arXiv does not return are listed in ``missing``.

        Raises :class:`InvalidArxivId` before any request when an id cannot be an arXiv id.
        """
        # Requested form (version kept, so arXiv returns that version) -> canonical id to match answers.
        wanted = {str(parsed): parsed.id for parsed in map(parse_arxiv_id, ids)}
        requested = list(wanted)
        records: list[PaperRecord] = []
        for begin in range(0, len(requested), _ID_CHUNK):
            chunk = requested[begin : begin + _ID_CHUNK]
            page = self._page({"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)})
            records.extend(page.records)
        found = {record.arxiv_id for record in records}
        missing = [text for text, canonical in wanted.items() if canonical not in found]
        return IdFetch(records=records, missing=missing)

    def _page(self, params: dict[str, str | int]) -> AtomPage:
        response = self.http.get(params)
        where = f"HTTP {response.status_code} for {response.url}"
        try:
            page = parse_feed(response.content)
        except ArxivApiError as exc:
            raise ArxivApiError(f"{exc} ({where})") from None
        if not response.is_success:
            raise ArxivApiError(f"the arXiv API answered {where} without saying why")
        for rejection in page.rejected:
            log.warning("skipped arXiv API entry %d: %s", rejection.line_no, rejection.reason)
        return page
