"""Accounts under the second outside audit (audit 2, findings 5-8 and 11, and what it could not run): tokens end
with a password change, mail per recipient is limited, guessing cannot lock the owner out, address links work
once, feed tokens and address case are as documented, and concurrent sign-ups race cleanly on PostgreSQL."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import AccessToken, User, utcnow
from papertide.services.accounts import create_user
from papertide.services.sessions import LOGIN_FAILURES_PER_WINDOW
from tests.helpers.factories import PASSWORD
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import csrf_token, log_in, sign_up

# Accounts behave alike on both backends (tests/test_accounts_sessions.py runs them on each); races need PostgreSQL.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _api_token(client: TestClient, scope: str = "write") -> str:
    form = {"name": "nightly-sync", "scope": scope, "csrf_token": csrf_token(client, "/settings")}
    match = re.search(r"(pt_[A-Za-z0-9_-]{20,})", client.post("/settings/tokens", data=form).text)
    assert match
    return match.group(1)


def _mails_to(smtp: SmtpSink, mailbox: str) -> list[EmailMessage]:
    """Every mail that reached ``mailbox`` under any case or +tag."""
    local, domain = mailbox.split("@")
    pattern = re.compile(rf"{re.escape(local)}(\+[^@]*)?@{re.escape(domain)}", re.IGNORECASE)
    return [mail for mail in smtp.messages if pattern.fullmatch(str(mail["To"]))]


# -- 5: a password change ends the account's API tokens ------------------------------------------------------------


@SQLITE
def test_a_password_change_revokes_the_accounts_api_tokens(app: FastAPI, client: TestClient) -> None:
    sign_up(client, "changer")
    token = _api_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://testserver") as script:
        assert script.get("/api/v1/papers", headers=headers).status_code == 200
        form = {"current": PASSWORD, "new": "another long password", "csrf_token": csrf_token(client, "/settings")}
        assert client.post("/settings/password", data=form, follow_redirects=False).status_code == 303
        assert script.get("/api/v1/papers", headers=headers).status_code == 401
    assert "nightly-sync" not in client.get("/settings").text


# -- 6: mail per recipient and day, whoever asks -------------------------------------------------------------------


@SQLITE
def test_mail_to_one_address_is_limited_per_day_whoever_asks(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    configured = mail_settings(settings, smtp, mail_per_address_per_day=3)
    with db.write_session() as session:
        create_user(session, username="ada", password=PASSWORD, email="ada@example.org")
    app = create_app(configured)
    asks = [
        ("/reset", {"email": "ada@example.org"}),
        ("/subscribe", {"email": "ADA+news@example.org", "cadence": "daily", "trending": "true"}),
        ("/reset", {"email": " Ada@Example.ORG"}),
        ("/reset", {"email": "ada@example.org"}),
        ("/subscribe", {"email": "ada+other@example.org", "cadence": "daily", "trending": "true"}),
    ]
    statuses = []
    for number, (path, form) in enumerate(asks):  # each from its own address: the per-client limits stay out
        with TestClient(app, base_url="http://testserver", client=(f"10.0.1.{number}", 5000)) as stranger:
            form = {**form, "csrf_token": csrf_token(stranger, path)}
            statuses.append(stranger.post(path, data=form).status_code)
    with TestClient(app, base_url="http://testserver", client=("10.0.2.1", 5000)) as mallory:
        form = {"username": "mallory", "password": PASSWORD, "email": "ada@example.org"}
        settings_page = mallory.post("/signup", data={**form, "csrf_token": csrf_token(mallory, "/signup")})
        assert "Too many mails went to that address today" in settings_page.text
    assert statuses == [200, 200, 200, 429, 429]
    assert len(_mails_to(smtp, "ada@example.org")) == 3


# -- 7: guessing is slow, and the owner still signs in ------------------------------------------------------------


@SQLITE
def test_a_stranger_guessing_cannot_lock_the_owner_out(app: FastAPI, db: Database) -> None:
    with db.write_session() as session:
        create_user(session, username="admin", password=PASSWORD, is_admin=True)
    with TestClient(app, base_url="http://testserver") as laptop:
        log_in(laptop, "admin")
        laptop.post("/logout", data={"csrf_token": csrf_token(laptop)})
        for attempt in range(LOGIN_FAILURES_PER_WINDOW + 1):
            with TestClient(app, base_url="http://testserver", client=(f"10.0.3.{attempt}", 5000)) as guesser:
                form = {"username": "admin", "password": f"guess {attempt}"}
                last = guesser.post("/login", data={**form, "csrf_token": csrf_token(guesser, "/login")}).status_code
        assert last == 429  # the account is paused for strangers
        with TestClient(app, base_url="http://testserver") as new_browser:
            form = {"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(new_browser, "/login")}
            assert new_browser.post("/login", data=form, follow_redirects=False).status_code == 429
        form = {"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(laptop, "/login")}
        assert laptop.post("/login", data=form, follow_redirects=False).status_code == 303  # a known browser


# -- 8: an address link works once; an older one cannot put back an older address -------------------------------


def _address_link(smtp: SmtpSink, address: str) -> str:
    text = smtp.to(address)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://testserver(/settings/email/\S+)", text)
    assert match, text
    return match.group(1)


@SQLITE
def test_address_links_work_once_and_an_older_one_cannot_revert_a_newer(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    with TestClient(create_app(mail_settings(settings, smtp)), base_url="http://testserver") as client:
        token = sign_up(client, "mover")
        for address in ("first@example.org", "second@example.org"):
            client.post("/settings/profile", data={"fullname": "M", "email": address, "csrf_token": token})
        older, newer = _address_link(smtp, "first@example.org"), _address_link(smtp, "second@example.org")
        assert client.post(newer, data={"csrf_token": token}, follow_redirects=False).status_code == 303
        for used in (older, newer):
            answer = client.post(used, data={"csrf_token": token})
            assert answer.status_code == 400 and "already used, or a newer one was" in answer.text
    with db.read_session() as session:
        assert session.execute(select(User.email).where(User.username == "mover")).scalar_one() == "second@example.org"


# -- 11: feed tokens do not expire (decided); addresses fold case everywhere -----------------------------------


@SQLITE
def test_a_feed_url_works_however_old_until_revoked_or_replaced(client: TestClient, db: Database) -> None:
    token = sign_up(client, "reader")
    page = client.post("/settings/feed-token", data={"csrf_token": token}).text
    url = re.search(r"(/feeds/personal/[\w-]+\.rss)", page)
    assert url
    with db.write_session() as session:  # three years unused: still the reader's feed
        long_ago = utcnow() - timedelta(days=3 * 365)
        session.execute(update(AccessToken).values(created_at=long_ago, last_used_at=None))
    with TestClient(client.app) as feed_reader:
        assert feed_reader.get(url.group(1)).status_code == 200
        client.post("/settings/feed-token", data={"csrf_token": token})  # a new URL ends the old one
        assert feed_reader.get(url.group(1)).status_code == 404


@SQLITE
def test_an_address_is_one_address_in_any_case(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    with TestClient(create_app(mail_settings(settings, smtp)), base_url="http://testserver") as client:
        form = {"username": "ada", "password": PASSWORD, "email": " Ada@Example.ORG "}
        client.post("/signup", data={**form, "csrf_token": csrf_token(client, "/signup")})
        token = csrf_token(client)
        client.post(_address_link(smtp, "ada@example.org"), data={"csrf_token": token})
        client.post("/reset", data={"email": "ADA@EXAMPLE.org", "csrf_token": token})
    with db.read_session() as session:
        assert session.execute(select(User.email).where(User.username == "ada")).scalar_one() == "ada@example.org"
    assert [mail["Subject"] for mail in smtp.to("ada@example.org")] == [
        "Confirm your papertide address",
        "Reset your papertide password",
    ]


# -- what the audit could not run: concurrent sign-ups on PostgreSQL ---------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.timeout(120)
def test_concurrent_sign_ups_of_one_name_make_one_account(live_server: str, db: Database) -> None:
    def sign_up_as(number: int) -> int:
        with httpx.Client(base_url=live_server, timeout=60) as browser:
            token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/signup").text)
            assert token
            name = "Racer" if number % 2 else "racer"  # one name, in any case
            form = {"username": name, "password": f"{PASSWORD} {number}", "csrf_token": token.group(1)}
            return browser.post("/signup", data=form, headers={"X-Forwarded-For": f"10.0.4.{number}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(sign_up_as, range(8)))
    assert sorted(codes) == [303] + [400] * 7, codes
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == 1
