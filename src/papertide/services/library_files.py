"""Reading a citation manager's export (BibTeX, RIS or CSL-JSON, as Zotero, Mendeley, JabRef or a hand-kept
``.bib`` write them) into :class:`LibraryEntry` values: what each entry says that can find its paper.

An arXiv id is looked for where each exporter puts it, most specific first: BibTeX ``eprint`` (with
``archivePrefix = {arXiv}`` or none) and Mendeley's ``arxivId``; an arxiv.org URL; arXiv's own DOI
(``10.48550/arXiv.2503.24322``, Zotero's preprint DOI); then ``arXiv:2503.24322`` in a note, a journal or a
number field ("arXiv preprint arXiv:…", Google Scholar's form). Old-style ids (``hep-th/9901001``,
``math.GT/0309136``) count everywhere. A file that is not one of the three formats, not UTF-8 or has no entry
is refused whole (:class:`LibraryFileError`); an entry that cannot be read is kept with its ``problem``, so the
report can say which one and why.

Any signed-in account may upload, so the work one file can cost is bounded before any expensive step: its size
(:data:`MAX_BYTES`), its blocks counted the way bibtexparser's splitter finds them (an ``@type{`` anywhere, not
only at a line's start: :data:`MAX_BLOCKS`), the marks that splitter walks one by one (:data:`MAX_MARKS`), the
length of a title (:data:`MAX_TITLE_CHARS`, longer is no title but a problem of that entry) and of the other
fields read (the first :data:`MAX_FIELD_CHARS` characters), how deeply a title nests (:data:`MAX_NESTING`) and
the characters handed to pylatexenc in one file (:data:`LATEX_BUDGET`, the rest take the cheap conversion).
A file nested too deeply for a parser, or holding a number too long to read, is refused with what is wrong.
bibtexparser's log lines (one per failed block) are silenced: the report lists every entry that failed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import bibtexparser
import rispy
from bibtexparser.model import Entry, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from papertide.arxiv_ids import try_parse_arxiv_id
from papertide.text import latex_plain

MAX_BYTES = 2_000_000
MAX_ENTRIES = 2_000
# Entries, @string, @comment and @preamble blocks together: each costs the splitter a block of its own.
MAX_BLOCKS = 2 * MAX_ENTRIES
# The splitter walks every brace, quote, comma, '=' and line break in Python, about a microsecond each; a dense
# real export has one per 8 bytes or so (250,000 in 2 MB), a hostile file one per byte.
MAX_MARKS = 500_000
MAX_TITLE_CHARS = 1_000  # the longest arXiv titles are about 300 characters
MAX_FIELD_CHARS = 10_000  # of a URL, note or journal field: ids sit near the start
MAX_NESTING = 32  # braces and environments in a title; pylatexenc recurses per level
# pylatexenc costs about 8 µs a character: at most ~1 s per file; titles past it get text.latex_plain.
LATEX_BUDGET = 120_000
LibraryFormat = str  # "bibtex", "ris" or "csl"

_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf|html)/([\w.\-/]+?)(?:\.pdf)?(?=[\s?#\"'<>{}(),;]|$)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.([\w.\-/]+)", re.IGNORECASE)
_ARXIV_TEXT = re.compile(
    r"\barxiv\s*[:/]?\s*((?:[a-z]+(?:-[a-z]+)*(?:\.[a-z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?)", re.IGNORECASE
)
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
_LATEX = LatexNodes2Text(math_mode="verbatim")
_RIS_START = re.compile(r"^TY  - ", re.MULTILINE)
# bibtexparser's splitter starts a block at every "@type{" or "@type(" outside a block, wherever it stands.
_BLOCK_MARK = re.compile(r"@(\w*)[ \t]*[{(]")
_NOT_ENTRIES = frozenset({"comment", "string", "preamble"})
_SPLITTER_MARKS = '{}",=\n'
_NEEDS_LATEX = re.compile(r"[\\$%~]")  # a title without these only loses its protecting braces
_NESTING = re.compile(r"\\begin\b|\\end\b|(?<!\\)[{}]")
# Every failed block is a line of the import report; the parser's own warning per block would only repeat it
# (300,000 times for a hostile file). Its errors (bugs in the parser, which re-raise) still log.
logging.getLogger("bibtexparser").setLevel(logging.ERROR)


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
    # Counted before parsing, so a file of tiny entries is refused in milliseconds.
    if format_name == "bibtex":
        _check_bibtex_work(text)
    elif format_name == "ris":
        _check_count(len(_RIS_START.findall(text)))
    try:
        entries = {"bibtex": _bibtex_entries, "ris": _ris_entries, "csl": _csl_entries}[format_name](text)
    except RecursionError:  # the checks above and per title should make this unreachable; never a 500
        raise LibraryFileError(
            f"That {format_name_label(format_name)} file nests more deeply than any export does: it cannot be read."
        ) from None
    if not entries:
        raise LibraryFileError(f"That {format_name_label(format_name)} file has no entries.")
    _check_count(len(entries))
    if all(entry.problem for entry in entries):
        raise LibraryFileError(f"None of the {len(entries)} entries could be read: {entries[0].problem}")
    return format_name, entries


def _check_count(count: int) -> None:
    if count > MAX_ENTRIES:
        raise LibraryFileError(f"That file has {count:,} entries; import at most {MAX_ENTRIES:,} at a time.")


def _check_bibtex_work(text: str) -> None:
    """Refuse a BibTeX file whose parse would cost more than any real export's, counted as the splitter counts."""
    kinds = [kind.lower() for kind in _BLOCK_MARK.findall(text)]
    _check_count(sum(kind not in _NOT_ENTRIES for kind in kinds))
    if len(kinds) > MAX_BLOCKS:
        raise LibraryFileError(
            f"That file has {len(kinds):,} BibTeX blocks (entries, @string and @comment); at most {MAX_BLOCKS:,} "
            "are read at a time."
        )
    marks = sum(text.count(mark) for mark in _SPLITTER_MARKS)
    if marks > MAX_MARKS:
        raise LibraryFileError(
            f"That file holds {marks:,} braces, quotes, commas, '=' and line breaks, more than any export of "
            f"{MAX_ENTRIES:,} entries ({MAX_MARKS:,} at most): it looks generated, not exported."
        )


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
    direct = [value[:MAX_FIELD_CHARS] for value in ids if value]
    doi = doi[:MAX_FIELD_CHARS] if doi else None
    arxiv_id = next((parsed.id for parsed in map(try_parse_arxiv_id, direct) if parsed), None)
    arxiv_id = arxiv_id or arxiv_id_in([*direct, doi, *(value[:MAX_FIELD_CHARS] for value in loose if value)])
    plain_doi = _doi(doi)
    if plain_doi and _ARXIV_DOI.match(plain_doi):
        plain_doi = None  # arXiv's own DOI names the arXiv id found above, never a journal's version
    text = title if isinstance(title, str) and title.strip() else None
    return LibraryEntry(label=label[:200], arxiv_id=arxiv_id, doi=plain_doi, title=text)


