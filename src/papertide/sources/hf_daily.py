"""Daily Papers lists in the JSON shape of hf.co ``/api/daily_papers``: featured papers with their counts.

Reads the 2026 shape, the 2024 one (no submitter, organization or GitHub fields) and sparse archives that keep
only ``paper.id``, titles and dates. Every field but the paper id may be missing; an item without a readable id,
or with a count no row can hold (upvotes of 10^20), is rejected with its 1-based position and the rest is kept.
A user or organization name that a local account could not have (``../../admin``) names no account: the item
keeps its paper without it. A file nested past the JSON reader's depth or holding a number too long to read is
refused whole with what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from papertide.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.records import AccountRecord, AuthorRecord, FeaturedRecord, PaperRecord, RejectedLine
from papertide.sources.normalize import (
    account_name,
    clean_text,
    clean_url,
    count,
    is_date_only,
    listing_date,
    within_calendar,
)

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})", re.ASCII)
_HF_ORIGIN = "https://huggingface.co"


class DailyFileError(ValueError):
    """A Daily Papers file that cannot be read at all (not JSON, not a list); the message names the file."""


class _UnreadableItem(ValueError):
    """One item that cannot become a :class:`FeaturedRecord`; becomes a :class:`RejectedLine`."""


def iter_daily_path(path: Path | str) -> Iterator[tuple[Path, list[FeaturedRecord], list[RejectedLine]]]:
    """Parse one ``.json`` file, or every ``*.json`` in a directory in name order."""
    path = Path(path)
    if not path.exists():
        raise DailyFileError(f"{path} does not exist: give a Daily Papers .json file or a directory of them")
    for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
        try:
            data = load_json(file.read_bytes())
        except DailyFileError as exc:
            raise DailyFileError(f"{file} {exc}") from None
        try:
            featured, rejected = parse_daily(data, date_from_name(file))
        except DailyFileError as exc:
            raise DailyFileError(f"{file}: {exc}") from None
        yield file, featured, rejected


def load_json(content: bytes) -> object:
    """A Daily Papers answer or file decoded, or :class:`DailyFileError` saying what keeps it from being JSON
    (the message follows the file's name or URL)."""
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise DailyFileError(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise DailyFileError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise DailyFileError("nests lists or objects more deeply than the JSON reader follows") from None
    except ValueError:  # Python reads integers of at most 4,300 digits
        raise DailyFileError("holds a number too long to read") from None


def date_from_name(path: Path) -> date | None:
    """The ``YYYY-MM-DD`` in a file name (``2026-07-09.json``), or ``None`` when there is no valid one."""
    match = _DATE_IN_NAME.search(path.name)
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def parse_daily(data: object, default_date: date | None) -> tuple[list[FeaturedRecord], list[RejectedLine]]:
    """Turn a decoded ``/api/daily_papers`` answer into featured records; ``default_date`` wins when given."""
    if not isinstance(data, list):
        raise DailyFileError(f"expected a JSON list of Daily Papers items, got a JSON {_json_kind(data)}")
    featured: list[FeaturedRecord] = []
    rejected: list[RejectedLine] = []
    for position, item in enumerate(data, start=1):
        try:
            featured.append(_featured(item, default_date))
        except _UnreadableItem as exc:
            rejected.append(RejectedLine(position, str(exc)))
    return featured, rejected


def _featured(item: object, default_date: date | None) -> FeaturedRecord:
    if not isinstance(item, dict):
        raise _UnreadableItem(f"the item is a JSON {_json_kind(item)}, not an object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise _UnreadableItem("the item has no paper object")
    featured_on = default_date or _day(item.get("publishedAt")) or _day(paper.get("submittedOnDailyAt"))
    if featured_on is None:
        raise _UnreadableItem("no featured date: name the file YYYY-MM-DD.json or keep the items' publishedAt")
    return FeaturedRecord(
        paper=_paper(item, paper),
        featured_on=featured_on,
        upvotes=_count(paper.get("upvotes"), "upvotes"),
        num_comments=_count(item.get("numComments"), "numComments"),
        submitter=_account(item.get("submittedBy")) or _account(paper.get("submittedOnDailyBy")),
        organization=_account(item.get("organization"), organization=True)
        or _account(paper.get("organization"), organization=True),
        github_stars=_count(paper.get("githubStars"), "githubStars"),
        ai_summary=clean_text(paper.get("ai_summary")),
        ai_keywords=_keywords(paper.get("ai_keywords")),
    )


def _paper(item: dict[str, object], paper: dict[str, object]) -> PaperRecord:
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise _UnreadableItem("the paper has no id")
    try:
        arxiv_id = parse_arxiv_id(raw_id).id
    except InvalidArxivId as exc:
        raise _UnreadableItem(str(exc)) from None
    published = _timestamp(paper.get("publishedAt"))
    # paper.publishedAt is arXiv's date: a bare listing date at midnight (2026 shape) or the v1 submission
    # time (2024 shape); only the latter says when the paper was submitted.
    submitted = published if published and not is_date_only(published) else None
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=clean_text(item.get("title")) or clean_text(paper.get("title")),
        abstract=clean_text(paper.get("summary")) or clean_text(item.get("summary")),
        authors=_authors(paper.get("authors")),
        submitted_at=submitted,
        announced_on=listing_date(published) if published else None,
        code_url=clean_url(paper.get("githubRepo")),
        project_url=clean_url(paper.get("projectPage")),
    )


def _authors(raw: object) -> tuple[AuthorRecord, ...]:
    entries = raw if isinstance(raw, list) else []
    authors = (_author(entry) for entry in entries if isinstance(entry, dict))
    return tuple(author for author in authors if author is not None)


def _author(entry: dict[str, object]) -> AuthorRecord | None:
    name = clean_text(entry.get("name"))
    if name is None:
        return None
    account = _account(entry.get("user"))
    return AuthorRecord(name, hf_user=account.name if account else None)


def _keywords(raw: object) -> tuple[str, ...] | None:
    if not isinstance(raw, list):
        return None
    words = (clean_text(word) for word in raw if isinstance(word, str))
    return tuple(dict.fromkeys(word for word in words if word))


def _account(raw: object, *, organization: bool = False) -> AccountRecord | None:
    """A user or organization object; users carry the user name in "user" or "name", avatars in two keys. A name
    no local account could have is no account (it would become a link to wherever it points)."""
    if not isinstance(raw, dict):
        return None
    name = clean_text(raw.get("user")) or clean_text(raw.get("name"))
    name = account_name(name, organization=organization)
    if name is None:
        return None
    avatar = clean_text(raw.get("avatarUrl")) or clean_text(raw.get("avatar"))
    # Avatars of users without an upload are paths on huggingface.co; "//host/x" names another site.
    on_hf = avatar is not None and avatar.startswith("/") and not avatar.startswith("//")
    return AccountRecord(
        name=name,
        fullname=clean_text(raw.get("fullname")),
        avatar_url=clean_url(f"{_HF_ORIGIN}{avatar}" if on_hf else avatar),
    )


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = within_calendar(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: object) -> date | None:
    moment = _timestamp(value)
    return moment.date() if moment else None


def _count(value: object, what: str) -> int | None:
    try:
        return count(value, what)
    except ValueError as exc:
        raise _UnreadableItem(str(exc)) from None


def _json_kind(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
