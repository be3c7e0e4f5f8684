"""What the lab read: an organization's members' upvotes, collection additions, comments and submissions of a
period, grouped by paper with one line saying who did what ("3 members upvoted · Ada added it to RL reading"),
most-engaged papers first. It is for the organization's members only (the routes check), and counts only members
who share their activity now (``organization_members.shares_activity``): one who turned sharing off is absent,
what they did before included.

Only what members may see anyway is counted: upvotes, comments and submissions are public; a collection addition
counts when the collection is public or the organization's own organization-only one, never a private one.

:func:`lab_digest_picks` is the digest's "your lab this week" section builder: the subscriber's organizations'
activity of the digest period, without the subscriber's own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from papertide.models import Subscription
from papertide.queries.lab import ActivityEvent, query_activity_events, query_organizations_of, query_sharing_members
from papertide.queries.papers import PaperRow, query_papers_by_ids

ACTIVITY_LIMIT = 100


class DatedPeriod(Protocol):
    """A span of days, both ends included (``periods.Period``, ``services.digests.DigestPeriod``)."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...


def period_bounds(period: DatedPeriod) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a span of days."""
    start = datetime.combine(period.start, time(0, 0), tzinfo=UTC)
    return start, datetime.combine(period.end, time(0, 0), tzinfo=UTC) + timedelta(days=1)


@dataclass(slots=True)
class PaperActivity:
    """One paper and what members did to it in the period."""

    paper: PaperRow
    line: str
    members: list[str]  # who engaged, by username
    events: int
    last_at: datetime
    upvoted_by: list[str] = field(default_factory=list)
    added_by: dict[str, list[str]] = field(default_factory=dict)  # collection title -> usernames
    commented_by: list[str] = field(default_factory=list)
    submitted_by: list[str] = field(default_factory=list)


def organization_activity(
    session: Session,
    organization_id: int,
    start: datetime,
    end: datetime,
    *,
    leave_out: int | None = None,
    limit: int = ACTIVITY_LIMIT,
) -> list[PaperActivity]:
    """The organization's activity in [start, end), by paper, most-engaged first; ``leave_out`` is a member whose
    own actions are not counted (a digest's subscriber)."""
    sharing = query_sharing_members(session, organization_id)
    sharing.pop(leave_out or -1, None)
    events = query_activity_events(session, organization_id, list(sharing), start, end)
    by_paper: dict[int, list[ActivityEvent]] = defaultdict(list)
    for event in events:
        by_paper[event.paper_id].append(event)
    # Rank on the events alone and load only the papers shown: a busy week touches thousands of papers.
    ranked = sorted(by_paper, key=lambda paper_id: _engagement(paper_id, by_paper[paper_id]))[:limit]
    rows = {row.id: row for row in query_papers_by_ids(session, ranked)}
    return [_paper_activity(rows[pid], by_paper[pid], sharing) for pid in ranked if pid in rows]


def _engagement(paper_id: int, events: list[ActivityEvent]) -> tuple[int, int, float, int]:
    """Most-engaged first: most members, then most events, then the latest, then the paper's id."""
    members = len({event.user_id for event in events})
    return (-members, -len(events), -max(event.at for event in events).timestamp(), paper_id)


def _paper_activity(row: PaperRow, events: list[ActivityEvent], names: dict[int, str]) -> PaperActivity:
    def who(kind: str, collection: str | None = None) -> list[str]:
        found = {
            names[e.user_id] for e in events if e.kind == kind and (collection is None or e.collection == collection)
        }
        return sorted(found)

    collections = sorted({e.collection for e in events if e.kind == "collect" and e.collection})
    activity = PaperActivity(
        paper=row,
        line="",
        members=sorted({names[e.user_id] for e in events}),
        events=len(events),
        last_at=max(e.at for e in events),
        upvoted_by=who("upvote"),
        added_by={title: who("collect", title) for title in collections},
        commented_by=who("comment"),
        submitted_by=who("submit"),
    )
    activity.line = _line(activity)
    return activity


def _people(names: list[str]) -> str:
    """Who did it: "Ada", "Ada and Bob", or "3 members"."""
    if len(names) > 2:
        return f"{len(names)} members"
    return " and ".join(names)


def _line(activity: PaperActivity) -> str:
    parts = []
    if activity.upvoted_by:
        parts.append(f"{_people(activity.upvoted_by)} upvoted")
    parts += [f"{_people(names)} added it to {title}" for title, names in activity.added_by.items()]
    if activity.commented_by:
        parts.append(f"{_people(activity.commented_by)} commented")
    if activity.submitted_by:
        parts.append(f"{_people(activity.submitted_by)} submitted it")
    return " · ".join(parts)


def lab_digest_picks(
    session: Session, period: DatedPeriod, subscriber: Subscription, limit: int
) -> list[tuple[PaperRow, str]]:
    """The digest section "Your lab this week": papers the subscriber's organizations engaged with in ``period``
    (their own actions left out), most-engaged first, each with its one-line reason (prefixed with the
    organization's name when the subscriber belongs to several). None for a subscription without an account."""
    if subscriber.user_id is None:
        return []
    organizations = query_organizations_of(session, subscriber.user_id)
    start, end = period_bounds(period)
    picked: list[tuple[PaperActivity, str]] = []
    for organization_id, name in organizations:
        for each in organization_activity(session, organization_id, start, end, leave_out=subscriber.user_id):
            picked.append((each, f"{name}: {each.line}" if len(organizations) > 1 else each.line))
    picked.sort(key=lambda pair: (-len(pair[0].members), -pair[0].events, -pair[0].last_at.timestamp()))
    chosen: dict[int, tuple[PaperRow, str]] = {}
    for each, reason in picked:
        chosen.setdefault(each.paper.id, (each.paper, reason))
    return list(chosen.values())[:limit]
