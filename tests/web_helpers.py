"""Helpers for driving the web app like a person: read the CSRF token from a page, sign up, log in, load data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from papertide.db import Database
from papertide.services.accounts import create_user
from papertide.services.papers import feature_papers
from papertide.sources.hf_daily import date_from_name, parse_daily

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_token(client: TestClient, path: str = "/") -> str:
    match = _TOKEN.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_up(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Create an account through the form; returns the CSRF token of the new session."""
    return _account_form(client, "/signup", username, password)


def _account_form(client: TestClient, path: str, username: str, password: str) -> str:
    response = client.post(
        path,
        data={"username": username, "password": password, "csrf_token": csrf_token(client, path)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_token(client)


def make_admin(db: Database, username: str) -> None:
    with db.write_session() as session:
        create_user(session, username=username, password=PASSWORD, is_admin=True)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    return _account_form(client, "/login", username, password)


def load_daily(db: Database, path: Path) -> list[dict[str, object]]:
    """Feature the papers of one real Daily Papers file; returns its raw items."""
    items = json.loads(path.read_text())
    featured, rejected = parse_daily(items, date_from_name(path))
    assert not rejected
    with db.write_session() as session:
        feature_papers(session, featured)
    return list(items)
