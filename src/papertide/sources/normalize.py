"""Clean-up every source shares: whitespace, TeX accents in names, listing dates, and safe XML parsing.

arXiv text arrives with hard line breaks (Atom, OAI and the snapshot all keep the submitter's wrapping),
names arrive with TeX escapes (``Bal\\'azs``), and two sources store a listing date as a midnight-UTC
timestamp; doing this in one place keeps every source's records comparable, so the upsert sees no spurious
changes.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from papertide.arxiv_ids import estimate_announcement

# Accents written with a symbol: \'a, \'{a}, {\'a}; the letter may be a dotless \i or \j.
_SYMBOL_ACCENT = re.compile(r"\\([`'^\"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij]|[A-Za-z]))")
# Accents written with a letter need a brace or a space before their argument: \c{c}, \v s, \H{o}.
_LETTER_ACCENT = re.compile(r"\\([cvHukrdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))")
_SPECIAL_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])\s*")
# What str.split() treats as whitespace in ASCII text, other than a single space.
_ASCII_BREAKS = ("  ", "\n", "\r", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
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


def collapse_space(text: str) -> str:
    """Join hard-wrapped lines and runs of spaces into single spaces, trimmed (``str.split`` whitespace)."""
    # Bulk imports spend most of their time here: for ASCII text already on one line, a few substring scans
    # are several times cheaper than splitting an abstract into words and joining them again.
    if text.isascii() and not any(map(text.__contains__, _ASCII_BREAKS)):
        return text.strip(" ")
    return " ".join(text.split())


def clean_text(value: object) -> str | None:
    """A whitespace-normalised string, or ``None`` for a missing, non-string or blank value."""
    if not isinstance(value, str):
        return None
    return collapse_space(value) or None


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