# BibTeX -------------------------------------------------------------------------------------------------------


class _TitleProblem(ValueError):
    """A title that cannot be a title (too long, nested too deeply); the entry keeps the message as its problem."""


def _checked_title(title: Any) -> str | None:
    """``title`` when it is text a title can be, None when absent, else :class:`_TitleProblem`."""
    if not isinstance(title, str) or not title.strip():
        return None
    if len(title) > MAX_TITLE_CHARS:
        raise _TitleProblem(f"its title is {len(title):,} characters long; a title has at most {MAX_TITLE_CHARS:,}")
    return title


class _Latex:
    """Turns BibTeX titles into text: pylatexenc while :data:`LATEX_BUDGET` lasts, :func:`latex_plain` after."""

    def __init__(self) -> None:
        self.left = LATEX_BUDGET

    def text(self, title: str) -> str:
        if not _NEEDS_LATEX.search(title):
            return title.replace("{", "").replace("}", "")
        if _nesting(title) > MAX_NESTING:
            raise _TitleProblem(f"its title nests braces or environments more than {MAX_NESTING} deep")
        if len(title) > self.left:
            return latex_plain(title)
        self.left -= len(title)
        try:
            return str(_LATEX.latex_to_text(title))
        except RecursionError:  # MAX_NESTING keeps pylatexenc well inside the limit; this is the last guard
            raise _TitleProblem(f"its title nests more than {MAX_NESTING} deep") from None


def _nesting(title: str) -> int:
    depth = deepest = 0
    for mark in _NESTING.finditer(title):
        depth += 1 if mark.group(0) in ("{", "\\begin") else -1
        deepest = max(deepest, depth)
    return deepest


def _bibtex_entries(text: str) -> list[LibraryEntry]:
    library = bibtexparser.parse_string(text)
    latex = _Latex()
    entries = [_bibtex_entry(entry, latex) for entry in library.entries]
    for block in library.failed_blocks:
        entries.append(_failed_bibtex_block(block))
    return sorted(entries, key=lambda entry: _line_of(entry.label))


def _line_of(label: str) -> int:
    match = re.search(r"line (\d+)", label)
    return int(match.group(1)) if match else 0


def _bibtex_entry(entry: Entry, latex: _Latex) -> LibraryEntry:
    fields = {field.key.lower(): str(field.value) for field in entry.fields}
    label = f"{entry.key[:100]} (line {(entry.start_line or 0) + 1})"
    try:
        raw_title = _checked_title(fields.get("title"))
        title = latex.text(raw_title) if raw_title else None
    except _TitleProblem as problem:
        return LibraryEntry(label=label, problem=str(problem))
    prefix = fields.get("archiveprefix", "arxiv")[:20].lower()
    eprint = fields.get("eprint") if prefix in {"arxiv", ""} else None
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
    try:
        title = _checked_title(title)
    except _TitleProblem as problem:
        return LibraryEntry(label=label, problem=str(problem))
    loose = _ris_values(record, "urls", "notes", "note", "journal_name", "secondary_title", "number", "type_of_work")
    dois = _ris_values(record, "doi")
    return _entry(label, [], loose, dois[0] if dois else None, title)


# CSL-JSON -----------------------------------------------------------------------------------------------------


def _csl_entries(text: str) -> list[LibraryEntry]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise LibraryFileError(f"That CSL-JSON file is not valid JSON: {error.msg} at line {error.lineno}.") from None
    except RecursionError:
        raise LibraryFileError(
            "That CSL-JSON file nests lists or objects more deeply than Python's JSON reader can follow; "
            "a CSL-JSON export is a list of flat items."
        ) from None
    except ValueError as error:  # Python refuses integers of more than 4,300 digits
        raise LibraryFileError(f"That CSL-JSON file holds a number too long to read ({str(error)[:60]}…).") from None
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
    try:
        title = _checked_title(title)
    except _TitleProblem as problem:
        return LibraryEntry(label=label, problem=str(problem))
    loose = [item.get(name) for name in ("URL", "number", "note", "container-title", "archive_location")]
    strings = [value if isinstance(value, str) else None for value in loose]
    doi = item.get("DOI") if isinstance(item.get("DOI"), str) else None
    return _entry(label, [], strings, doi, title)
