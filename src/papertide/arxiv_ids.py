"""arXiv identifiers: parse anything a person or a feed might give, return the canonical id and version.

Pure functions used by every source, the submit form, the search box and the URL router, so that
``2503.24322v2``, ``arXiv:2503.24322``, ``https://arxiv.org/pdf/2503.24322v2.pdf`` and
``oai:arXiv.org:2503.24322`` all land on the same paper. Old-style ids (``hep-th/9901001``,
``math.GT/0309136``) keep their archive, lower-cased; the subject class is dropped, as arXiv itself does
for the canonical form (``math/0309136``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# re.ASCII: without it \d also matches other scripts' digits, so "２５０３.２４３２２" would pass as an id.
_NEW_STYLE = re.compile(r"^(?P<yymm>\d{4})\.(?P<num>\d{4,5})(?:v(?P<version>[1-9]\d{0,3}))?$", re.ASCII)
_OLD_STYLE = re.compile(
    r"^(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[a-z]{2})?/(?P<num>\d{7})(?:v(?P<version>[1-9]\d{0,3}))?$",
    re.ASCII,
)
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format|papers)/", re.IGNORECASE)
_HF_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/papers/", re.IGNORECASE)
_MAX_INPUT = 200


class InvalidArxivId(ValueError):
    """Raised with a message that says what a valid id looks like."""


@dataclass(frozen=True, slots=True)
class ArxivId:
    id: str
    version: int | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse an id or URL; raise :class:`InvalidArxivId` with an actionable message otherwise."""
    # Bare new-style ids are what bulk imports send by the million; they need no unwrapping.
    new = _NEW_STYLE.match(text)
    candidate = text if new else _strip_wrapping(text)
    new = new or _NEW_STYLE.match(candidate)
    if new:
        _check_new_style_month(new.group("yymm"), new.group("num"), text)
        return ArxivId(f"{new.group('yymm')}.{new.group('num')}", _version(new.group("version")))
    old = _OLD_STYLE.match(candidate.lower())
    if old:
        _check_month(old.group("num")[2:4], text)
        return ArxivId(f"{old.group('archive')}/{old.group('num')}", _version(old.group("version")))
    raise InvalidArxivId(
        f"{_shorten(text)!r} is not an arXiv id: expected something like 2503.24322, 2503.24322v2, "
        "hep-th/9901001 or an arxiv.org/abs/… URL"
    )


def try_parse_arxiv_id(text: str) -> ArxivId | None:
    try:
        return parse_arxiv_id(text)
    except InvalidArxivId:
        return None


def _strip_wrapping(text: str) -> str:
    if len(text) > _MAX_INPUT:
        raise InvalidArxivId(f"an arXiv id is at most {_MAX_INPUT} characters; got {len(text)}")
    candidate = text.strip()
    candidate = _URL_PREFIX.sub("", candidate)
    candidate = _HF_PREFIX.sub("", candidate)
    candidate = candidate.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if candidate.lower().endswith(".pdf"):
        candidate = candidate[:-4]
    for prefix in ("oai:arxiv.org:", "arxiv:"):
        if candidate.lower().startswith(prefix):
            candidate = candidate[len(prefix) :]
    return candidate.strip()


def _check_month(month: str, original: str) -> None:
    if not 1 <= int(month) <= 12:
        raise InvalidArxivId(f"{_shorten(original)!r} is not an arXiv id: month {month} does not exist")


def _check_new_style_month(yymm: str, num: str, original: str) -> None:
    _check_month(yymm[2:], original)
    # Five-digit sequence numbers started in January 2015 (1501.00001).
    if len(num) == 5 and int(yymm) < 1501:
        raise InvalidArxivId(f"{_shorten(original)!r} is not an arXiv id: before 1501 numbers have 4 digits")
    if len(num) == 4 and int(yymm) >= 1501:
        raise InvalidArxivId(f"{_shorten(original)!r} is not an arXiv id: since 1501 numbers have 5 digits")


def _version(text: str | None) -> int | None:
    return int(text) if text else None


def _shorten(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


def arxiv_doi(arxiv_id: str) -> str:
    """The DOI arXiv registers (with DataCite) for every paper: ``10.48550/arXiv.2503.24322``."""
    return f"10.48550/arXiv.{arxiv_id}"


_ARXIV_TZ = ZoneInfo("America/New_York")
_CUTOFF = time(14, 0)


def estimate_announcement(submitted: datetime) -> date:
    """The listing date arXiv gives a submission: same weekday if before 14:00 US Eastern, else the next one.

    arXiv announces Sunday to Thursday evenings, so a paper submitted on Friday after the cut-off, or over the
    weekend, is listed on Monday. Holidays are not modelled; sources that know the real date say so.
    """
    local = submitted.astimezone(_ARXIV_TZ) if submitted.tzinfo else submitted.replace(tzinfo=UTC)
    local = local.astimezone(_ARXIV_TZ)
    day = local.date()
    if local.time() >= _CUTOFF:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def id_month(arxiv_id: str) -> date | None:
    """The first day of the month an id names: ``2503.24322`` → 2025-03-01, ``hep-th/9901001`` → 1999-01-01
    (old-style years 91-99 are the 1990s); None for anything else. arXiv numbers papers in the month it receives
    them, so this is their first version's month."""
    new, old = _NEW_STYLE.match(arxiv_id), _OLD_STYLE.match(arxiv_id)
    yymm = new.group("yymm") if new else old.group("num")[:4] if old else None
    if yymm is None or not 1 <= int(yymm[2:]) <= 12:
        return None
    year = int(yymm[:2])
    return date((1900 if year >= 91 else 2000) + year, int(yymm[2:]), 1)


def effective_date(
    arxiv_id: str, announced_on: date | None, submitted_at: datetime | None, featured_on: date | None
) -> date | None:
    """The one date a paper goes by in every sort, filter, alert, feed and citation year (docs/search.md): its
    arXiv listing day, else its first version's day, else the day it was featured on a daily list, else the month
    its id names. A paper known only from a Daily Papers list has no listing date but is dated all the same."""
    if announced_on is not None:
        return announced_on
    if submitted_at is not None:
        return submitted_at.astimezone(UTC).date()
    return featured_on or id_month(arxiv_id)
