"""A lab's own instance through the web (issue 32): two organizations and four users — ada (admin of lab), bob
(member of lab), cy (admin of other) and dee (in no organization) — see each kind of collection, the activity
and the members' pages exactly as their memberships allow, through pages, JSON twins, feeds, exports and the MCP
tool; invitations work once, expire and refuse forgeries; members leave and admins change roles, every refusal
answered in words. The visibility test runs on both backends (its SQL is the part that differs); the rest on
SQLite."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import anyio
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select, update

from papertide.config import Settings
from papertide.db import Database
from papertide.models import OrganizationInvitation, Paper, utcnow
from papertide.services.accounts import add_member, create_organization, create_user
from papertide.services.collections import add_to_collection, create_collection, create_organization_collection
from papertide.services.comments import add_comment
from papertide.services.papers import upsert_papers
from papertide.services.tokens import create_api_token
from papertide.services.votes import vote
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import log_in

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
USERS = ("ada", "bob", "cy", "dee")


class Lab:
    """The two organizations, four users, three papers and one collection of each kind."""

    def __init__(self, db: Database) -> None:
        with db.write_session() as session:
            self.user = {name: create_user(session, username=name, password=PASSWORD).id for name in USERS}
            create_organization(session, "lab", "The Lab")
            create_organization(session, "other")
            add_member(session, "lab", "ada", "admin")
            add_member(session, "lab", "bob")
            add_member(session, "other", "cy", "admin")
            upsert_papers(session, [make_paper_record(title=f"Paper number {n}") for n in range(3)])
            self.papers = list(session.execute(select(Paper.id, Paper.arxiv_id).order_by(Paper.id)))
            self.collections: dict[str, str] = {}
            for visibility in ("public", "organization", "private"):
                made = create_organization_collection(
                    session,
                    organization_id=self._org(session, "lab"),
                    member_id=self.user["ada"],
                    title=f"Lab {visibility}",
                    description=None,
                    visibility=visibility,
                )
                add_to_collection(
                    session, collection_id=made.id, owner_id=self.user["ada"], paper_id=self.papers[0][0], note="read"
                )
                self.collections[visibility] = made.slug
            mine = create_collection(session, owner_id=self.user["bob"], title="Bob secret", is_public=False)
            self.bob_private = mine.slug

    @staticmethod
    def _org(session: Any, name: str) -> int:
        from papertide.models import Organization

        return int(session.execute(select(Organization.id).where(Organization.name == name)).scalar_one())


def as_user(client: TestClient, name: str | None) -> str:
    """Sign ``client`` in as ``name`` (or out, for None); returns the session's CSRF token."""
    client.cookies.clear()
    return log_in(client, name) if name else ""


# who sees the lab's collection of each visibility
SEES = {
    "public": {None, "ada", "bob", "cy", "dee"},
    "organization": {"ada", "bob"},
    "private": {"ada"},
}


def test_every_collection_kind_is_seen_by_exactly_whom_it_should_be(client: TestClient, db: Database) -> None:
    lab = Lab(db)
    for viewer in (None, *USERS):
        as_user(client, viewer)
        org_page = client.get("/orgs/lab.json").json()
        listed = {c["slug"] for c in org_page["collections"]}
        for visibility, slug in lab.collections.items():
            seen = viewer in SEES[visibility]
            base = f"/orgs/lab/collections/{slug}"
            assert (slug in listed) is seen, (viewer, visibility)
            assert client.get(base).status_code == (200 if seen else 404), (viewer, visibility)
            assert client.get(f"{base}.json").status_code == (200 if seen else 404)
            assert client.get(f"{base}.bib").status_code == (200 if seen else 404)
            hf = client.get(f"/api/collections?owner=lab&item=papers/{lab.papers[0][1]}").json()
            assert (any(c["slug"].startswith(f"lab/{slug}-") for c in hf)) is seen, (viewer, visibility)
        bob_secret = client.get(f"/users/bob/collections/{lab.bob_private}")
        assert bob_secret.status_code == (200 if viewer == "bob" else 404)
        assert client.get(f"/feeds/orgs/lab/collections/{lab.collections['organization']}.rss").status_code == 404
    assert client.get(f"/feeds/orgs/lab/collections/{lab.collections['public']}.atom").status_code == 200


