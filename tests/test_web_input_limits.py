"""Forms and request bodies at their limits: text loses what XML cannot carry, a stalled body is answered 408, a form
with too many fields is refused, not a crash.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import Collection, User
from tests.helpers.servers import serving
from tests.helpers.web import csrf_token, sign_up


def test_form_text_loses_what_xml_cannot_carry(client: TestClient, db: Database) -> None:
    token = sign_up(client, "typist")
    client.post("/collections", data={"title": "Reading\x01 list\x1f", "description": "a\x0bb", "csrf_token": token})
    client.post("/settings/profile", data={"fullname": "Ty\x02pist", "csrf_token": token})
    with db.read_session() as session:
        assert session.execute(select(Collection.title, Collection.description)).one() == ("Reading list", "ab")
        assert session.execute(select(User.fullname)).scalar_one() == "Typist"


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


# -- from the review of these fixes ----------------------------------------------------------------------------------


def test_a_form_with_too_many_fields_is_refused_not_a_crash(client: TestClient) -> None:
    csrf_token(client, "/login")  # a session with a token, as any visitor has
    body = "&".join(f"f{i}=1" for i in range(250))
    answer = client.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 403
