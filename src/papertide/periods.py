"""Listing periods: a day (``2024-01-03``), an ISO week (``2024-W01``) or a month (``2024-01``).

Pure parsing shared by the pages, the feeds and the hf.co-compatible API, so ``/papers/week/2024-W01`` and
``/api/daily_papers?week=2024-W01`` always mean the same seven days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class InvalidPeriod(ValueError):
    """The text is not a day, week or month; the message shows the expected form."""


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
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            return f"Week {self.key[-2:]} of {self.key[:4]} ({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")

    def previous(self) -> Period:
        return _shift(self, -1)

    def next(self) -> Period:
        return _shift(self, 1)


def day_period(day: date) -> Period:
    return Period("day", day, day)


def week_period(day: date) -> Period:
    start = day - timedelta(days=day.weekday())
    return Period("week", start, start + timedelta(days=6))


def month_period(day: date) -> Period:
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period("month", start, following - timedelta(days=1))


def parse_period(kind: PeriodKind, text: str) -> Period:
    try:
        if kind == "day":
            return day_period(date.fromisoformat(_exact(text, r"\d{4}-\d{2}-\d{2}")))
        if kind == "week":
            return _parse_week(text)
        return _parse_month(text)
    except ValueError as error:
        expected = {"day": "YYYY-MM-DD", "week": "YYYY-Www", "month": "YYYY-MM"}[kind]
        raise InvalidPeriod(f"{text[:40]!r} is not a {kind}: expected {expected}") from error


def _exact(text: str, pattern: str) -> str:
    if not re.fullmatch(pattern, text):
        raise ValueError(text)
    return text


def _parse_week(text: str) -> Period:
    match = _WEEK.match(text)
    if not match:
        raise ValueError(text)
    return week_period(date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1))


def _parse_month(text: str) -> Period:
    match = _MONTH.match(text)
    if not match:
        raise ValueError(text)
    return month_period(date(int(match.group(1)), int(match.group(2)), 1))


def _shift(period: Period, steps: int) -> Period:
    if period.kind == "day":
        return day_period(period.start + timedelta(days=steps))
    if period.kind == "week":
        return week_period(period.start + timedelta(weeks=steps))
    anchor = period.start - timedelta(days=1) if steps < 0 else period.end + timedelta(days=1)
    return month_period(anchor)
