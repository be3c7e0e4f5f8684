"""The arXiv metadata snapshot (``arxiv-metadata-oai-snapshot.json``): one JSON paper per line, gzipped or not.

This is the bulk path (millions of lines), so parsing is a single ``json.loads`` plus precompiled regexes per
line, and a bad line becomes a :class:`RejectedLine` with its number instead of stopping the import: a line that
is not JSON, nests past the JSON reader's depth, holds a number too long to read, or names a version past v9999
(arXiv ids' own bound, and what a row stores) among them.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.records import AuthorRecord, PaperRecord, RejectedLine, VersionRecord
from papertide.sources.normalize import clean_text, listing_date, tex_to_unicode, within_calendar

_GZIP_MAGIC = b"\x1f\x8b"
# "Mon, 2 Apr 2007 19:18:42 GMT": strptime is several times slower and locale-dependent.
_VERSION_DATE = re.compile(r"^\w{3}, (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$", re.ASCII)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
_VERSION_LABEL = re.compile(r"^v([1-9]\d{0,3})$", re.ASCII)  # as arxiv_ids reads a version: v1 to v9999
# Affiliations in the plain authors string, one level of nesting deep: "A. Smith (MIT (CSAIL)), B. Jones".
_PARENTHESES = re.compile(r"\((?:[^()]|\([^()]*\))*\)")
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


class SnapshotLineError(ValueError):
    """One snapshot line that cannot be read; the message is the reason recorded for it."""


class SnapshotFileError(OSError):
    """The snapshot file itself is damaged (for example a truncated download)."""


@contextmanager
def open_lines(path: Path | str) -> Iterator[TextIO]:
    """Open a snapshot as text lines, gunzipping when the file starts with the gzip magic bytes.

    Bytes that are not UTF-8 become U+FFFD so that one damaged line does not stop a multi-gigabyte import.
    """
    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if raw.peek(2)[:2] == _GZIP_MAGIC else raw
        try:
            with io.TextIOWrapper(stream, encoding="utf-8", errors="replace") as text:
                yield text
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise SnapshotFileError(
                f"{path}: the gzip data is damaged or cut short ({exc}); download the file again"
            ) from exc


def iter_snapshot(path: Path | str, start_line: int = 0) -> Iterator[tuple[int, PaperRecord | RejectedLine]]:
    """Yield ``(line number, record or rejection)`` for every non-blank line, numbered from 1.

    ``start_line`` is the number of the first line to read: earlier lines are skipped unparsed, so an import
    can resume after the last line it committed.
    """
    with open_lines(path) as lines:
        for line_no, line in enumerate(lines, start=1):
            if line_no < start_line or not line.strip():
                continue
            try:
                yield line_no, parse_snapshot_line(line)
            except SnapshotLineError as exc:
                yield line_no, RejectedLine(line_no, str(exc))


def parse_snapshot_line(line: str) -> PaperRecord:
    """Turn one snapshot line into a record; raise :class:`SnapshotLineError` saying why it cannot be read."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SnapshotLineError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise SnapshotLineError("the line nests lists or objects more deeply than the JSON reader follows") from None
    except ValueError:  # Python reads integers of at most 4,300 digits
        raise SnapshotLineError("the line holds a number too long to read") from None
    if not isinstance(data, dict):
        raise SnapshotLineError(f"expected a JSON object, got {type(data).__name__}")
    raw_id = data.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise SnapshotLineError("the line has no id")
    try:
        arxiv_id = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        raise SnapshotLineError(str(exc)) from None
    title = clean_text(data.get("title"))
    if title is None:
        raise SnapshotLineError(f"{arxiv_id.id}: the line has no title")
    versions = _versions(data.get("versions"), arxiv_id.id)
    first = versions[0].created if versions else None
    return PaperRecord(
        arxiv_id=arxiv_id.id,
        title=title,
        abstract=clean_text(data.get("abstract")),
        version=versions[-1].version if versions else arxiv_id.version,
        authors=_authors(data),
        categories=tuple(dict.fromkeys((clean_text(data.get("categories")) or "").split())),
        versions=versions,
        submitted_at=first,
        updated_at=versions[-1].created if versions else None,
        announced_on=listing_date(first) if first else None,
        comments=clean_text(data.get("comments")),
        journal_ref=clean_text(data.get("journal-ref")),
        doi=clean_text(data.get("doi")),
        report_no=clean_text(data.get("report-no")),
        license=clean_text(data.get("license")),
    )


def _versions(raw: object, arxiv_id: str) -> tuple[VersionRecord, ...]:
    if not isinstance(raw, list):
        return ()
    versions = []
    for entry in raw:
        label = entry.get("version") if isinstance(entry, dict) else None
        number = _VERSION_LABEL.match(label) if isinstance(label, str) else None
        if number is None:
            raise SnapshotLineError(f"{arxiv_id}: unreadable version entry {entry!r}")
        versions.append(VersionRecord(int(number.group(1)), _version_date(entry.get("created"), arxiv_id)))
    return tuple(sorted(versions, key=lambda version: version.version))


def _version_date(text: object, arxiv_id: str) -> datetime:
    match = _VERSION_DATE.match(text) if isinstance(text, str) else None
    month = _MONTHS.get(match.group(2)) if match else None
    if match is None or month is None:
        raise SnapshotLineError(f"{arxiv_id}: unreadable version date {text!r}")
    day, _, year, hour, minute, second = match.groups()
    try:
        return within_calendar(datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC))
    except ValueError:
        raise SnapshotLineError(f"{arxiv_id}: impossible version date {text!r}") from None


def _authors(data: dict[str, object]) -> tuple[AuthorRecord, ...]:
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = [_parsed_name(entry) for entry in parsed]
    else:
        plain = data.get("authors")
        names = [_name(name) for name in _split_authors(plain)] if isinstance(plain, str) else []
    return tuple([AuthorRecord(name) for name in names if name])


def _parsed_name(entry: object) -> str:
    """``[last, first, suffix]`` → ``first last suffix``; the snapshot's authors_parsed order."""
    if not isinstance(entry, list):
        return ""
    last, first, suffix, *_ = (*entry, "", "", "")
    return _name(f"{first or ''} {last or ''} {suffix or ''}")


def _name(text: str) -> str:
    name = clean_text(text) or ""
    # Most names have no TeX; checking for a backslash here saves a call per name on the bulk path.
    return tex_to_unicode(name) if "\\" in name else name


def _split_authors(plain: str) -> list[str]:
    return _AUTHOR_SEPARATOR.split(_PARENTHESES.sub(" ", plain))
