"""Digests: what each subscriber gets for a period, rendered as mail, delivered exactly once per period.

A run (``papertide digest send``, or a queued ``digest`` job) takes a lease on its period so two runs never
overlap, then walks the active subscriptions of the cadence in id order. Per subscriber: compose (sections
shared between subscribers are computed once per run), claim a ledger row (unique per subscription and period),
send, mark the row ``sent``. A run killed between the claim and the mark leaves one row ``sending`` whose mail may
or may not have been accepted: the next run marks it ``in_doubt`` and does not resend it (nobody ever gets a
second copy; at most one address per crash may miss that period, and the report says which). Every other
subscriber is either ``sent`` or unclaimed, and the next run sends the unclaimed ones. Transient SMTP failures are
retried with exponential backoff, then left as ``retry`` for the next run; permanent ones (5xx) are recorded and
count toward suspending the address. Saved searches add sections of papers new since the last digest
(``services/alerts.py``), recorded with the claim; an account's follows (authors, searches) join the sections of
a subscription linked to it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database, insert_ignoring_conflicts
from papertide.mail import Mailer, OutgoingMail, PermanentMailError, TransientMailError, new_message_id
from papertide.models import DigestDelivery, Paper, Subscription, utcnow
from papertide.queries.follows import query_follows
from papertide.queries.listings import query_announced, query_featured
from papertide.queries.papers import PaperRow
from papertide.search.engine import SearchEngine
from papertide.search.personal import personal_picks
from papertide.search.semantic import Semantic
from papertide.services.alerts import Carried, new_for_search, record_carried, search_candidates
from papertide.services.compose import render_mail
from papertide.services.leases import acquire_lease, release_lease
from papertide.services.subscriptions import Cadence, Preferences, Tokens, record_failure

BATCH = 500
Status = Literal["sent", "skipped", "failed", "retry"]


class DigestBusy(RuntimeError):
    """Another run holds this period's lease."""


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    cadence: Cadence
    start: date
    end: date

    @property
    def key(self) -> str:
        if self.cadence == "daily":
            return f"daily:{self.start.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"weekly:{year}-W{week:02d}"

    @property
    def label(self) -> str:
        if self.cadence == "daily":
            return self.start.strftime("%A, %B %-d, %Y")
        return f"the week of {self.start:%B %-d} – {self.end:%B %-d, %Y}"


def digest_period(cadence: Cadence, today: date) -> DigestPeriod:
    """Daily: the last weekday before ``today`` (arXiv lists on weekdays). Weekly: the ISO week before this one."""
    if cadence == "daily":
        day = today - timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return DigestPeriod("daily", day, day)
    start = today - timedelta(days=today.weekday() + 7)
    return DigestPeriod("weekly", start, start + timedelta(days=6))


@dataclass(slots=True)
class Section:
    title: str
    papers: list[PaperRow]
    reasons: dict[int, str] = field(default_factory=dict)  # paper id -> "because you upvoted …"
    query: str | None = None  # a saved search's section: its query, shown as code
    more: int = 0  # new papers past the section's size (a saved search's section links to the rest)
    carried: Carried | None = None  # what a saved search's section carries, recorded with the claim


