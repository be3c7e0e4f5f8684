"""The moderation desk at /admin (issue 33): accounts found by name or address, made or unmade administrators,
disabled (their sessions and tokens end, log-in refused) and enabled; hidden papers and comments listed with who
hid them and when, unhidden from the desk; every action in the log; CSRF and the administrator check on each."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.db import Database
from papertide.models import User
from papertide.services.moderation import MODERATION_ACTIONS
from papertide.services.papers import feature_papers
from papertide.services.tokens import create_api_token
from papertide.web.viewmodels.admin import SAID
from tests.helpers.factories import PASSWORD, make_featured_record, make_paper_record
from tests.helpers.web import csrf_token, log_in, make_admin, sign_up

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _paper(db: Database, title: str = "A paper worth hiding") -> str:
    record = make_featured_record(featured_on=date(2026, 8, 21), paper=make_paper_record(title=title))
    with db.write_session() as session:
        feature_papers(session, [record])
    return record.paper.arxiv_id


def _desk(client: TestClient, find: str = "") -> dict[str, object]:
    return client.get("/admin.json", params={"find": find}).json()["page"]["desk"]  # type: ignore[no-any-return]


def _post(client: TestClient, path: str, **form: object) -> int:
    data = {"csrf_token": csrf_token(client, "/"), **form}
    return client.post(path, data=data, follow_redirects=False).status_code


def test_every_logged_action_has_words_on_the_desk() -> None:
    assert set(SAID) == set(MODERATION_ACTIONS)


@sqlite_only
def test_hiding_is_logged_with_who_and_when_and_undone_from_the_desk(client: TestClient, db: Database) -> None:
    arxiv_id = _paper(db)
    make_admin(db, "boss")
    log_in(client, "boss")
    token = csrf_token(client, f"/papers/{arxiv_id}")
    spam = {"csrf_token": token, "body": "Buy cheap watches at example.com"}
    posted = client.post(f"/papers/{arxiv_id}/comments", data=spam)
    assert posted.status_code in (200, 303), posted.text
    comment = client.get(f"/papers/{arxiv_id}.json").json()["comments"][0]["id"]
    response = client.post(
        f"/papers/{arxiv_id}/hide",
        data={"csrf_token": token, "hidden": 1},
        headers={"referer": f"http://testserver/papers/{arxiv_id}"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/papers/{arxiv_id}"
    assert _post(client, f"/comments/{comment}/hide", hidden=1) == 303

    desk = _desk(client)
    [paper] = desk["hidden_papers"]  # type: ignore[misc]
    assert paper["target"] == arxiv_id and paper["by"] == "boss" and paper["at"]
    [hidden_comment] = desk["hidden_comments"]  # type: ignore[misc]
    assert hidden_comment["label"].startswith("Buy cheap") and hidden_comment["by"] == "boss"
    page = client.get("/admin").text
    assert "A paper worth hiding" in page and "hid paper" in page and "hid comment" in page
    unhide = re.search(rf'action="/papers/{arxiv_id}/hide" class="inline">\s*<input [^>]*value="([^"]+)"', page)
    assert unhide is not None and unhide.group(1) == csrf_token(client, "/admin")  # the desk's forms carry the token

    response = client.post(
        f"/papers/{arxiv_id}/hide",
        data={"csrf_token": token, "hidden": 0},
        headers={"referer": "http://testserver/admin"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"  # back to the desk it was asked from
    desk = _desk(client)
    assert desk["hidden_papers"] == [] and len(desk["hidden_comments"]) == 1  # type: ignore[arg-type]
    assert [line["said"] for line in desk["log"]][:3] == ["unhid paper", "hid comment", "hid paper"]  # type: ignore[index]
    client.cookies.clear()
    assert client.get(f"/papers/{arxiv_id}").status_code == 200  # visible to everyone again


@sqlite_only
def test_accounts_are_found_made_admin_disabled_and_enabled(app: FastAPI, client: TestClient, db: Database) -> None:
    with TestClient(app, base_url="http://testserver") as member:
        sign_up(member, "ada_lovelace")
        with db.write_session() as session:
            user_id = session.execute(select(User.id).where(User.username == "ada_lovelace")).scalar_one()
            token = create_api_token(session, user_id, "script", "read")
        make_admin(db, "boss")
        sign_up(client, "adam")
        client.cookies.clear()
        log_in(client, "boss")

        found = _desk(client, "A_L")["accounts"]  # an underscore is a character, not LIKE's wildcard
        assert [account["username"] for account in found] == ["ada_lovelace"]  # type: ignore[index]
        assert found[0]["sessions"] == 1  # type: ignore[index]

        assert _post(client, "/admin/users/disabled", username="ada_lovelace", disabled=1) == 303
        assert member.get("/settings", follow_redirects=False).status_code == 303  # signed out at once
        assert member.get("/api/v1/collections", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        refused = member.post(
            "/login",
            data={"username": "ada_lovelace", "password": PASSWORD, "csrf_token": csrf_token(member, "/login")},
            follow_redirects=False,
        )
        assert refused.status_code != 303  # cannot log in while disabled
        assert _post(client, "/admin/users/disabled", username="ada_lovelace", disabled=0) == 303
        log_in(member, "ada_lovelace")
        assert member.get("/settings", follow_redirects=False).status_code == 200

        assert _post(client, "/admin/users/admin", username="ada_lovelace", admin=1) == 303
        assert member.get("/admin").status_code == 200
        assert _post(client, "/admin/users/admin", username="ada_lovelace", admin=0) == 303
        assert member.get("/admin").status_code == 403

    said = [line["said"] for line in _desk(client)["log"]]  # type: ignore[index]
    assert said == [
        "removed administrator rights of",
        "made an administrator:",
        "enabled the account",
        "disabled the account",
    ]


@sqlite_only
def test_the_desk_refuses_what_it_must(client: TestClient, db: Database) -> None:
    make_admin(db, "boss")
    sign_up(client, "visitor")
    assert client.get("/admin").status_code == 403
    assert _post(client, "/admin/users/admin", username="visitor", admin=1) == 403  # not an administrator
    client.cookies.clear()
    log_in(client, "boss")
    assert client.post("/admin/users/disabled", data={"username": "visitor", "disabled": 1}).status_code == 403
    assert _post(client, "/admin/users/admin", username="boss", admin=0) == 409  # not on yourself
    assert _post(client, "/admin/users/disabled", username="boss", disabled=1) == 409
    missing = client.post(
        "/admin/users/disabled", data={"username": "nobody", "disabled": 1, "csrf_token": csrf_token(client, "/admin")}
    )
    assert missing.status_code == 404 and "No account is named" in missing.text
    assert client.get("/admin/users/disabled").status_code == 405  # no state-changing GET
    assert _desk(client)["log"] == []  # nothing refused was done, nothing logged
