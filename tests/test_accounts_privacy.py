"""Accounts' addresses and what they reveal: accounts and subscriptions accept the same addresses, a sign-up with a
registered address tells nobody but its owner, a new address counts once confirmed, profiles publish no admin flag.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import User
from papertide.services.accounts import AccountError, create_user
from papertide.services.subscriptions import Preferences, SubscriptionError, subscribe
from tests.helpers.factories import PASSWORD
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink, mail_link
from tests.helpers.web import csrf_token, make_admin, sign_up

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
            page = re.sub(re.escape(address), "ADDRESS", page, flags=re.IGNORECASE)  # kept pending, as typed
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
        path = mail_link(mail, "/settings/email/")
        assert client.get(path).status_code == 200  # a button, not a change
        client.post(path, data={"csrf_token": token})
    with db.read_session() as session:
        assert session.execute(select(User.email).where(User.username == "mover")).scalar_one() == "new@example.org"


def test_profile_json_does_not_publish_admin_flags(client: TestClient, db: Database) -> None:
    make_admin(db, "root")
    person = client.get("/users/root.json").json()["person"]
    assert "is_admin" not in person and "email" not in person
