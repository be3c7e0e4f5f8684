"""An organization's reading group (issue 32): members schedule sessions (a start in a time zone, papers, a
presenter, a place, slides) through the page and the API, discuss the papers in comments tagged with the session,
see whose turn it is to present, subscribe to the RFC 5545 feed (read back with ``icalendar``), and find the
sessions in their digests; non-members see none of it, and every bad field is refused in words. On SQLite: nothing
here depends on the backend's SQL beyond what tests/test_lab_web.py covers on both."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from papertide.db import Database
from papertide.models import Comment, Paper, Subscription, utcnow
from papertide.periods import parse_period
from papertide.services.accounts import add_member, create_organization, create_user
from papertide.services.activity import lab_digest_picks
from papertide.services.papers import upsert_papers
from papertide.services.reading_group import reading_group_reminders
from papertide.services.tokens import create_api_token
from papertide.services.votes import vote
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.web import log_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PARIS = ZoneInfo("Europe/Paris")


def setup_lab(db: Database) -> tuple[dict[str, int], list[str]]:
    with db.write_session() as session:
        users = {name: create_user(session, username=name, password=PASSWORD).id for name in ("ada", "bob", "cy")}
        create_organization(session, "lab")
        create_organization(session, "other")
        add_member(session, "lab", "ada", "admin")
        add_member(session, "lab", "bob")
        add_member(session, "other", "cy", "admin")
        upsert_papers(session, [make_paper_record(title=f"Session paper {n}") for n in range(3)])
        papers = list(session.execute(select(Paper.arxiv_id).order_by(Paper.id)).scalars())
    return users, papers


def as_user(client: TestClient, name: str | None) -> str:
    client.cookies.clear()
    return log_in(client, name) if name else ""


def plan(ids: list[str], **changes: str) -> dict[str, str]:
    fields = {
        "starts_at": "2030-03-31T15:00",  # the first Sunday of Paris summer time
        "time_zone": "Europe/Paris",
        "papers": " ".join(ids),
        "presenter": "bob",
        "place": "https://meet.example.org/lab",
        "slides_url": "https://example.org/slides.pdf",
        "title": "",
    }
    return fields | changes


def test_members_schedule_discuss_and_subscribe_to_sessions(client: TestClient, db: Database) -> None:
    users, papers = setup_lab(db)
    csrf = as_user(client, "ada")
    made = client.post("/orgs/lab/reading-group", data=plan(papers[:2]) | {"csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303
    page = made.headers["location"]
    meeting = client.get(f"{page}.json").json()["meeting"]
    assert meeting["time_zone"] == "Europe/Paris" and meeting["local_start"] == "Sunday 31 March 2030, 15:00"
    assert meeting["starts_at"].startswith("2030-03-31T13:00")  # stored in UTC: Paris is UTC+2 that day
    assert [p["arxiv_id"] for p in meeting["papers"]] == papers[:2] and meeting["presenter"] == "bob"

    for changes, words in (
        ({"time_zone": "Mars/Olympus"}, "not a time zone"),
        ({"starts_at": "next tuesday"}, "not a start time"),
        ({"papers": "2101.99999"}, "no paper 2101.99999"),
        ({"papers": "not-an-id"}, ""),
        ({"presenter": "cy"}, "presenter is a member of lab"),
        ({"slides_url": "javascript:alert(1)"}, "slides link"),
    ):
        refused = client.post("/orgs/lab/reading-group", data=plan(papers[:1], **changes) | {"csrf_token": csrf})
        assert refused.status_code == 422 and words in refused.text, (changes, refused.text[:300])
    assert client.post("/orgs/lab/reading-group", data=plan(papers[:1])).status_code == 403  # no CSRF token

    csrf = as_user(client, "bob")
    said = client.post(
        f"{page}/comments", data={"paper": papers[0], "body": "The ablation in §4 is thin", "csrf_token": csrf}
    )
    assert said.status_code == 200 and "The ablation in §4 is thin" in said.text
    off_session = client.post(f"{page}/comments", data={"paper": papers[2], "body": "Hm", "csrf_token": csrf})
    assert off_session.status_code == 422 and "not one of this session" in off_session.text
    assert "The ablation in §4 is thin" in client.get(f"/papers/{papers[0]}").text  # the paper's own thread
    with db.read_session() as session:
        assert session.execute(select(Comment.session_id)).scalar_one() is not None
    group = client.get("/orgs/lab/reading-group.json").json()
    assert [s["id"] for s in group["upcoming"]] == [meeting["id"]]
    assert group["rotation"][0] == "ada"  # bob presents already: ada's turn next

    moved = plan(papers[:2], starts_at="2030-04-07T16:30") | {"csrf_token": csrf}
    edited = client.post(f"{page}/edit", data=moved, follow_redirects=False)
    assert edited.status_code == 303
    links = client.post("/orgs/lab/feed-token", data={"csrf_token": csrf}).text
    found = re.search(r"(/orgs/lab/reading-group\.ics\?token=[\w-]+)", links)
    assert found
    client.cookies.clear()
    answer = client.get(found.group(1))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 1 and calendar.walk("VTIMEZONE")
    event = events[0]
    assert event.decoded("dtstart") == datetime(2030, 4, 7, 16, 30, tzinfo=PARIS)
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=60)
    assert int(event["sequence"]) == 1 and str(event["location"]) == "https://meet.example.org/lab"
    assert str(event["uid"]).startswith(f"reading-session-{meeting['id']}@")
    assert "Presenter: bob" in str(event["description"]) and "Slides: https://example.org/slides.pdf" in str(
        event["description"]
    )

    assert client.get("/orgs/lab/reading-group.ics").status_code == 404  # no session, no token
    assert client.get(found.group(1).replace("/lab/", "/other/")).status_code == 403
    as_user(client, "cy")
    assert client.get("/orgs/lab/reading-group").status_code == 403
    assert client.get("/orgs/lab/reading-group.ics").status_code == 403
    assert client.get(f"{page}.json").status_code == 403
    csrf = as_user(client, "cy")
    stranger = client.post("/orgs/lab/reading-group", data=plan(papers[:1]) | {"csrf_token": csrf})
    assert stranger.status_code == 403 and "Only members of lab" in stranger.text
    assert users


def test_the_sessions_api_takes_a_member_write_token(client: TestClient, db: Database) -> None:
    users, papers = setup_lab(db)
    with db.write_session() as session:
        write = create_api_token(session, users["bob"], "lab", "write")
        read = create_api_token(session, users["bob"], "lab", "read")
        outsider = create_api_token(session, users["cy"], "lab", "write")
    body = {"starts_at": "2030-05-02T10:00", "time_zone": "America/New_York", "papers": papers[:1], "presenter": "ada"}
    client.cookies.clear()
    made = client.post("/api/v1/orgs/lab/sessions", json=body, headers={"Authorization": f"Bearer {write}"})
    assert made.status_code == 201, made.text
    assert made.json()["starts_at"].startswith("2030-05-02T14:00") and made.json()["papers"] == papers[:1]
    assert made.json()["url"].startswith("http") and made.json()["local_start"] == "Thursday 02 May 2030, 10:00"
    refused = client.post("/api/v1/orgs/lab/sessions", json=body, headers={"Authorization": f"Bearer {read}"})
    assert refused.status_code == 403
    stranger = client.post("/api/v1/orgs/lab/sessions", json=body, headers={"Authorization": f"Bearer {outsider}"})
    assert stranger.status_code == 403
    assert client.get("/api/v1/orgs/lab/sessions", headers={"Authorization": f"Bearer {outsider}"}).status_code == 403
    bad = client.post(
        "/api/v1/orgs/lab/sessions", json=body | {"time_zone": "Nowhere"}, headers={"Authorization": f"Bearer {write}"}
    )
    assert bad.status_code == 422 and "time zone" in bad.text
    listed = client.get("/api/v1/orgs/lab/sessions", headers={"Authorization": f"Bearer {read}"})
    assert [s["presenter"] for s in listed.json()] == ["ada"]


def test_digest_sections_remind_of_sessions_and_tell_what_the_lab_read(client: TestClient, db: Database) -> None:
    users, papers = setup_lab(db)
    csrf = as_user(client, "ada")
    client.post("/orgs/lab/reading-group", data=plan(papers[:1], starts_at="2030-03-30T09:00") | {"csrf_token": csrf})
    client.post("/orgs/lab/reading-group", data=plan(papers[1:2], starts_at="2030-04-20T09:00") | {"csrf_token": csrf})
    today = utcnow().date().isoformat()  # a digest's days are UTC days, as votes are stamped (not Paris's)
    with db.write_session() as session:
        vote(session, users["ada"], _id(session, papers[2]), up=True, per_minute=100)
        vote(session, users["bob"], _id(session, papers[2]), up=True, per_minute=100)
        vote(session, users["bob"], _id(session, papers[1]), up=True, per_minute=100)
    with db.read_session() as session:
        for_bob, for_cy = Subscription(user_id=users["bob"]), Subscription(user_id=users["cy"])
        reminded = reading_group_reminders(session, parse_period("day", "2030-03-29"), for_bob, limit=10)
        assert [(row.arxiv_id, "bob presents" in why) for row, why in reminded] == [(papers[0], True)]
        assert "lab reading group, Sat 30 Mar 09:00 (Europe/Paris)" in reminded[0][1]
        assert reading_group_reminders(session, parse_period("day", "2030-03-29"), for_cy, limit=10) == []
        picks = lab_digest_picks(session, parse_period("day", today), for_bob, limit=10)
        assert [(row.arxiv_id, why) for row, why in picks] == [(papers[2], "ada upvoted")]  # bob's own left out
        assert lab_digest_picks(session, parse_period("day", today), for_cy, limit=10) == []


def _id(session: object, arxiv_id: str) -> int:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    return int(session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar_one())