class Composer:
    """The sections of each subscriber's digest for one period; shared sections are computed once."""

    def __init__(
        self,
        database: Database,
        period: DigestPeriod,
        per_section: int,
        semantic: Semantic | None = None,
        engine: SearchEngine | None = None,
    ) -> None:
        self.database = database
        self.period = period
        self.per_section = per_section
        self.semantic = semantic
        self.engine = engine
        self._shared: dict[tuple[str, str], list[PaperRow]] = {}
        self._searches: dict[str, list[PaperRow]] = {}  # a saved search's candidates, shared by its subscribers

    def sections(self, session: Session, subscription: Subscription) -> list[Section]:
        wanted = Preferences.from_json(subscription.preferences)
        follows = query_follows(session, subscription.user_id) if subscription.user_id is not None else []
        sections: list[Section] = []
        if wanted.trending:
            sections.append(Section("Top papers", self._shared_rows(session, "trending", "")))
        for category in wanted.categories:
            sections.append(Section(f"New in {category}", self._shared_rows(session, "category", category)))
        for organization in wanted.organizations:
            sections.append(Section(f"From {organization}", self._shared_rows(session, "organization", organization)))
        for author in wanted.authors:
            sections.append(Section(f"By {author}", self._shared_rows(session, "author", author)))
        for followed in (f for f in follows if f.kind == "author"):
            sections.append(Section(f"By {followed.label}", self._shared_rows(session, "author_key", followed.key)))
        searches = dict.fromkeys([*wanted.searches, *(f.key for f in follows if f.kind == "search")])
        sections.extend(self._saved_search(session, subscription.id, query) for query in searches)
        if wanted.personal and subscription.user_id is not None and self.semantic is not None:
            sections.append(self._personal(subscription.user_id))
        return [section for section in sections if section.papers]

    def _saved_search(self, session: Session, subscription_id: int, query: str) -> Section:
        if self.engine is None:
            return Section(query, [])
        if query not in self._searches:
            self._searches[query] = search_candidates(session, self.engine, query, self.period.start)
        candidates = self._searches[query]
        found = new_for_search(session, subscription_id, query, self.period.key, candidates, self.per_section)
        title = "New since your last digest for"
        return Section(title, found.shown, query=query, more=found.more, carried=found.carried)

    def _shared_rows(self, session: Session, kind: str, value: str) -> list[PaperRow]:
        key = (kind, value)
        if key not in self._shared:
            start, end, n = self.period.start, self.period.end, self.per_section
            if kind == "trending":
                rows = query_featured(session, start=start, end=end, limit=n)
            elif kind == "organization":
                rows = query_featured(session, start=start, end=end, organization=value, limit=n)
            elif kind == "category":
                rows = query_announced(session, start=start, end=end, category=value, limit=n)
            elif kind == "author_key":
                rows = query_announced(session, start=start, end=end, author_key=value, limit=n)
            else:
                rows = query_announced(session, start=start, end=end, author=value, limit=n)
            self._shared[key] = rows
        return self._shared[key]

    def _personal(self, user_id: int) -> Section:
        assert self.semantic is not None
        in_period = Paper.announced_on.between(self.period.start, self.period.end)
        found = personal_picks(self.database, self.semantic, user_id, self.per_section, in_period)
        reasons = {e.paper.id: e.explanation for e in found.picks}
        return Section("Picked for you", [e.paper for e in found.picks], reasons)


@dataclass(slots=True)
class DigestReport:
    period: str
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0
    suspended: int = 0
    in_doubt: list[int] = field(default_factory=list)  # subscription ids

    def summary(self) -> str:
        return (
            f"{self.period}: {self.sent} sent, {self.skipped} with nothing new, {self.failed} failed permanently "
            f"({self.suspended} suspended), {self.retry} left to retry"
            + (f"; in doubt after a crash, not resent: subscriptions {self.in_doubt}" if self.in_doubt else "")
        )


def send_digests(
    database: Database,
    settings: Settings,
    cadence: Cadence,
    today: date,
    semantic: Semantic | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
) -> DigestReport:
    period = digest_period(cadence, today)
    holder = f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}"
    lease = f"digest:{period.key}"
    if not acquire_lease(database, lease, holder, settings.digest_lease_seconds):
        raise DigestBusy(f"another run is sending {period.key}; try again in {settings.digest_lease_seconds:.0f} s")
    report = DigestReport(period.key)
    engine = SearchEngine.of(settings)  # keyword only: a saved search mails papers that match, not related ones
    composer = Composer(database, period, settings.digest_papers_per_section, semantic, engine)
    tokens = Tokens.of(settings)
    try:
        with Mailer(settings) as mailer:
            for done, subscription in enumerate(_due(database, period, report), start=1):
                _deliver(database, settings, mailer, composer, tokens, period, subscription, report, sleep)
                if done % 50 == 0:
                    acquire_lease(database, lease, holder, settings.digest_lease_seconds)
                if progress:
                    progress(done)
    finally:
        release_lease(database, lease, holder)
    return report


def _due(database: Database, period: DigestPeriod, report: DigestReport) -> Iterator[Subscription]:
    """Active subscriptions of the cadence without a delivery for the period (or with one to retry), in batches."""
    after = 0
    while True:
        with database.read_session() as session:
            rows = session.execute(
                select(Subscription, DigestDelivery.status)
                .outerjoin(
                    DigestDelivery,
                    (DigestDelivery.subscription_id == Subscription.id) & (DigestDelivery.period == period.key),
                )
                .where(
                    Subscription.id > after,
                    Subscription.status == "active",
                    Subscription.cadence == period.cadence,
                )
                .order_by(Subscription.id)
                .limit(BATCH)
            ).all()
        if not rows:
            return
        doubtful = [subscription.id for subscription, status in rows if status == "sending"]
        if doubtful:  # claimed by a run that died (this run holds the lease): the mail may have left
            _mark_in_doubt(database, period, doubtful)
            report.in_doubt.extend(doubtful)
        yield from (subscription for subscription, status in rows if status in (None, "retry"))
        after = rows[-1][0].id


