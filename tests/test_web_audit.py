"""Findings of the outside audit on accounts, sessions, tokens and redirects: each test reproduces one finding."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select, update

from papertide.app import SESSION_COOKIE, create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import AccessToken, Collection, Paper, Subscription, User
from papertide.records import AuthorRecord
from papertide.services.accounts import AccountError, create_user
from papertide.services.papers import upsert_papers
from papertide.services.ratelimit import wait_before
from papertide.services.recovery import reset_password
from papertide.services.sessions import LOGIN_FAILURES_PER_WINDOW, LOGIN_WINDOW_SECONDS, login_failures_key
from papertide.services.subscriptions import Preferences, SubscriptionError, Tokens, subscribe
from papertide.web.middleware.accesslog import redact_secrets
from papertide.web.rendering.templating import same_site_path
from tests.helpers.cli import run_cli
from tests.helpers.databases import fresh_database
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.replay import ReplayServer, Reply
from tests.helpers.servers import serving
from tests.helpers.settings import mail_settings, make_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import csrf_token, log_in, make_admin, new_token, sign_up


@pytest.mark.parametrize(
    "referer",
    [
        "http://testserver//evil.example",
        "http://testserver//evil.example/path?x=1",
        "http://testserver/\\evil.example",
        "http://testserver/%2F/evil.example",
        "https://evil.example/papers",
        "//evil.example",
        "javascript:alert(1)",
    ],
)
def test_redirect_back_never_leaves_the_site(client: TestClient, db: Database, referer: str) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00001")])
    token = sign_up(client, "voter")
    response = client.post(
        "/papers/2501.00001/vote",
        data={"csrf_token": token, "value": "1"},
        headers={"referer": referer},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert same_site_path(location) == location, location


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example/", "/ok\\..\\x"])
def test_same_site_path_refuses_what_a_browser_reads_as_another_host(target: str) -> None:
    assert same_site_path(target) is None


def test_same_site_path_keeps_paths_and_queries() -> None:
    assert same_site_path("/papers/2501.00001?x=1") == "/papers/2501.00001?x=1"


def test_login_next_cannot_point_elsewhere(client: TestClient) -> None:
    page = client.get("/login", params={"next": "/\\evil.example"}).text
    assert "evil.example" not in page
    token = csrf_token(client, "/login")
    assert token


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


# -- tokens: one table, scoped, never account management (audit 7, 8; structure) ---------------------------------


def _api_token(client: TestClient, scope: str) -> str:
    token = csrf_token(client, "/settings")
    page = client.post("/settings/tokens", data={"name": "script", "scope": scope, "csrf_token": token}).text
    match = re.search(r"(pt_[A-Za-z0-9_-]{20,})", page)
    assert match, page
    return match.group(1)


def test_a_write_token_cannot_manage_the_account(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "scripted")
    write = _api_token(client, "write")
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
    write = _api_token(client, "write")
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
    read = _api_token(client, "read")
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


# -- log-in limits per account (audit 11) ------------------------------------------------------------------------


def test_wrong_passwords_pause_the_account_for_minutes_not_for_good(app: FastAPI, db: Database) -> None:
    with db.write_session() as session:
        create_user(session, username="target", password=PASSWORD)
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


# -- addresses: case-insensitive, never revealed (audit 12), one normaliser (structure) ----------------------------

ADDRESSES = [
    ("ada@example.org", True),
    ("ADA@Example.ORG", True),
    ("a.b+tag@sub.example.co", True),
    ("no-at-sign.example.org", False),
    ("two@@example.org", False),
    ("space in@example.org", False),
    ('"quoted"@example.org', False),
    ("a@b", False),
    ("x@" + "a" * 250 + ".org", False),
    ("comma,list@example.org", False),
]


@pytest.mark.parametrize(("address", "valid"), ADDRESSES)
def test_accounts_and_subscriptions_accept_the_same_addresses(db: Database, address: str, valid: bool) -> None:
    with db.write_session() as session:
        try:
            account = create_user(session, username="someone", password=PASSWORD, email=address)
        except AccountError:
            account = None
        try:
            subscribed = subscribe(session, address, "daily", Preferences())
        except SubscriptionError:
            subscribed = None
    assert (account is not None) is valid
    assert (subscribed is not None) is valid
    if valid:
        assert account is not None and subscribed is not None
        assert account.email == subscribed.subscription.email == address.lower()


def test_signup_with_a_registered_address_reveals_nothing_and_mails_its_owner(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp)
    with db.write_session() as session:
        create_user(session, username="alice", password=PASSWORD, email="alice@example.org")
    answers = []
    for username, address in (("newcomer", "fresh@example.org"), ("mallory", "ALICE@example.org")):
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            form = {
                "username": username,
                "password": PASSWORD,
                "email": address,
                "csrf_token": csrf_token(client, "/signup"),
            }
            response = client.post("/signup", data=form)
            page = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text.replace(username, "NAME"))
            answers.append((response.status_code, page))
    assert answers[0] == answers[1]
    (taken,) = smtp.to("alice@example.org")
    assert "another account already uses it" in taken.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with db.read_session() as session:
        assert session.execute(select(User.email).where(User.username == "mallory")).scalar_one() is None


def test_a_new_address_counts_only_once_confirmed(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    settings = mail_settings(settings, smtp)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        token = sign_up(client, "mover")
        client.post("/settings/profile", data={"fullname": "M", "email": "New@Example.org", "csrf_token": token})
        with db.read_session() as session:
            assert session.execute(select(User.email).where(User.username == "mover")).scalar_one() is None
        (mail,) = smtp.to("new@example.org")
        path = _link(mail, "/settings/email/")
        assert client.get(path).status_code == 200  # a button, not a change
        client.post(path, data={"csrf_token": token})
    with db.read_session() as session:
        assert session.execute(select(User.email).where(User.username == "mover")).scalar_one() == "new@example.org"


def test_profile_json_does_not_publish_admin_flags(client: TestClient, db: Database) -> None:
    make_admin(db, "root")
    person = client.get("/users/root.json").json()["person"]
    assert "is_admin" not in person and "email" not in person


# -- password reset by mail (audit 16) ----------------------------------------------------------------------------


def _link(mail: EmailMessage, prefix: str) -> str:
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://testserver(" + re.escape(prefix) + r"[^\s]+)", text)
    assert match, text
    return match.group(1)


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
        path = _link(mail, "/reset/")
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


# -- export (audit 6) ---------------------------------------------------------------------------------------------


def test_an_admins_read_token_cannot_export_and_no_export_carries_password_hashes(
    client: TestClient, db: Database
) -> None:
    make_admin(db, "root")
    log_in(client, "root")
    read, write = _api_token(client, "read"), _api_token(client, "write")
    client.cookies.clear()
    assert client.get("/api/v1/export", headers={"Authorization": f"Bearer {read}"}).status_code == 403
    exported = client.get("/api/v1/export", headers={"Authorization": f"Bearer {write}"})
    assert exported.status_code == 200
    users = [json.loads(line)["row"] for line in exported.text.splitlines()[1:] if '"table": "users"' in line]
    assert users and all(user["password_hash"] is None for user in users)
    assert "argon2" not in exported.text


# -- subscription links (audit 9, 10) -----------------------------------------------------------------------------


def test_a_confirm_link_is_single_use_even_after_an_unsubscribe(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        subscription = subscribe(session, "once@example.org", "daily", Preferences()).subscription
        tokens = Tokens.of(settings)
        confirm_link, manage_link = tokens.confirm_token(subscription), tokens.manage_token(subscription)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        token = csrf_token(client, "/subscribe")
        assert client.post("/subscribe/confirm", data={"token": confirm_link, "csrf_token": token}).status_code == 200
        one_click = client.post(
            f"/unsubscribe?token={manage_link}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200
        replayed = client.post("/subscribe/confirm", data={"token": confirm_link, "csrf_token": token})
        assert replayed.status_code == 400 and "already used" in replayed.text
    with db.read_session() as session:
        assert session.execute(select(Subscription.status)).scalar_one() == "unsubscribed"


def test_manage_links_expire(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        subscription = subscribe(session, "old@example.org", "daily", Preferences()).subscription
        link = Tokens.of(settings).manage_token(subscription)
    stale = Tokens(settings.secret_key, settings.confirm_token_hours, settings.manage_link_days)
    stale.manage_seconds = -1
    with db.read_session() as session, pytest.raises(SubscriptionError, match="expired"):
        stale.from_manage_token(session, link)


def test_logs_never_carry_link_tokens() -> None:
    line = redact_secrets(
        'GET /feeds/personal/pt_abcdefABCDEF123456.rss HTTP/1.1" 200 and /subscription?token=eyJx.y-z'
    )
    assert "pt_abcdef" not in line and "eyJx" not in line and "/feeds/personal/" in line


def test_the_access_log_filter_rewrites_uvicorns_records(app: FastAPI) -> None:
    import logging

    logger = logging.getLogger("uvicorn.access")
    record = logger.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/feeds/personal/pt_secretsecret.rss", "1.1", 200),
        None,
    )
    assert all(f.filter(record) for f in logger.filters) and logger.filters
    assert "pt_secretsecret" not in record.getMessage() and "[redacted].rss" in record.getMessage()


# -- faults tell the truth (audit 14), hardening (audit 15) --------------------------------------------------------


@pytest.fixture
def read_only_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A migrated SQLite database opened read-only, as on a read-only mount (tests/test_health_readiness.py covers a
    read-only PostgreSQL)."""
    with fresh_database(request, "sqlite", tmp_path) as url:
        path = url.removeprefix("sqlite:///")
        yield make_settings(f"sqlite:///file:{path}?mode=ro&uri=true", tmp_path, semantic_search=False)


