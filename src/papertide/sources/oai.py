"""arXiv OAI-PMH (``export.arxiv.org/oai2``): incremental ListRecords harvesting in ``arXiv`` or ``oai_dc``.

OAI-PMH is how arXiv wants bulk metadata fetched: a ``set`` and a ``from`` date, then ``resumptionToken``
pages. The format gives creation and last-update dates but no version numbers, so records carry dates and
leave ``version``/``versions`` unknown. ``noRecordsMatch`` means "nothing new" and is not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from lxml import etree

from papertide.arxiv_ids import InvalidArxivId, estimate_announcement, parse_arxiv_id
from papertide.records import AuthorRecord, PaperRecord, RejectedLine
from papertide.sources.http import PoliteClient
from papertide.sources.normalize import clean_text, parse_xml, within_calendar

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_ARXIV = "{http://arxiv.org/OAI/arXiv/}"
_OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_NO_RECORDS = "noRecordsMatch"
_COMMENT_PREFIX = "Comment:"


class OaiError(Exception):
    """An OAI-PMH error answer (``badArgument``, ``badResumptionToken``…) or a body that is not OAI-PMH."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"arXiv OAI-PMH error {code}: {message}")
        self.code = code
        self.message = message


class _UnreadableRecord(ValueError):
    """One record that cannot be turned into a :class:`PaperRecord`; becomes a :class:`RejectedLine`."""


@dataclass(slots=True)
class OaiPage:
    records: list[PaperRecord]
    rejected: list[RejectedLine]
    resumption_token: str | None = None
    complete_list_size: int | None = None


def parse_list_records(content: bytes) -> OaiPage:
    """Parse a ListRecords (or GetRecord) answer; deleted records are skipped, unreadable ones rejected."""
    try:
        root = parse_xml(content)
    except etree.XMLSyntaxError as exc:
        raise OaiError("invalidResponse", f"the answer is not XML ({exc})") from exc
    if root.tag != f"{_OAI}OAI-PMH":
        raise OaiError("invalidResponse", f"expected <OAI-PMH>, got <{etree.QName(root).localname[:40]}>")
    error = root.find(f"{_OAI}error")
    if error is not None:
        code = error.get("code") or "unknown"
        if code == _NO_RECORDS:
            return OaiPage(records=[], rejected=[])
        # The protocol's own explanation (a field of its error, not the body), short: it reaches `sources status`.
        raise OaiError(code[:40], (clean_text(error.text) or "no explanation given")[:200])
    page = OaiPage(records=[], rejected=[])
    for position, record in enumerate(root.iter(f"{_OAI}record"), start=1):
        if record.find(f"{_OAI}header[@status='deleted']") is not None:
            continue
        try:
            page.records.append(_parse_record(record))
        except _UnreadableRecord as exc:
            page.rejected.append(RejectedLine(position, str(exc)))
    _read_resumption(root, page)
    return page


def _read_resumption(root: Any, page: OaiPage) -> None:
    token = root.find(f".//{_OAI}resumptionToken")
    if token is None:
        return
    # An empty token marks the last page of a list.
    page.resumption_token = (token.text or "").strip() or None
    size = token.get("completeListSize", "")
    # A count a page could mean (a million-digit one is more than Python will read, and no list's size).
    page.complete_list_size = int(size) if size.isascii() and size.isdigit() and len(size) <= 12 else None


def _parse_record(record: Any) -> PaperRecord:
    header_id = record.findtext(f"{_OAI}header/{_OAI}identifier") or "?"
    metadata = record.find(f"{_OAI}metadata")
    if metadata is None or len(metadata) == 0:
        raise _UnreadableRecord(f"{header_id}: the record has no metadata")
    body = metadata[0]
    reader = _READERS.get(body.tag)
    if reader is None:
        raise _UnreadableRecord(f"{header_id}: metadata format {body.tag} is not arXiv or oai_dc")
    try:
        return reader(body, header_id)
    except InvalidArxivId as exc:
        raise _UnreadableRecord(f"{header_id}: {exc}") from exc


def _read_arxiv(body: Any, header_id: str) -> PaperRecord:
    arxiv_id = parse_arxiv_id(_required(body, f"{_ARXIV}id", header_id)).id
    created = _date(body, f"{_ARXIV}created", header_id)
    submitted_at = _midnight(created) if created else None
    updated = _date(body, f"{_ARXIV}updated", header_id)
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=clean_text(_required(body, f"{_ARXIV}title", header_id)),
        abstract=clean_text(body.findtext(f"{_ARXIV}abstract")),
        authors=tuple(_arxiv_author(author) for author in body.iterfind(f"{_ARXIV}authors/{_ARXIV}author")),
        categories=tuple(dict.fromkeys((body.findtext(f"{_ARXIV}categories") or "").split())),
        submitted_at=submitted_at,
        updated_at=_midnight(updated) if updated else submitted_at,
        announced_on=_announcement(submitted_at),
        comments=clean_text(body.findtext(f"{_ARXIV}comments")),
        journal_ref=clean_text(body.findtext(f"{_ARXIV}journal-ref")),
        doi=clean_text(body.findtext(f"{_ARXIV}doi")),
        report_no=clean_text(body.findtext(f"{_ARXIV}report-no")),
        license=clean_text(body.findtext(f"{_ARXIV}license")),
    )


