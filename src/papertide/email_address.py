"""What papertide accepts as an email address, and its one normal form, for accounts and subscriptions alike.

Addresses are compared case-insensitively everywhere (``ALICE@example.org`` is ``alice@example.org``), so the
normal form is lower case. The pattern refuses what would break a mail header (spaces, quotes, angle brackets,
commas) and wants a dotted domain with a top-level part of letters.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class InvalidEmail(ValueError):
    """Not an address papertide can send to; the message names it."""


def normalise_email(address: str) -> str:
    address = address.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise InvalidEmail(f"{address[:80]!r} does not look like an email address (name@example.org).")
    return address.lower()