def test_readyz_answers_503_on_a_read_only_database(read_only_settings: Settings) -> None:
    with TestClient(create_app(read_only_settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["problems"] == ["the database refuses writes (read-only)"]


def test_serve_on_a_read_only_database_says_so_and_exits(read_only_settings: Settings) -> None:
    result = run_cli(read_only_settings, "serve", "--port", "1")
    assert result.returncode == 1
    assert "Not serving: the database refuses writes" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_metrics_are_off_in_production_until_a_token_is_set(settings: Settings) -> None:
    production = {"env": "production", "secret_key": "s" * 40, "semantic_search": False}
    with TestClient(create_app(settings.model_copy(update=production))) as client:
        assert client.get("/metrics").status_code == 404
    with TestClient(create_app(settings.model_copy(update={**production, "metrics_token": "t" * 20}))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 20}).status_code == 200


def test_the_development_secret_is_announced_loudly(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="papertide.app"):
        create_app(settings.model_copy(update={"semantic_search": False}))
    assert any("development secret" in record.getMessage() for record in caplog.records)


# -- paper links: a self-chosen name proves nothing (audit 2) -------------------------------------------------------


def test_a_full_name_matching_an_author_does_not_open_link_editing(client: TestClient, db: Database) -> None:
    record = make_paper_record(arxiv_id="2501.00031", authors=[AuthorRecord("Ada Lovelace")])
    with db.write_session() as session:
        upsert_papers(session, [record])
    token = sign_up(client, "impostor")
    client.post("/settings/profile", data={"fullname": "Ada Lovelace", "csrf_token": token})
    assert "/papers/2501.00031/links" not in client.get("/papers/2501.00031").text
    refused = client.post("/papers/2501.00031/links", data={"code_url": "https://evil.example", "csrf_token": token})
    assert refused.status_code == 403
    with db.write_session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == "2501.00031").values(hidden=True))
    hidden = client.post("/papers/2501.00031/links", data={"code_url": "https://evil.example", "csrf_token": token})
    assert hidden.status_code == 404
    with db.read_session() as session:
        assert session.execute(select(Paper.code_url)).scalar_one() is None


