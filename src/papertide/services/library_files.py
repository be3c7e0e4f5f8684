"""Reading a citation manager's export (BibTeX, RIS or CSL-JSON, as Zotero, Mendeley, JabRef or a hand-kept
``.bib`` write them) into :class:`LibraryEntry` values: what each entry says that can find its paper.

An arXiv id is looked for where each exporter puts it, most specific first: BibTeX ``eprint`` (with
``archivePrefix = {arXiv}`` or none) and Mendeley's ``arxivId``; an arxiv.org URL; arXiv's own DOI
(``10.48550/arXiv.2503.24322``, Zotero's preprint DOI); then ``arXiv:2503.24322`` in a note, a journal or a
number field ("arXiv preprint arXiv:…", Google Scholar's form). Old-style ids (``hep-th/9901001``,
``math.GT/0309136``) count everywhere. A file that is not one of the three formats, not UTF-8 or has no entry
is refused whole (:class:`LibraryFileError`); an entry that cannot be read is kept with its ``problem``, so the
report can say which one and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import bibtexparser
import rispy
from bibtexparser.model import Entry, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from papertide.arxiv_ids import try_parse_arxiv_id

MAX_BYTES = 2_000_000
MAX_ENTRIES = 2_000
LibraryFormat = str  # "bibtex", "ris" or "csl"

_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf|html)/([\w.\-/]+?)(?:\.pdf)?(?=[\s?#\"'<>{}(),;]|$)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.([\w.\-/]+)", re.IGNORECASE)
_ARXIV_TEXT = re.compile(
    r"\barxiv\s*[:/]?\s*((?:[a-z]+(?:-[a-z]+)*(?:\.[a-z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?)", re.IGNORECASE
)
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
_LATEX = LatexNodes2Text(math_mode="verbatim")
_BIBTEX_START = re.compile(r"^\s*@(?!comment\b|string\b|preamble\b)\w+\s*[{(]", re.MULTILINE | re.IGNORECASE)
_RIS_START = re.compile(r"^TY  - ", re.MULTILINE)


class LibraryFileError(ValueError):
    """The file as a whole cannot be imported; the message says why and what would work."""


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One entry of an export: its label for the report, and what may identify its paper."""

    label: str
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None
    problem: str | None = None  # the entry could not be read: why


def read_library(data: bytes, filename: str = "") -> tuple[LibraryFormat, list[LibraryEntry]]:
    """The format and entries of an export, or :class:`LibraryFileError`."""
    if len(data) > MAX_BYTES:
        raise LibraryFileError(f"That file is {len(data):,} bytes; a library import takes at most {MAX_BYTES:,}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LibraryFileError(
            f"That file is not UTF-8 text (byte {error.start}): export it again as UTF-8 BibTeX, RIS or CSL-JSON."
        ) from None
    if "\x00" in text:
        raise LibraryFileError("That file holds binary data, not a BibTeX, RIS or CSL-JSON export.")
    format_name = _sniff(text, filename)
    starts = {"bibtex": _BIBTEX_START, "ris": _RIS_START}.get(format_name)
    if starts is not None:  # counted before parsing, so a file of tiny entries is refused in milliseconds
        _check_count(len(starts.findall(text)))
    entries = {"bibtex": _bibtex_entries, "ris": _ris_entries, "csl": _csl_entries}[format_name](text)
    if not entries:
        raise LibraryFileError(f"That {format_name_label(format_name)} file has no entries.")
    _check_count(len(entries))
    if all(entry.problem for entry in entries):
        raise LibraryFileError(f"None of the {len(entries)} entries could be read: {entries[0].problem}")
    return format_name, entries


def _check_count(count: int) -> None:
    if count > MAX_ENTRIES:
        raise LibraryFileError(f"That file has {count:,} entries; import at most {MAX_ENTRIES:,} at a time.")


def format_name_label(format_name: LibraryFormat) -> str:
    return {"bibtex": "BibTeX", "ris": "RIS", "csl": "CSL-JSON"}[format_name]


def _sniff(text: str, filename: str) -> LibraryFormat:
    stripped = text.lstrip()
    lower = filename.lower()
    if stripped.startswith(("[", "{")) or lower.endswith(".json"):
        return "csl"
    if _RIS_START.search(text) or lower.endswith(".ris"):
        return "ris"
    if re.search(r"^\s*@\w+\s*[{(]", text, re.MULTILINE) or lower.endswith(".bib"):
        return "bibtex"
    raise LibraryFileError("That file is not a BibTeX (.bib), RIS (.ris) or CSL-JSON (.json) export.")


def arxiv_id_in(values: Iterable[str | None]) -> str | None:
    """The first arXiv id found in ``values`` (URLs, arXiv DOIs, ``arXiv:…`` text), canonical, else None."""
    for value in values:
        if not value:
            continue
        for pattern in (_ARXIV_URL, _ARXIV_DOI, _ARXIV_TEXT):
            for match in pattern.finditer(value):
                parsed = try_parse_arxiv_id(match.group(1))
                if parsed:
                    return parsed.id
    return None


def _doi(value: str | None) -> str | None:
    match = _DOI.search(value or "")
    return match.group(1).rstrip(".,;").lower() if match else None


