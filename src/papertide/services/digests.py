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

What a digest covers (its window) is the subscriber's own: a daily digest carries every day since the one its
subscriber last received, up to yesterday, weekends included (Monday's carries Saturday's and Sunday's picks), at
most a week; a subscriber's first carries the last day with featured papers. A weekly digest carries the ISO week
before. Every section the subscriber chose is there, or says in one line why it is empty; a digest with nothing
new at all is not sent, and the next says how long it has been.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database, insert_ignoring_conflicts
from papertide.mail import Mailer, OutgoingMail, PermanentMailError, TransientMailError, new_message_id
from papertide.models import DigestDelivery, FeaturedPaper, Paper, Subscription, utcnow
from papertide.queries.follows import FollowRow, query_follows, query_newest_in_topics
from papertide.queries.listings import query_announced, query_featured, query_latest_featured_day
from papertide.queries.papers import PaperRow
from papertide.queries.topics import TopicRow
from papertide.search.engine import SearchEngine
from papertide.search.personal import personal_picks
from papertide.search.semantic import Semantic
from papertide.services.activity import lab_digest_picks
from papertide.services.alerts import Carried, new_for_search, record_carried, search_candidates
from papertide.services.compose import render_mail
from papertide.services.emergence import accelerating_searches_section, emerging_topics_section
from papertide.services.follows import live_topics
from papertide.services.leases import acquire_lease, release_lease
from papertide.services.reading_group import reading_group_reminders
from papertide.services.subscriptions import Cadence, Preferences, Tokens, record_failure

BATCH = 500
Status = Literal["sent", "skipped", "failed", "retry"]


class DigestBusy(RuntimeError):
    """Another run holds this period's lease."""


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """A run's period: the ledger's key (one delivery per subscription and run) and, for a weekly digest, its
    window. A daily run is named by its last day, yesterday; each subscriber's window ends there."""

    cadence: Cadence
    start: date
    end: date

    @property
    def key(self) -> str:
        if self.cadence == "daily":
            return f"daily:{self.end.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"weekly:{year}-W{week:02d}"

    @property
    def label(self) -> str:
        if self.cadence == "daily":
            return _day_label(self.end)
        return f"the week of {self.start:%B %-d} – {self.end:%B %-d, %Y}"


def digest_period(cadence: Cadence, today: date) -> DigestPeriod:
    """Daily: the run of ``today`` covers up to yesterday. Weekly: the ISO week before this one."""
    if cadence == "daily":
        yesterday = today - timedelta(days=1)
        return DigestPeriod("daily", yesterday, yesterday)
    start = today - timedelta(days=today.weekday() + 7)
    return DigestPeriod("weekly", start, start + timedelta(days=6))


@dataclass(frozen=True, slots=True)
class Window:
    """The days one subscriber's digest covers, and when they last received one (None: never)."""

    start: date
    end: date
    last_received: date | None

    @property
    def label(self) -> str:
        """The days in a title: "Friday, August 21, 2026" or "Friday, August 21 – Sunday, August 23, 2026"."""
        if self.start == self.end:
            return _day_label(self.end)
        return f"{self.start:%A, %B %-d} – {_day_label(self.end)}"

    @property
    def phrase(self) -> str:
        """The window in words, for a section that is empty ("on Friday, August 21", "this week")."""
        if self.start == self.end:
            return f"on {_day_label(self.start)}"
        if (self.end - self.start).days == 6 and self.start.weekday() == 0:
            return "this week"
        return f"from {_day_label(self.start)} to {_day_label(self.end)}"

    def intro(self, cadence: Cadence) -> str | None:
        """One line that says what the digest carries, when that is not simply the one day or week it is for."""
        if cadence == "weekly":
            return None
        if self.last_received is None:
            return f"Your first digest: the papers of {_day_label(self.start)}."
        gap = (self.end - self.last_received).days
        if gap <= 1:
            return None
        weekend = any((self.start + timedelta(days=d)).weekday() >= 5 for d in range(gap))
        return f"Every day since your last digest ({self.last_received:%A, %B %-d}): {gap} days" + (
            ", the weekend included." if weekend else "."
        )


MAX_DAILY_WINDOW = 7  # days a daily digest reaches back at most; a longer gap is a weekly's worth


def _day_label(day: date) -> str:
    return day.strftime("%A, %B %-d, %Y")


def subscriber_window(session: Session, period: DigestPeriod, subscription_id: int) -> Window:
    """The days ``subscription_id``'s digest of ``period`` covers: weekly, the period; daily, every day after the
    last one it received up to the run's day (at most a week), or the last day with featured papers for a first."""
    if period.cadence == "weekly":
        return Window(period.start, period.end, None)
    last = session.execute(
        select(func.max(DigestDelivery.period)).where(
            DigestDelivery.subscription_id == subscription_id,
            DigestDelivery.status == "sent",
            DigestDelivery.period.like("daily:%"),
            DigestDelivery.period < period.key,
        )
    ).scalar()
    if last is None:
        newest = query_latest_featured_day(session, on_or_before=period.end) or period.end
        return Window(newest, newest, None)
    received = date.fromisoformat(last.removeprefix("daily:"))
    start = max(received + timedelta(days=1), period.end - timedelta(days=MAX_DAILY_WINDOW - 1))
    return Window(min(start, period.end), period.end, received)


@dataclass(slots=True)
class Section:
    title: str
    papers: list[PaperRow]
    reasons: dict[int, str] = field(default_factory=dict)  # paper id -> "because you upvoted …"
    query: str | None = None  # a saved search's section: its query, shown as code
    more: int = 0  # new papers past the section's size (a saved search's section links to the rest)
    carried: Carried | None = None  # what a saved search's section carries, recorded with the claim
    empty: str = ""  # why there is nothing, said in the digest when ``papers`` is empty


class Composer:
    """The sections of each subscriber's digest; sections shared by subscribers with the same window are
    computed once per run."""

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
        self._shared: dict[tuple[str, str, date, date], list[PaperRow]] = {}
        self._searches: dict[tuple[str, date], list[PaperRow]] = {}  # a saved search's candidates, by window

    def sections(self, session: Session, subscription: Subscription, window: Window) -> list[Section]:
        """Every section the subscriber chose, in a fixed order; an empty one says why."""
        wanted = Preferences.from_json(subscription.preferences)
        follows = query_follows(session, subscription.user_id) if subscription.user_id is not None else []
        within = window.phrase
        shared = [
            *([("Top papers", "trending", "", f"No papers were featured {within}.")] if wanted.trending else []),
            *((f"New in {c}", "category", c, f"No new papers in {c} {within}.") for c in wanted.categories),
            *((f"From {o}", "organization", o, f"Nothing from {o} {within}.") for o in wanted.organizations),
            *((f"By {a}", "author", a, f"No new papers by {a} {within}.") for a in wanted.authors),
            *(
                (f"By {f.label}", "author_key", f.key, f"No new papers by {f.label} {within}.")
                for f in follows
                if f.kind == "author"
            ),
        ]
        sections = [
            Section(title, self._shared_rows(session, kind, value, window), empty=empty)
            for title, kind, value, empty in shared
        ]
        topics = [(f, live_topics(session, f.key)) for f in follows if f.kind == "topic"]
        sections.extend(self._topic(session, followed, now, window) for followed, now in topics)
        searches = dict.fromkeys([*wanted.searches, *(f.key for f in follows if f.kind == "search")])
        sections.extend(self._saved_search(session, subscription.id, query, window) for query in searches)
        followed_slugs = [topic.slug for _, now in topics for topic in now]
        sections.extend(self._field(session, list(searches), followed_slugs, window))
        if wanted.personal:
            sections.append(self._personal(subscription.user_id, window))
        sections.extend(self._lab(session, subscription, window))
        return sections

    def _topic(self, session: Session, followed: FollowRow, now: list[TopicRow], window: Window) -> Section:
        """A followed topic's papers of the window, newest first: its own while live, else those of the topics it
        merged or split into. Papers join a topic at the atlas's next build (weekly), so the newest days may wait."""
        title = f"In the topic “{followed.label}”"
        if not now:
            gone = f"“{followed.label}” faded in the atlas's newest build; unfollow it on /following."
            return Section(title, [], empty=gone)
        rows = query_newest_in_topics(session, [t.id for t in now], self.per_section, (window.start, window.end))
        empty = f"No new papers placed in “{followed.label}” {window.phrase} (papers join topics at the weekly build)."
        return Section(title, rows, empty=empty)

    def _field(self, session: Session, searches: list[str], topics: list[str], window: Window) -> list[Section]:
        """Where the field moves (services/emergence.py), shown only when something moves: topics emerging as of the
        window's end (followed ones first), and in a weekly digest the saved searches whose week jumped."""
        found = []
        if self.period.cadence == "weekly" and self.engine is not None and searches:
            rising = accelerating_searches_section(session, self.engine, window.end, searches, self.per_section)
            found.append(Section("Your saved searches are accelerating", rising.papers, rising.reasons))
        emerging = emerging_topics_section(session, window.end, topics, limit=self.per_section)
        found.append(Section("Emerging topics", emerging.papers, emerging.reasons))
        return [section for section in found if section.papers]

    def _lab(self, session: Session, subscription: Subscription, window: Window) -> list[Section]:
        """For members of organizations (nothing for anyone else, so nothing to explain when empty): their reading
        groups' coming sessions and what their labs read in the window, each paper with its reason."""
        lab = "Your lab this week" if self.period.cadence == "weekly" else "What your lab read"
        found = []
        for title, build in (("Coming up in your reading group", reading_group_reminders), (lab, lab_digest_picks)):
            picks = build(session, window, subscription, self.per_section)
            if picks:
                found.append(Section(title, [row for row, _ in picks], {row.id: why for row, why in picks}))
        return found

    def _saved_search(self, session: Session, subscription_id: int, query: str, window: Window) -> Section:
        title = "New since your last digest for"
        if self.engine is None:
            return Section(title, [], query=query, empty="Saved searches are not searched on this server.")
        if (query, window.start) not in self._searches:
            self._searches[query, window.start] = search_candidates(session, self.engine, query, window.start)
        candidates = self._searches[query, window.start]
        found = new_for_search(session, subscription_id, query, self.period.key, candidates, self.per_section)
        empty = "No new papers match it since your last digest."
        return Section(title, found.shown, query=query, more=found.more, carried=found.carried, empty=empty)

    def _shared_rows(self, session: Session, kind: str, value: str, window: Window) -> list[PaperRow]:
        key = (kind, value, window.start, window.end)
        if key not in self._shared:
            start, end, n = window.start, window.end, self.per_section
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

    def _personal(self, user_id: int | None, window: Window) -> Section:
        title = "Picked for you"
        if user_id is None:
            return Section(title, [], empty="Picks need an account: subscribe while signed in to get them.")
        if self.semantic is None:
            return Section(title, [], empty="Picks need semantic search, which is off on this server.")
        found = personal_picks(self.database, self.semantic, user_id, self.per_section, published_in(window))
        if not found.ready:
            empty = "Upvote papers or add them to a collection, and picks like them come here."
        else:
            empty = f"Nothing new {window.phrase} is close to what you upvote and collect."
        reasons = {e.paper.id: e.explanation for e in found.picks}
        return Section(title, [e.paper for e in found.picks], reasons, empty=empty)


def published_in(window: Window) -> ColumnElement[bool]:
    """A paper published in the window (its effective date: listing, else first version, else featured day, else
    the id's month), or featured then (papers Daily Papers carried before arXiv announced them)."""
    featured = select(FeaturedPaper.id).where(
        FeaturedPaper.paper_id == Paper.id, FeaturedPaper.featured_on.between(window.start, window.end)
    )
    return or_(Paper.published_on.between(window.start, window.end), featured.exists())


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
        window = subscriber_window(session, period, subscription_id)
        sections = composer.sections(session, subscription, window)
        news = any(section.papers for section in sections)
        mail = _mail(settings, tokens, period, window, subscription, sections) if news else None
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
    settings: Settings,
    tokens: Tokens,
    period: DigestPeriod,
    window: Window,
    subscription: Subscription,
    sections: list[Section],
) -> OutgoingMail:
    token = tokens.manage_token(subscription)
    manage_url = f"{settings.base_url}/subscription?token={token}"
    unsubscribe_url = f"{settings.base_url}/unsubscribe?token={token}"
    count = sum(len(section.papers) for section in sections)
    label = window.label if period.cadence == "daily" else period.label
    subject = f"papertide {period.cadence}: {count} paper{'s' if count != 1 else ''} for {label}"
    context = {
        "base_url": settings.base_url,
        "label": label,
        "intro": window.intro(period.cadence),
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
