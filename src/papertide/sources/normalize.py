"""Clean-up every source shares: text XML can carry, whitespace, http(s) links, TeX accents in names, listing
dates, and safe XML parsing.

arXiv text arrives with hard line breaks (Atom, OAI and the snapshot all keep the submitter's wrapping),
names arrive with TeX escapes (``Bal\\'azs``), and two sources store a listing date as a midnight-UTC
timestamp; doing this in one place keeps every source's records comparable, so the upsert sees no spurious
changes. JSON sources (the snapshot, Daily Papers files) can hold any code point, so every text a source keeps
goes through :func:`clean_text` and every link through :func:`clean_url` before it reaches the database. Every
number a source keeps goes through :func:`count` (a database integer holds it) and every account name through
:func:`account_name` (the rule local accounts follow), where it enters: one bad item costs that item, never the
batch it came in.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from lxml import etree

from papertide.arxiv_ids import estimate_announcement
from papertide.people import is_account_name, is_organization_name
from papertide.text import http_url, xml_safe

# The largest count a row stores: PostgreSQL's ``integer`` (SQLite's would take more, and then PostgreSQL not).
MAX_COUNT = 2**31 - 1

# Accents written with a symbol: \'a, \'{a}, {\'a}; the letter may be a dotless \i or \j.
_SYMBOL_ACCENT = re.compile(r"\\([`'^\"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij]|[A-Za-z]))")
# Accents written with a letter need a brace or a space before their argument: \c{c}, \v s, \H{o}.
_LETTER_ACCENT = re.compile(r"\\([cvHukrdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))")
_SPECIAL_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])\s*")
_C0 = bytes(range(0x20))
_Day = TypeVar("_Day", date, datetime)
_COMBINING = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
    "v": "\u030c",
    "H": "\u030b",
    "u": "\u0306",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
_SPECIAL = {
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}


def clean_text(value: object) -> str | None:
    """A string on one line with single spaces, trimmed, that XML can carry; ``None`` for a missing, non-string or
    blank value."""
    if not isinstance(value, str):
        return None
    # Bulk imports spend most of their time here. Most values are one line of printable ASCII; every line break,
    # tab and refused control is a C0 byte, so one bytes.translate rules them all out, several times cheaper
    # than splitting an abstract into words and joining them again.
    if value.isascii() and "  " not in value and len(value.encode().translate(None, _C0)) == len(value):
        return value.strip(" ") or None
    # Controls go before the split, so "a \x01 b" ends as "a b", not "a  b".
    return " ".join(xml_safe(value).split()) or None


def clean_url(value: object) -> str | None:
    """An absolute http(s) link, or ``None``: a ``javascript:`` or ``data:`` link is as good as no link."""
    return http_url(value) if isinstance(value, str) else None


def count(value: object, what: str) -> int | None:
    """A count from outside: ``None`` when it is no integer (a missing field; a boolean is a broken export, not 1
    or 0), the integer when a row can hold it, else ``ValueError`` saying which count is out of range."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if not 0 <= value <= MAX_COUNT:
        shown = str(value) if len(str(value)) <= 12 else f"a {len(str(value))}-digit number"
        raise ValueError(f"{what} {shown} is no count (0 to {MAX_COUNT:,})")
    return value


def account_name(value: object, *, organization: bool = False) -> str | None:
    """A user (or organization) name from outside when a local account (or organization) could have it: it becomes
    a path segment of links (``/users/NAME``). Else ``None``: ``../../admin`` names nobody here."""
    name = clean_text(value)
    if name is None:
        return None
    return name if (is_organization_name if organization else is_account_name)(name) else None


def tex_to_unicode(name: str) -> str:
    """Turn the common LaTeX accent escapes of author names into Unicode (``Bal\\'azs`` → ``Balázs``)."""
    if "\\" not in name:
        return name
    text = _SYMBOL_ACCENT.sub(_accented, name)
    text = _LETTER_ACCENT.sub(_accented, text)
    text = _SPECIAL_LETTER.sub(lambda match: _SPECIAL[match.group(1)], text)
    # What braces remain only grouped letters ({\o}, {Bal\'azs}); in a name they carry no meaning.
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def _accented(match: re.Match[str]) -> str:
    letter = match.group(2) or match.group(3)
    base = letter[1] if letter.startswith("\\") else letter
    return base + _COMBINING[match.group(1)]


def within_calendar(moment: _Day) -> _Day:
    """``moment`` itself, or ``ValueError`` when it lies in year 1 or 9999, which sources read as unreadable.

    Moving a timestamp to New York and past a weekend for its listing date shifts it by days; a year clear of
    each end of Python's calendar keeps that from overflowing, so a broken export's ``9999-12-31T23:00-05:00``
    costs one record, not the whole import.
    """
    if not 1 < moment.year < 9999:
        raise ValueError(f"{moment} is too close to the end of the calendar")
    return moment


def is_date_only(moment: datetime) -> bool:
    """Whether a timestamp is a bare date: sources that know only the day store it at exactly midnight UTC."""
    utc = moment.astimezone(UTC)
    return (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0)


def listing_date(moment: datetime) -> date:
    """The arXiv listing date: a bare date is the listing date itself, a submission time gets the estimate."""
    return moment.astimezone(UTC).date() if is_date_only(moment) else estimate_announcement(moment)


def parse_xml(content: bytes) -> Any:
    """Parse a response body without resolving entities or fetching DTDs; raises ``etree.XMLSyntaxError``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(content, parser)