def test_an_admin_may_edit_links(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00032")])
    make_admin(db, "root")
    token = log_in(client, "root")
    saved = client.post("/papers/2501.00032/links", data={"code_url": "https://github.com/a/b", "csrf_token": token})
    assert saved.status_code == 200
    with db.read_session() as session:
        assert session.execute(select(Paper.code_url)).scalar_one() == "https://github.com/a/b"


def test_form_text_loses_what_xml_cannot_carry(client: TestClient, db: Database) -> None:
    token = sign_up(client, "typist")
    client.post("/collections", data={"title": "Reading\x01 list\x1f", "description": "a\x0bb", "csrf_token": token})
    client.post("/settings/profile", data={"fullname": "Ty\x02pist", "csrf_token": token})
    with db.read_session() as session:
        assert session.execute(select(Collection.title, Collection.description)).one() == ("Reading list", "ab")
        assert session.execute(select(User.fullname)).scalar_one() == "Typist"


def test_no_reader_of_a_stored_foreign_link_gets_it(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00041")])
        session.execute(update(Paper).where(Paper.arxiv_id == "2501.00041").values(code_url="javascript:alert(1)"))
    assert "javascript" not in client.get("/api/papers/2501.00041").text
    assert "javascript" not in client.get("/api/v1/papers/2501.00041").text
    assert "javascript" not in client.get("/papers/2501.00041.md").text


def test_a_stalled_request_body_is_answered_408(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"request_body_timeout_seconds": 1.0, "semantic_search": False}))
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        raw = socket.create_connection((host, int(port)))
        raw.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\nusername=a"
        )
        raw.settimeout(10)
        started = time.monotonic()
        answer = raw.recv(4096)
        raw.close()
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 5