@SQLITE
def test_members_add_annotate_and_reorder_with_each_note_signed(client: TestClient, db: Database) -> None:
    lab = Lab(db)
    slug = lab.collections["organization"]
    (first, first_id), (second, second_id) = lab.papers[0], lab.papers[1]
    with db.read_session() as session:
        from papertide.models import Collection

        collection_id = session.execute(select(Collection.id).where(Collection.slug == slug)).scalar_one()
    csrf = as_user(client, "bob")
    added = client.post(
        f"/papers/{second_id}/collect",
        data={"collection_id": collection_id, "note": "Bob's note", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    moved = client.post(
        f"/collections/{collection_id}/items/{second}/move",
        data={"position": 0, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    items = client.get(f"/orgs/lab/collections/{slug}.json").json()["items"]
    assert [(item[2], item[1], item[3], item[4]) for item in items] == [
        (second, "Bob's note", "bob", "bob"),
        (first, "read", "ada", "ada"),
    ]
    html = client.get(f"/orgs/lab/collections/{slug}").text
    assert "— bob" in html and "— ada" in html
    # a member may not rename or delete the organization's collection; an outsider may not even add to it
    renamed = client.post(
        f"/collections/{collection_id}/edit",
        data={"title": "Mine now", "visibility": "public", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert renamed.status_code == 403 and "admins" in renamed.text
    csrf = as_user(client, "cy")
    outsider = client.post(
        f"/papers/{first_id}/collect", data={"collection_id": collection_id, "csrf_token": csrf}, follow_redirects=False
    )
    assert outsider.status_code == 403 and "not yours" in outsider.text
    no_csrf = client.post(f"/collections/{collection_id}/items/{first}/move", data={"position": 1})
    assert no_csrf.status_code == 403


def _invite(client: TestClient, csrf: str, role: str = "member") -> str:
    made = client.post("/orgs/lab/invitations", data={"role": role, "csrf_token": csrf})
    assert made.status_code == 201, made.text
    match = re.search(r"(https?://[^<\s]+/orgs/lab/join/[\w-]+)", made.text)
    assert match, made.text
    return match.group(1).split("/orgs/lab", 1)[1]


@SQLITE
def test_an_invitation_works_once_expires_and_refuses_forgeries(client: TestClient, db: Database) -> None:
    Lab(db)
    csrf = as_user(client, "ada")
    link = _invite(client, csrf)
    assert client.get("/orgs/lab/members").status_code == 200
    csrf = as_user(client, "dee")
    page = client.get(f"/orgs/lab{link}")
    assert page.status_code == 200 and "What members share" in page.text and "turn this off" in page.text
    assert client.get("/orgs/lab/activity").status_code == 403  # opening the link joins nobody
    joined = client.post(f"/orgs/lab{link}", data={"csrf_token": csrf}, follow_redirects=False)
    assert joined.status_code == 303
    assert client.get("/orgs/lab/activity").status_code == 200
    csrf = as_user(client, "cy")
    again = client.post(f"/orgs/lab{link}", data={"csrf_token": csrf})
    assert again.status_code == 410 and "already used" in again.text
    assert client.get(f"/orgs/lab{link}").status_code == 410
    forged = client.post(f"/orgs/lab{link[:-4]}abcd", data={"csrf_token": csrf})
    assert forged.status_code == 404 and "not one of this organization" in forged.text
    elsewhere = client.post(f"/orgs/other{link}", data={"csrf_token": csrf})
    assert elsewhere.status_code == 404  # a link of lab opens no other organization

    csrf = as_user(client, "ada")
    stale = _invite(client, csrf)
    with db.write_session() as session:
        session.execute(update(OrganizationInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    csrf = as_user(client, "cy")
    expired = client.post(f"/orgs/lab{stale}", data={"csrf_token": csrf})
    assert expired.status_code == 410 and "expired" in expired.text
    no_csrf = client.post(f"/orgs/lab{stale}")
    assert no_csrf.status_code == 403
    # only admins invite
    csrf = as_user(client, "bob")
    refused = client.post("/orgs/lab/invitations", data={"role": "member", "csrf_token": csrf})
    assert refused.status_code == 403 and "Only the admins of lab" in refused.text


@SQLITE
def test_mailed_invitations_count_against_the_recipient_limit(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    from papertide.app import create_app

    Lab(db)
    app = create_app(mail_settings(settings, smtp, mail_per_address_per_day=2))
    with TestClient(app, base_url="http://testserver") as client:
        csrf = as_user(client, "ada")
        for _ in range(2):
            sent = client.post("/orgs/lab/invitations/mail", data={"email": "New@Example.org", "csrf_token": csrf})
            assert sent.status_code == 201 and "new@example.org" in sent.text
        limited = client.post("/orgs/lab/invitations/mail", data={"email": "new@example.org", "csrf_token": csrf})
        assert limited.status_code == 429
        bad = client.post("/orgs/lab/invitations/mail", data={"email": "not an address", "csrf_token": csrf})
        assert bad.status_code in (400, 422) and "address" in bad.text.lower()
    mails = smtp.to("new@example.org")
    assert len(mails) == 2
    body = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "http://testserver/orgs/lab/join/" in body


@SQLITE
def test_members_leave_and_admins_change_roles_refusing_what_would_break(client: TestClient, db: Database) -> None:
    Lab(db)
    csrf = as_user(client, "bob")
    promote = client.post("/orgs/lab/members/bob/role", data={"role": "admin", "csrf_token": csrf})
    assert promote.status_code == 403
    assert client.post("/orgs/lab/members/ada/remove", data={"csrf_token": csrf}).status_code == 403
    csrf = as_user(client, "ada")
    last = client.post("/orgs/lab/leave", data={"csrf_token": csrf})
    assert last.status_code == 409 and "last admin" in last.text
    demote_self = client.post("/orgs/lab/members/ada/role", data={"role": "member", "csrf_token": csrf})
    assert demote_self.status_code == 409
    assert client.post("/orgs/lab/members/ada/remove", data={"csrf_token": csrf}).status_code == 409
    assert client.post("/orgs/lab/members/dee/remove", data={"csrf_token": csrf}).status_code == 404
    stranger = client.post("/orgs/lab/members/cy/role", data={"role": "admin", "csrf_token": csrf})
    assert stranger.status_code == 404 and "not a member of lab" in stranger.text
    bad_role = client.post("/orgs/lab/members/bob/role", data={"role": "owner", "csrf_token": csrf})
    assert bad_role.status_code == 422
    ok = client.post("/orgs/lab/members/bob/role", data={"role": "admin", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert client.post("/orgs/lab/leave", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/orgs/lab/members").status_code == 403
    as_user(client, "bob")
    assert [m["username"] for m in client.get("/orgs/lab/members.json").json()["members"]] == ["bob"]
    csrf = as_user(client, "dee")
    assert client.post("/orgs/lab/leave", data={"csrf_token": csrf}).status_code == 403


def _activity(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get("/orgs/lab/activity.json")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


@SQLITE
def test_activity_is_for_members_grouped_by_paper_and_sharing_off_hides_everything(
    client: TestClient, db: Database
) -> None:
    lab = Lab(db)
    (first, _), (second, _), (third, _) = lab.papers
    with db.write_session() as session:
        for name in ("ada", "bob"):
            vote(session, lab.user[name], first, up=True, per_minute=100)
        vote(session, lab.user["cy"], third, up=True, per_minute=100)  # not a member of lab
        add_comment(session, user_id=lab.user["bob"], paper_id=second, body="Worth a read")
        add_to_collection(
            session, collection_id=_slug_id(session, "Bob secret"), owner_id=lab.user["bob"], paper_id=third
        )  # a private collection: never shown
    for viewer, status, twin in ((None, 303, 401), ("cy", 403, 403), ("dee", 403, 403)):
        as_user(client, viewer)
        assert client.get("/orgs/lab/activity", follow_redirects=False).status_code == status
        assert client.get("/orgs/lab/activity.json", follow_redirects=False).status_code == twin
        assert client.get("/orgs/lab/activity.rss", follow_redirects=False).status_code in (403, 404)
    csrf = as_user(client, "ada")
    items = _activity(client)
    assert [item["card"]["arxiv_id"] for item in items] == [lab.papers[0][1], lab.papers[1][1]]
    assert items[0]["line"].startswith("ada and bob upvoted") and "added it to Lab" in items[0]["line"]
    assert items[1]["line"] == "bob commented"
    feed = client.post("/orgs/lab/feed-token", data={"csrf_token": csrf}).text
    rss = re.search(r"(/orgs/lab/activity\.rss\?token=[\w-]+)", feed)
    assert rss
    client.cookies.clear()
    read = client.get(rss.group(1))
    assert read.status_code == 200 and "bob commented" in read.text
    assert client.get(rss.group(1).replace("lab/activity", "other/activity")).status_code == 403
    lab_token = rss.group(1).split("token=")[1]
    assert client.get("/api/v1/collections", headers={"Authorization": f"Bearer {lab_token}"}).status_code == 401

    csrf = as_user(client, "bob")
    off = client.post("/orgs/lab/sharing", data={"share": 0, "csrf_token": csrf}, follow_redirects=False)
    assert off.status_code == 303
    items = _activity(client)
    assert [item["line"] for item in items] == [
        "ada upvoted · ada added it to Lab organization · ada added it to Lab public"
    ]
    assert "bob" not in client.get(rss.group(1)).text.split("<item>", 1)[-1]


def _slug_id(session: Any, title: str) -> int:
    from papertide.models import Collection

    return int(session.execute(select(Collection.id).where(Collection.title == title)).scalar_one())


@SQLITE
def test_the_mcp_tool_lists_only_the_collections_the_token_may_see(db: Database, live_server: str) -> None:
    lab = Lab(db)
    with db.write_session() as session:
        tokens = {name: create_api_token(session, lab.user[name], "agent", "read") for name in ("ada", "bob", "cy")}

    async def listed(token: str | None) -> set[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{live_server}/mcp", http_client=http)) as mcp,
        ):
            result = await mcp.call_tool("list_collections", {"username": "lab"})
            assert not result.is_error, result.content
            assert result.structured_content is not None
            found = result.structured_content["collections"]
            assert all("/orgs/lab/collections/" in c["url"] for c in found)
            return {c["title"] for c in found}

    async def check() -> None:
        assert await listed(None) == {"Lab public"}
        assert await listed(tokens["cy"]) == {"Lab public"}
        assert await listed(tokens["bob"]) == {"Lab public", "Lab organization"}
        assert await listed(tokens["ada"]) == {"Lab public", "Lab organization", "Lab private"}

    anyio.run(check)


@SQLITE
def test_lab_writes_share_the_account_write_limit(settings: Settings, db: Database) -> None:
    from papertide.app import create_app

    lab = Lab(db)
    app = create_app(settings.model_copy(update={"rate_limit_writes_per_minute": 2}))
    with TestClient(app, base_url="http://testserver") as client:
        csrf = as_user(client, "ada")
        for _ in range(2):
            assert client.post("/orgs/lab/invitations", data={"role": "member", "csrf_token": csrf}).status_code == 201
        for path, data in (
            ("/orgs/lab/invitations", {"role": "member"}),
            ("/orgs/lab/sharing", {"share": 0}),
            ("/orgs/lab/members/bob/role", {"role": "admin"}),
            ("/orgs/lab/collections", {"title": "One more"}),
            (
                "/orgs/lab/reading-group",
                {"starts_at": "2030-01-01T10:00", "time_zone": "UTC", "papers": lab.papers[0][1]},
            ),
        ):
            limited = client.post(path, data=data | {"csrf_token": csrf})
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0, path