def _arxiv_author(author: Any) -> AuthorRecord:
    parts = (author.findtext(f"{_ARXIV}{tag}") for tag in ("forenames", "keyname", "suffix"))
    affiliations = (clean_text(a.text) for a in author.iterfind(f"{_ARXIV}affiliation"))
    return AuthorRecord(
        name=clean_text(" ".join(part for part in parts if part)) or "",
        affiliations=tuple(a for a in affiliations if a),
    )


def _read_oai_dc(body: Any, header_id: str) -> PaperRecord:
    identifiers = _texts(body, f"{_DC}identifier")
    abs_urls = [text for text in identifiers if "arxiv.org/abs/" in text]
    arxiv_id = parse_arxiv_id(abs_urls[0] if abs_urls else header_id).id
    # arXiv sends the abstract first, then the comments field as a "Comment: ..." description.
    descriptions = _texts(body, f"{_DC}description")
    comments = [text[len(_COMMENT_PREFIX) :] for text in descriptions if text.startswith(_COMMENT_PREFIX)]
    abstracts = [text for text in descriptions if not text.startswith(_COMMENT_PREFIX)]
    dates = [_parse_day(text, header_id) for text in _texts(body, f"{_DC}date")]
    submitted_at = _midnight(dates[0]) if dates else None
    dois = [text[4:] for text in identifiers if text.lower().startswith("doi:")]
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=clean_text(_required(body, f"{_DC}title", header_id)),
        abstract=abstracts[0] if abstracts else None,
        authors=tuple(AuthorRecord(name=_dc_name(text)) for text in _texts(body, f"{_DC}creator")),
        submitted_at=submitted_at,
        updated_at=_midnight(dates[-1]) if dates else None,
        announced_on=_announcement(submitted_at),
        comments=clean_text(comments[0]) if comments else None,
        doi=clean_text(dois[0]) if dois else None,
    )


def _texts(body: Any, tag: str) -> list[str]:
    """The whitespace-normalised, non-blank texts of every ``tag`` child, in document order."""
    texts = (clean_text(element.text) for element in body.iterfind(tag))
    return [text for text in texts if text]


def _dc_name(text: str) -> str:
    """``Last, First`` → ``First Last``; names without a comma (collaborations) stay as they are."""
    last, comma, first = text.partition(", ")
    return f"{first} {last}" if comma else last


def _required(body: Any, tag: str, header_id: str) -> str:
    text = body.findtext(tag)
    if not text or not text.strip():
        raise _UnreadableRecord(f"{header_id}: the record has no <{etree.QName(tag).localname}>")
    return str(text)


def _date(body: Any, tag: str, header_id: str) -> date | None:
    text = body.findtext(tag)
    return _parse_day(text, header_id) if text else None


def _parse_day(text: str, header_id: str) -> date:
    try:
        return within_calendar(date.fromisoformat(text.strip()))
    except ValueError as exc:
        raise _UnreadableRecord(f"{header_id}: unreadable date {text.strip()!r}") from exc


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _announcement(submitted_at: datetime | None) -> date | None:
    # OAI dates have no time of day; at midnight UTC (evening in New York) the estimate is the
    # submission day itself when it is a weekday, else the Monday after: the earliest possible listing.
    return estimate_announcement(submitted_at) if submitted_at else None


def _start(set_spec: str | None, from_date: date, until: date | None, metadata_prefix: str) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix, "from": from_date.isoformat()}
    if set_spec:
        params["set"] = set_spec
    if until:
        params["until"] = until.isoformat()
    return params


def _continue(token: str) -> dict[str, str]:
    # OAI-PMH forbids repeating the other arguments next to a resumptionToken.
    return {"verb": "ListRecords", "resumptionToken": token}


_READERS: dict[str, Callable[[Any, str], PaperRecord]] = {
    f"{_ARXIV}arXiv": _read_arxiv,
    f"{_OAI_DC}dc": _read_oai_dc,
}


class OaiClient:
    """Harvests arXiv OAI-PMH ListRecords through a shared :class:`PoliteClient`, one page per request."""

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    def list_records(
        self,
        *,
        set_spec: str | None,
        from_date: date,
        until: date | None = None,
        metadata_prefix: str = "arXiv",
        resume_token: str | None = None,
    ) -> Iterator[OaiPage]:
        """Yield every page of a harvest; requests after the first send only the verb and the resumption token.

        ``resume_token`` continues a harvest from a checkpointed token instead of starting it over; arXiv
        answers ``badResumptionToken`` (an :class:`OaiError`) once such a token has expired.
        """
        token = resume_token
        while True:
            page = self._page(_continue(token) if token else _start(set_spec, from_date, until, metadata_prefix))
            yield page
            token = page.resumption_token
            if token is None:
                return

    def _page(self, params: dict[str, str]) -> OaiPage:
        response = self.http.get(params)
        try:
            return parse_list_records(response.content)
        except OaiError as exc:
            if response.is_success or exc.code != "invalidResponse":
                raise
            raise OaiError(f"HTTP {response.status_code}", f"{response.url} answered {exc.message}") from None
