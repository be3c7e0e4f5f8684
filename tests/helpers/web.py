"""Driving the web app like a person through a TestClient: read the CSRF token from a page, sign up, log in, make
an API token on the settings page; and an admin account made straight in the database."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from papertide.db import Database
from tests.helpers.factories import PASSWORD, make_user

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


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
        make_user(session, username=username, is_admin=True)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    return _account_form(client, "/login", username, password)


def new_token(client: TestClient, csrf: str, name: str, scope: str) -> str:
    """Make an API token on the settings page, as its owner would; returns the token shown once."""
    page = client.post("/settings/tokens", data={"name": name, "scope": scope, "csrf_token": csrf}).text
    match = re.search(r'class="api-token">(pt_[\w-]+)<', page)
    assert match, page
    return match.group(1)
