"""Listing periods: a day (``2024-01-03``), an ISO week (``2024-W01``) or a month (``2024-01``).

Pure parsing shared by the pages, the feeds and the hf.co-compatible API, so ``/papers/week/2024-W01`` and
``/api/daily_papers?week=2024-W01`` always mean the same seven days.

Every day of Python's calendar (years 1 to 9999) is in some period, and no period reaches past it: the last ISO
week of 9999 ends with the calendar on Friday 9999-12-31, and the first and last periods have no previous or next
one. So any text either parses into a period whose key, label and neighbours all work, or raises
:class:`InvalidPeriod`, which the routes answer with a 4xx.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]


class InvalidPeriod(ValueError):
    """The text is not a day, week or month, or names one the calendar lacks; the message says which."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            return f"Week {self.key[-2:]} of {self.key[:4]} ({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")


def day_period(day: date) -> Period:
    return Period("day", day, day)


def week_period(day: date) -> Period:
    start = day - timedelta(days=day.weekday())  # 0001-01-01 is a Monday: no week starts before the calendar
    # The last week of 9999 is cut short by the end of the calendar, a Friday.
    end = start + timedelta(days=6) if date.max - start >= timedelta(days=6) else date.max
    return Period("week", start, end)


def month_period(day: date) -> Period:
    return Period("month", day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))


def period_of(kind: PeriodKind, day: date) -> Period:
    """The day, week or month that holds ``day``."""
    return {"day": day_period, "week": week_period, "month": month_period}[kind](day)


def parse_period(kind: PeriodKind, text: str) -> Period:
    form, pattern = _FORMS[kind]
    match = pattern.fullmatch(text)
    if match is None:
        raise InvalidPeriod(f"{text[:40]!r} is not a {kind}: expected {form}")
    try:
        return _BUILDERS[kind](*map(int, match.groups()))
    except ValueError as error:  # 2026-02-30, 2026-W53, 0000-01: the right shape, but not in the calendar
        raise InvalidPeriod(f"no such {kind}: {text} (expected {form} in years 0001 to 9999)") from error


_FORMS = {
    "day": ("YYYY-MM-DD", re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)),
    "week": ("YYYY-Www", re.compile(r"(\d{4})-W(\d{2})", re.ASCII)),
    "month": ("YYYY-MM", re.compile(r"(\d{4})-(\d{2})", re.ASCII)),
}
_BUILDERS: dict[str, Callable[..., Period]] = {
    "day": lambda year, month, day: day_period(date(year, month, day)),
    # Monday of a week 53 the year does not have raises, as does one past 9999-W52 (it would fall in 10000).
    "week": lambda year, week: week_period(date.fromisocalendar(year, week, 1)),
    "month": lambda year, month: month_period(date(year, month, 1)),
}