def _mark_in_doubt(database: Database, period: DigestPeriod, subscription_ids: list[int]) -> None:
    with database.write_session() as session:
        session.execute(
            update(DigestDelivery)
            .where(DigestDelivery.period == period.key, DigestDelivery.subscription_id.in_(subscription_ids))
            .values(status="in_doubt", error="claimed by a run that stopped before recording the outcome")
        )


def _deliver(
    database: Database,
    settings: Settings,
    mailer: Mailer,
    composer: Composer,
    tokens: Tokens,
    period: DigestPeriod,
    subscription: Subscription,
    report: DigestReport,
    sleep: Callable[[float], None],
) -> None:
    subscription_id = subscription.id
    with database.read_session() as session:
        sections = composer.sections(session, subscription)
        mail = _mail(settings, tokens, period, subscription, sections) if sections else None
    message_id = new_message_id(settings, f"digest.{period.key}.{subscription_id}")
    with database.write_session() as session:
        claimed = insert_ignoring_conflicts(
            session,
            DigestDelivery,
            {"subscription_id": subscription_id, "period": period.key, "message_id": message_id, "status": "sending"},
        )
        if not claimed:  # a row left to retry by an earlier run: take it over
            session.execute(
                update(DigestDelivery)
                .where(DigestDelivery.subscription_id == subscription_id, DigestDelivery.period == period.key)
                .values(status="sending", claimed_at=utcnow())
            )
        record_carried(session, subscription_id, period.key, [s.carried for s in sections if s.carried])
    if mail is None:
        _finish(database, subscription_id, period, "skipped", 0, None)
        report.skipped += 1
        return
    status, error, attempts = _send_with_retries(mailer, mail, settings, sleep)
    _finish(database, subscription_id, period, status, attempts, error, papers=sum(len(s.papers) for s in sections))
    if status == "sent":
        report.sent += 1
    elif status == "retry":
        report.retry += 1
    else:
        report.failed += 1
        with database.write_session() as session:
            if record_failure(session.get_one(Subscription, subscription_id), settings.digest_max_failures):
                report.suspended += 1


def _send_with_retries(
    mailer: Mailer, mail: OutgoingMail, settings: Settings, sleep: Callable[[float], None]
) -> tuple[Status, str | None, int]:
    for attempt in range(settings.digest_retries + 1):
        try:
            mailer.send(mail)
            return "sent", None, attempt + 1
        except PermanentMailError as error:
            return "failed", str(error), attempt + 1
        except TransientMailError as error:
            if attempt == settings.digest_retries:
                return "retry", str(error), attempt + 1
            sleep(settings.digest_retry_backoff * 2**attempt)
    raise AssertionError("unreachable")


def _finish(
    database: Database,
    subscription_id: int,
    period: DigestPeriod,
    status: Status,
    attempts: int,
    error: str | None,
    papers: int = 0,
) -> None:
    with database.write_session() as session:
        session.execute(
            update(DigestDelivery)
            .where(DigestDelivery.subscription_id == subscription_id, DigestDelivery.period == period.key)
            .values(
                status=status,
                attempts=DigestDelivery.attempts + attempts,
                error=error,
                papers=papers,
                finished_at=utcnow(),
            )
        )


def _mail(
    settings: Settings, tokens: Tokens, period: DigestPeriod, subscription: Subscription, sections: list[Section]
) -> OutgoingMail:
    token = tokens.manage_token(subscription)
    manage_url = f"{settings.base_url}/subscription?token={token}"
    unsubscribe_url = f"{settings.base_url}/unsubscribe?token={token}"
    count = sum(len(section.papers) for section in sections)
    subject = f"papertide {period.cadence}: {count} paper{'s' if count != 1 else ''} for {period.label}"
    context = {
        "base_url": settings.base_url,
        "label": period.label,
        "sections": sections,
        "manage_url": manage_url,
        "unsubscribe_url": unsubscribe_url,
    }
    text, html = render_mail("digest", context)
    return OutgoingMail(
        to=subscription.email,
        subject=subject,
        text=text,
        html=html,
        message_id=new_message_id(settings, f"digest.{period.key}.{subscription.id}"),
        unsubscribe_url=unsubscribe_url,
    )