def test_indexing_a_hidden_paper_neither_refetches_nor_overwrites_it(
    settings: Settings, db: Database, shared_data: Path
) -> None:
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2104.12255", title="Kept as the admin left it")])
        session.execute(update(Paper).where(Paper.arxiv_id == "2104.12255").values(hidden=True))
    with ReplayServer() as arxiv:
        arxiv.route("/api/query", Reply(body=fixtures / "api2026_idlist_2104.12255v1.xml"))
        configured = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query", "semantic_search": False})
        with TestClient(create_app(configured)) as client:
            token = sign_up(client, "indexer")
            write = new_token(client, token, "w", "write")
            client.cookies.clear()
            answer = client.post(
                "/api/papers/index", json={"arxivId": "2104.12255"}, headers={"Authorization": f"Bearer {write}"}
            )
        assert answer.status_code == 404 and arxiv.requests == []
    with db.read_session() as session:
        assert session.execute(select(Paper.title)).scalar_one() == "Kept as the admin left it"


# -- from the review of these fixes ----------------------------------------------------------------------------------


def test_a_form_with_too_many_fields_is_refused_not_a_crash(client: TestClient) -> None:
    csrf_token(client, "/login")  # a session with a token, as any visitor has
    body = "&".join(f"f{i}=1" for i in range(250))
    answer = client.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 403


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
        write = _api_token(client, "write")
        log_in(client, "taken")  # the same browser again
        assert _settings_status(app, first) == 303
        client.post("/reset", data={"email": "taken@example.org", "csrf_token": csrf_token(client, "/reset")})
        path = _link(smtp.to("taken@example.org")[0], "/reset/")
        client.post(path, data={"password": "a fresh long password", "csrf_token": csrf_token(client, "/login")})
        assert client.get("/api/v1/collections", headers={"Authorization": f"Bearer {write}"}).status_code == 401


def test_unsubscribe_links_of_digests_sent_before_links_expired_still_unsubscribe(
    settings: Settings, db: Database
) -> None:
    with db.write_session() as session:
        subscription = subscribe(session, "early@example.org", "daily", Preferences()).subscription
        subscription.status = "active"
        old_link = URLSafeSerializer(settings.secret_key, salt="papertide-subscription-manage").dumps(
            [subscription.id, subscription.email]
        )
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        assert client.get("/subscription", params={"token": old_link}).status_code == 400  # no more than that
        one_click = client.post(
            f"/unsubscribe?token={old_link}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200
    with db.read_session() as session:
        assert session.execute(select(Subscription.status)).scalar_one() == "unsubscribed"
