"""Pure helpers about people: the key an author's page is found by, ORCID iDs on user profiles, and what a user
or organization name may be (one rule for local sign-ups and for names that arrive from hf.co or a file).

An author key folds what differs between spellings of one name in arXiv metadata: case, accents (``Núñez`` and
``Nunez``), punctuation and spacing (``J.-P. Dupont`` and ``J P Dupont``). It cannot tell two people who share a
name apart, nor join ``Jean-Pierre Dupont`` to ``J.-P. Dupont``; the author page says so. Ingest (the paper
upsert), the migration that filled ``paper_authors`` and the web routes all use :func:`author_key`, so a key
made anywhere finds the same papers.
"""

from __future__ import annotations

import re

from papertide.text import without_diacritics

MAX_AUTHOR_KEY = 120
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ORCID = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")
_ORCID_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,38}$")
_ORGANIZATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,94}$")
# Pages have twins at the same path plus these suffixes (/users/alice.json), so names cannot end in them.
RESERVED_SUFFIXES = (".json", ".md", ".rss", ".atom", ".xml")


def is_account_name(name: str) -> bool:
    """Whether ``name`` may name a user: 2–39 letters, digits, '.', '_' or '-', starting with a letter or digit,
    not ending in a page format. A name is a path segment (``/users/NAME``), so nothing else may pass."""
    return bool(ACCOUNT_NAME.match(name)) and not name.lower().endswith(RESERVED_SUFFIXES)


def is_organization_name(name: str) -> bool:
    """Whether ``name`` may name an organization: 2–95 letters, digits, '.', '_' or '-', starting with either."""
    return bool(_ORGANIZATION_NAME.match(name))


class InvalidOrcid(ValueError):
    """Not an ORCID iD; the message says what is wrong."""


def author_key(name: str) -> str:
    """``"José  Núñez-García"`` → ``"jose-nunez-garcia"``; empty when no letter or digit is left."""
    folded = without_diacritics(name[: MAX_AUTHOR_KEY * 4]).casefold()
    return "-".join(_WORD.findall(folded))[:MAX_AUTHOR_KEY].strip("-")


def orcid_check_digit(digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 15 digits of an ORCID iD."""
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalise_orcid(text: str) -> str | None:
    """An ORCID iD as ``0000-0002-1825-0097`` (from that form, without hyphens or as an orcid.org URL); None for
    empty text; :class:`InvalidOrcid` for anything else, a wrong check digit included."""
    value = text.strip()
    for prefix in _ORCID_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    if not value:
        return None
    match = _ORCID.match(value.upper())
    if match is None:
        raise InvalidOrcid("An ORCID iD has 16 digits in four groups, like 0000-0002-1825-0097.")
    groups = match.groups()
    digits = "".join(groups)
    if orcid_check_digit(digits[:15]) != digits[15]:
        raise InvalidOrcid(f"{'-'.join(groups)} is not an ORCID iD: its last character (the checksum) is wrong.")
    return "-".join(groups)
