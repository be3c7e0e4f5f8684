"""Sessions end when they should: on log-out, a password change, an admin's word, a reset by mail (single use, its
links bound to this instance and the old password, revoking API tokens); wrong passwords pause an account for
minutes, not for good; a reset request answers alike when mail cannot leave.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from papertide.app import SESSION_COOKIE, create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.services.accounts import AccountError, create_user
from papertide.services.ratelimit import wait_before
from papertide.services.recovery import reset_password
from papertide.services.sessions import LOGIN_FAILURES_PER_WINDOW, LOGIN_WINDOW_SECONDS, login_failures_key
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink, mail_link
from tests.helpers.web import csrf_token, log_in, make_admin, new_token, sign_up

# -- sessions end (audit 1) ---------------------------------------------------------------------------------------


def _cookie(client: TestClient) -> str:
    return str(client.cookies.get(SESSION_COOKIE))


def _settings_status(app: FastAPI, cookie: str) -> int:
    with TestClient(app, base_url="http://testserver", cookies={SESSION_COOKIE: cookie}) as replay:
        return replay.get("/settings", follow_redirects=False).status_code


def test_a_cookie_replayed_after_logout_opens_nothing(app: FastAPI, client: TestClient) -> None:
    token = sign_up(client, "leaver")
    cookie = _cookie(client)
    assert _settings_status(app, cookie) == 200
    client.post("/logout", data={"csrf_token": token})
    assert _settings_status(app, cookie) == 303  # to the log-in page


def test_a_password_change_ends_every_other_session(app: FastAPI, client: TestClient) -> None:
    sign_up(client, "changer")
    with TestClient(app, base_url="http://testserver") as laptop:
        log_in(laptop, "changer")
        old_cookie = _cookie(laptop)
    token = csrf_token(client, "/settings")
    response = client.post(
        "/settings/password",
        data={"current": PASSWORD, "new": "another long password", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _settings_status(app, old_cookie) == 303
    assert client.get("/settings", follow_redirects=False).status_code == 200  # the one that changed it stays


def test_an_admin_ends_a_users_sessions(app: FastAPI, client: TestClient, db: Database) -> None:
    sign_up(client, "suspect")
    cookie = _cookie(client)
    make_admin(db, "boss")
    with TestClient(app, base_url="http://testserver") as admin:
        token = log_in(admin, "boss")
        form = {"username": "Suspect", "csrf_token": token}
        response = admin.post("/admin/sessions/end", data=form, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin?ended=1"
        assert admin.get("/settings", follow_redirects=False).status_code == 200  # only that account's sessions
    assert _settings_status(app, cookie) == 303


# -- log-in limits per account (audit 11) ------------------------------------------------------------------------


def test_wrong_passwords_pause_the_account_for_minutes_not_for_good(app: FastAPI, db: Database) -> None:
    with db.write_session() as session:
        make_user(session, username="target")
    statuses = []
    for attempt in range(LOGIN_FAILURES_PER_WINDOW + 1):
        # A new client each time: as from another address, so the per-address limit does not answer first.
        with TestClient(app, base_url="http://testserver", client=(f"10.0.0.{attempt}", 5000)) as guesser:
            form = {"username": "target", "password": f"guess {attempt}", "csrf_token": csrf_token(guesser, "/login")}
            response = guesser.post("/login", data=form)
            statuses.append(response.status_code)
    assert statuses[:-1] == [401] * LOGIN_FAILURES_PER_WINDOW
    assert statuses[-1] == 429
    assert 0 < int(response.headers["retry-after"]) <= LOGIN_WINDOW_SECONDS
    with db.read_session() as session:
        assert (
            wait_before(
                session,
                login_failures_key("TARGET"),
                limit=LOGIN_FAILURES_PER_WINDOW,
                window_seconds=LOGIN_WINDOW_SECONDS,
                now=time.time() + LOGIN_WINDOW_SECONDS,
            )
            == 0
        )


def _app_with_account(settings: Settings, smtp: SmtpSink, db: Database, username: str) -> FastAPI:
    """An app that mails through the sink, and an account ``username`` at ``username@example.org``."""
    with db.write_session() as session:
        create_user(session, username=username, password=PASSWORD, email=f"{username}@example.org")
    return create_app(mail_settings(settings, smtp))


def test_password_reset_by_mail_is_single_use_and_ends_every_session(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    app = _app_with_account(settings, smtp, db, "forgetful")
    with TestClient(app, base_url="http://testserver") as browser:
        log_in(browser, "forgetful")
        old_cookie = _cookie(browser)
    with TestClient(app, base_url="http://testserver") as client:
        token = csrf_token(client, "/login")
        assert 'href="/reset"' in client.get("/login").text
        known = client.post("/reset", data={"email": "Forgetful@example.org", "csrf_token": token})
        unknown = client.post("/reset", data={"email": "nobody@example.org", "csrf_token": token})
        assert known.status_code == unknown.status_code == 200 and known.text == unknown.text
        assert smtp.to("nobody@example.org") == []
        (mail,) = smtp.to("forgetful@example.org")
        path = mail_link(mail, "/reset/")
        assert client.get(path).status_code == 200
        done = client.post(path, data={"password": "a brand new password", "csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303
        again = client.post(path, data={"password": "yet another password", "csrf_token": csrf_token(client, "/login")})
        assert again.status_code == 400 and "already used" in again.text
    assert _settings_status(app, old_cookie) == 303
    with TestClient(app, base_url="http://testserver") as client:
        log_in(client, "forgetful", "a brand new password")


def test_reset_links_signed_elsewhere_or_for_an_old_password_fail(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        user = create_user(session, username="late", password=PASSWORD, email="late@example.org")
        serializer = URLSafeTimedSerializer(settings.secret_key, salt="papertide-password-reset")
        forged = URLSafeTimedSerializer("another secret", salt="papertide-password-reset").dumps([user.id, "x"])
        with pytest.raises(AccountError, match="not valid"):
            reset_password(session, settings, forged, "new password here")
        old = serializer.dumps([user.id, "whatever"])
    with db.write_session() as session, pytest.raises(AccountError, match="already used|not valid"):
        reset_password(session, settings, old, "new password here")


def test_a_reset_request_answers_the_same_when_mail_cannot_leave(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        create_user(session, username="known", password=PASSWORD, email="known@example.org")
    token = csrf_token(client, "/reset")
    known = client.post("/reset", data={"email": "known@example.org", "csrf_token": token})
    unknown = client.post("/reset", data={"email": "nobody@example.org", "csrf_token": token})
    assert known.status_code == unknown.status_code == 200 and known.text == unknown.text


def test_a_reset_revokes_api_tokens_and_logging_in_again_ends_the_old_session(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    app = _app_with_account(settings, smtp, db, "taken")
    with TestClient(app, base_url="http://testserver") as client:
        log_in(client, "taken")
        first = _cookie(client)
        write = new_token(client, csrf_token(client, "/settings"), "script", "write")
        log_in(client, "taken")  # the same browser again
        assert _settings_status(app, first) == 303
        client.post("/reset", data={"email": "taken@example.org", "csrf_token": csrf_token(client, "/reset")})
        path = mail_link(smtp.to("taken@example.org")[0], "/reset/")
        client.post(path, data={"password": "a fresh long password", "csrf_token": csrf_token(client, "/login")})
        assert client.get("/api/v1/collections", headers={"Authorization": f"Bearer {write}"}).status_code == 401
