"""Digest subscription links: a confirm link works once, even after an unsubscribe; manage links expire;
unsubscribe links of digests sent before links expired still unsubscribe.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import Subscription
from papertide.services.subscriptions import Preferences, SubscriptionError, Tokens, subscribe
from tests.helpers.web import csrf_token

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
