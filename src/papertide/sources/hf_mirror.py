"""hf.co's Daily Papers API (``/api/daily_papers?date=D``), one day per request, for the mirror.

Requests go through :class:`PoliteClient` (one at a time, spaced, retried with backoff, ``Retry-After`` honoured)
and are conditional: the validators hf.co sent with a day (``ETag``, ``Last-Modified``) come back as
``If-None-Match``/``If-Modified-Since``, and a ``304`` says the day is as it was. Answers are parsed by
``sources/hf_daily.py``, the same reader as an imported file, so a mirrored day and a file of it agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from papertide.records import FeaturedRecord, RejectedLine
from papertide.sources.hf_daily import DailyFileError, load_json, parse_daily
from papertide.sources.http import PoliteClient

# hf.co answers 50 items unless asked for more; the busiest recorded day has 73.
_PAGE_LIMIT = 100


class MirrorDayError(Exception):
    """hf.co answered a day with something that is not a Daily Papers list (an error status, broken JSON)."""


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional request sends back: the ``ETag`` and ``Last-Modified`` of the last answer."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class DayAnswer:
    """One day as hf.co answered it; ``not_modified`` when it answered 304 (``items`` is then empty)."""

    day: date
    not_modified: bool
    validators: Validators
    items: list[FeaturedRecord] = field(default_factory=list)
    rejected: list[RejectedLine] = field(default_factory=list)


class HfMirrorClient:
    """Fetches single days of hf.co Daily Papers through a shared :class:`PoliteClient`."""

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    def fetch_day(self, day: date, validators: Validators | None = None) -> DayAnswer:
        """The list of ``day``; raises :class:`MirrorDayError` for an answer that is not one, and
        ``SourceUnavailable`` when hf.co cannot be reached or keeps failing."""
        sent = validators or Validators()
        response = self.http.get({"date": day.isoformat(), "limit": _PAGE_LIMIT}, headers=sent.headers())
        if response.status_code == 304:
            return DayAnswer(day, not_modified=True, validators=sent)
        where = f"hf.co answered HTTP {response.status_code} for {response.url}"
        if response.status_code != 200:
            # The body is not quoted: whatever answered may be no hf.co, and its words have no place in a report.
            raise MirrorDayError(f"{where} instead of a Daily Papers list")
        try:
            data = load_json(response.content)
        except DailyFileError as exc:
            raise MirrorDayError(f"{where}, but the answer {exc}") from None
        try:
            items, rejected = parse_daily(data, day)
        except DailyFileError as exc:
            raise MirrorDayError(f"{where}, but {exc}") from None
        received = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        return DayAnswer(day, not_modified=False, validators=received, items=items, rejected=rejected)
