"""A reading group's sessions as an iCalendar feed (RFC 5545, written by ``icalendar``), which calendar apps
subscribe to: one VEVENT per session with a stable UID, the session's SEQUENCE (so a moved session replaces the
old event), its start in its own time zone (with the VTIMEZONE that TZID needs), its end, the place as LOCATION,
its page as URL and the papers, presenter and slides in the DESCRIPTION."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from papertide.queries.lab import SessionRow
from papertide.text import latex_plain, xml_safe

MEDIA_TYPE = "text/calendar; charset=utf-8"


def render_calendar(organization: str, sessions: list[SessionRow], base_url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//papertide//reading group//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{organization} reading group")
    host = urlsplit(base_url).hostname or "papertide"
    for meeting in sessions:
        calendar.add_component(_event(organization, meeting, base_url, host))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _event(organization: str, meeting: SessionRow, base_url: str, host: str) -> Event:
    start = meeting.starts_at.astimezone(ZoneInfo(meeting.time_zone))
    page = f"{base_url}/orgs/{organization}/reading-group/{meeting.id}"
    event = Event()
    event.add("uid", f"reading-session-{meeting.id}@{host}")
    event.add("dtstamp", meeting.updated_at)
    event.add("created", meeting.created_at)
    event.add("last-modified", meeting.updated_at)
    event.add("sequence", meeting.sequence)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=meeting.duration_minutes))
    event.add("summary", xml_safe(meeting.title or _summary(organization, meeting)))
    if meeting.place:
        event.add("location", xml_safe(meeting.place))
    event.add("url", page)
    event.add("description", _description(meeting, page, base_url))
    return event


def _summary(organization: str, meeting: SessionRow) -> str:
    first = latex_plain(meeting.papers[0].title) if meeting.papers else "reading group"
    more = f" (+{len(meeting.papers) - 1})" if len(meeting.papers) > 1 else ""
    return f"{organization} reads: {first}{more}"


def _description(meeting: SessionRow, page: str, base_url: str) -> str:
    lines = [f"{latex_plain(p.title)} {base_url}/papers/{p.arxiv_id}" for p in meeting.papers]
    if meeting.presenter:
        lines.append(f"Presenter: {meeting.presenter}")
    if meeting.slides_url:
        lines.append(f"Slides: {meeting.slides_url}")
    lines.append(f"Discussion: {page}")
    return xml_safe("\n".join(lines))
