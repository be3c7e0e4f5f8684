"""The kinds of expected failure, by what went wrong rather than how it is worded: each domain's errors subclass
one of these, and the web maps a kind to its HTTP status once (``web/errors.py``), so no route reads a message to
choose a status (as warehouse's ``accounts/interfaces.py`` types its token errors).

Every message says what to do next, in the reader's words; the kind says only what the status is.
"""

from __future__ import annotations


class Refused(Exception):
    """An expected failure with a message for the person who asked."""


class Invalid(Refused, ValueError):
    """What was sent cannot be used as it is (422 in the API; a form shows it beside its fields)."""


class NotFound(Refused, LookupError):
    """What was named does not exist, or is not the asker's to see (404)."""


class Conflict(Refused):
    """It exists already, or something newer was done first (409)."""


class Forbidden(Refused):
    """The asker may not do this (403)."""


class Expired(Refused):
    """A link or token that worked once works no more (410)."""


class Unavailable(Refused):
    """This server cannot do it right now, or not at all as configured (503)."""
