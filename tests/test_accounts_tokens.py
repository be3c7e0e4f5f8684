"""API and feed tokens keep to their scope: a write token cannot manage the account, two Authorization headers are
refused, a feed token opens no API, reads do not write each time, a read token cannot export, and no export carries
a password hash.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.db import Database
from papertide.models import AccessToken
from papertide.services.papers import upsert_papers
from tests.helpers.factories import make_paper_record
from tests.helpers.web import csrf_token, log_in, make_admin, new_token, sign_up


def test_a_write_token_cannot_manage_the_account(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "scripted")
    write = new_token(client, csrf_token(client, "/settings"), "script", "write")
    with TestClient(app, base_url="http://testserver") as script:
        headers = {"Authorization": f"Bearer {write}"}
        assert script.post("/settings/tokens", data={"name": "x", "scope": "write"}, headers=headers).status_code == 403
        assert script.post("/settings/profile", data={"fullname": "Mallory"}, headers=headers).status_code == 403
        assert script.get("/settings", headers=headers).status_code == 403
        assert script.get("/api/v1/collections", headers=headers).status_code == 200  # the API itself still works


def test_two_authorization_headers_are_refused(client: TestClient, app: FastAPI, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    sign_up(client, "doubled")
    write = new_token(client, csrf_token(client, "/settings"), "script", "write")
    headers = [("authorization", "Bearer pt_nonsense"), ("authorization", f"Bearer {write}")]
    with TestClient(app, base_url="http://testserver") as script:
        voted = script.post("/papers/2501.00001/vote", data={"value": "1"}, headers=headers)
        assert voted.status_code == 400
        assert script.get("/api/v1/papers/2501.00001", headers=headers).status_code == 400


def test_a_feed_token_is_no_api_token_and_survives_in_the_one_table(client: TestClient, db: Database) -> None:
    sign_up(client, "reader")
    token = csrf_token(client, "/settings")
    page = client.post("/settings/feed-token", data={"csrf_token": token}).text
    feed = re.search(r"/feeds/personal/([A-Za-z0-9_-]+)\.rss", page)
    assert feed
    assert client.get(f"/feeds/personal/{feed.group(1)}.rss").status_code == 200
    response = client.get("/api/v1/papers", headers={"Authorization": f"Bearer {feed.group(1)}"})
    assert response.status_code == 401
    with db.read_session() as session:
        scopes = session.execute(select(AccessToken.scope)).scalars().all()
    assert scopes == ["feed"]


def test_api_reads_do_not_write_each_time(client: TestClient, app: FastAPI, db: Database) -> None:
    sign_up(client, "poller")
    read = new_token(client, csrf_token(client, "/settings"), "script", "read")
    with TestClient(app, base_url="http://testserver") as script:
        for _ in range(3):
            assert script.get("/api/v1/papers", headers={"Authorization": f"Bearer {read}"}).status_code == 200
    with db.read_session() as session:
        first = session.execute(select(AccessToken.last_used_at)).scalar_one()
    assert first is not None
    with TestClient(app, base_url="http://testserver") as script:
        script.get("/api/v1/papers", headers={"Authorization": f"Bearer {read}"})
    with db.read_session() as session:
        assert session.execute(select(AccessToken.last_used_at)).scalar_one() == first


# -- export (audit 6) ---------------------------------------------------------------------------------------------


def test_an_admins_read_token_cannot_export_and_no_export_carries_password_hashes(
    client: TestClient, db: Database
) -> None:
    make_admin(db, "root")
    log_in(client, "root")
    read, write = (
        new_token(client, csrf_token(client, "/settings"), "script", "read"),
        new_token(client, csrf_token(client, "/settings"), "script", "write"),
    )
    client.cookies.clear()
    assert client.get("/api/v1/export", headers={"Authorization": f"Bearer {read}"}).status_code == 403
    exported = client.get("/api/v1/export", headers={"Authorization": f"Bearer {write}"})
    assert exported.status_code == 200
    users = [json.loads(line)["row"] for line in exported.text.splitlines()[1:] if '"table": "users"' in line]
    assert users and all(user["password_hash"] is None for user in users)
    assert "argon2" not in exported.text