def _entry(
    label: str, ids: Iterable[str | None], loose: Iterable[str | None], doi: str | None, title: Any
) -> LibraryEntry:
    """An entry from its direct id fields (``ids``, tried as bare ids first) and the fields to search (``loose``)."""
    direct = [value for value in ids if value]
    arxiv_id = next((parsed.id for parsed in map(try_parse_arxiv_id, direct) if parsed), None)
    arxiv_id = arxiv_id or arxiv_id_in([*direct, doi, *loose])
    plain_doi = _doi(doi)
    if plain_doi and _ARXIV_DOI.match(plain_doi):
        plain_doi = None  # arXiv's own DOI names the arXiv id found above, never a journal's version
    text = title if isinstance(title, str) and title.strip() else None
    return LibraryEntry(label=label[:200], arxiv_id=arxiv_id, doi=plain_doi, title=text)


# BibTeX -------------------------------------------------------------------------------------------------------


def _bibtex_entries(text: str) -> list[LibraryEntry]:
    library = bibtexparser.parse_string(text)
    entries = [_bibtex_entry(entry) for entry in library.entries]
    for block in library.failed_blocks:
        entries.append(_failed_bibtex_block(block))
    return sorted(entries, key=lambda entry: _line_of(entry.label))


def _line_of(label: str) -> int:
    match = re.search(r"line (\d+)", label)
    return int(match.group(1)) if match else 0


def _bibtex_entry(entry: Entry) -> LibraryEntry:
    fields = {field.key.lower(): str(field.value) for field in entry.fields}
    prefix = fields.get("archiveprefix", "arxiv").lower()
    eprint = fields.get("eprint") if prefix in {"arxiv", ""} else None
    title = _LATEX.latex_to_text(fields["title"]) if "title" in fields else None
    label = f"{entry.key} (line {(entry.start_line or 0) + 1})"
    loose = [fields.get(name) for name in ("url", "note", "journal", "howpublished", "number", "annote", "eprint")]
    return _entry(label, [eprint, fields.get("arxivid")], loose, fields.get("doi"), title)


def _failed_bibtex_block(block: ParsingFailedBlock) -> LibraryEntry:
    label = f"entry at line {(block.start_line or 0) + 1}"
    if type(block).__name__ == "DuplicateBlockKeyBlock":
        key = getattr(block, "key", "?")
        return LibraryEntry(label=label, problem=f"a second entry with the citation key {key!r}")
    reason = str(getattr(block.error, "abort_reason", "") or block.error).split("\n")[0].strip()[:200] or "malformed"
    return LibraryEntry(label=label, problem=f"unreadable BibTeX: {reason}")


# RIS ----------------------------------------------------------------------------------------------------------


def _ris_chunks(text: str) -> Iterator[tuple[int, str, bool]]:
    """(first line, text, ended) of each ``TY … ER`` record; rispy drops a record without ``ER`` silently."""
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("TY  - "):
            if lines:
                yield start, "\n".join(lines), False
            start, lines = number, [line]
        elif lines:
            lines.append(line)
            if line.startswith("ER  -"):
                yield start, "\n".join(lines) + "\n", True
                lines = []
    if lines:
        yield start, "\n".join(lines), False


def _ris_entries(text: str) -> list[LibraryEntry]:
    entries = []
    for line, chunk, ended in _ris_chunks(text):
        label = f"record at line {line}"
        if not ended:
            entries.append(LibraryEntry(label=label, problem="the record has no end (an 'ER  - ' line)"))
            continue
        try:
            (record,) = rispy.loads(chunk)
        except (ValueError, KeyError, IndexError) as error:
            entries.append(LibraryEntry(label=label, problem=f"unreadable RIS: {error}"[:200]))
            continue
        entries.append(_ris_entry(label, record))
    return entries


def _ris_values(record: dict[str, Any], *keys: str) -> list[str]:
    values: list[str] = []
    for key in keys:
        value = record.get(key)
        values.extend(value if isinstance(value, list) else [value] if isinstance(value, str) else [])
    return values


def _ris_entry(label: str, record: dict[str, Any]) -> LibraryEntry:
    title = record.get("title") or record.get("primary_title")
    label = f"{title[:80]} ({label})" if isinstance(title, str) else label
    loose = _ris_values(record, "urls", "notes", "note", "journal_name", "secondary_title", "number", "type_of_work")
    dois = _ris_values(record, "doi")
    return _entry(label, [], loose, dois[0] if dois else None, title)


# CSL-JSON -----------------------------------------------------------------------------------------------------


def _csl_entries(text: str) -> list[LibraryEntry]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise LibraryFileError(f"That CSL-JSON file is not valid JSON: {error.msg} at line {error.lineno}.") from None
    if isinstance(items, dict) and isinstance(items.get("items"), list):
        items = items["items"]  # some exporters wrap the list
    if not isinstance(items, list):
        raise LibraryFileError("A CSL-JSON export is a list of items; that file holds something else.")
    return [_csl_entry(index, item) for index, item in enumerate(items, start=1)]


def _csl_entry(index: int, item: Any) -> LibraryEntry:
    if not isinstance(item, dict):
        return LibraryEntry(label=f"item {index}", problem="not a CSL-JSON item (an object)")
    title = item.get("title")
    label = f"{title[:80]} (item {index})" if isinstance(title, str) else f"item {index}"
    loose = [item.get(name) for name in ("URL", "number", "note", "container-title", "archive_location")]
    strings = [value if isinstance(value, str) else None for value in loose]
    doi = item.get("DOI") if isinstance(item.get("DOI"), str) else None
    return _entry(label, [], strings, doi, title)
