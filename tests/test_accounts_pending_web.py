"""A sign-up address is kept pending until mail works (issue 33): when its confirmation mail cannot leave, the
address stays on the settings page as waiting, a later save sends the link, and opening it makes the address the
account's and clears what was pending."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from papertide.app import create_app
from papertide.config import Settings
from tests.helpers.factories import PASSWORD
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import csrf_token

ADDRESS = "ada@example.org"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_address_whose_mail_could_not_leave_waits_on_the_settings_page(settings: Settings, smtp: SmtpSink) -> None:
    down = mail_settings(settings, smtp, smtp_port=1)  # nothing listens there: the mail cannot leave
    with TestClient(create_app(down), base_url="http://testserver") as client:
        form = {"username": "ada", "password": PASSWORD, "email": ADDRESS, "csrf_token": csrf_token(client, "/signup")}
        assert client.post("/signup", data=form, follow_redirects=False).status_code == 303
        page = client.get("/settings").text
        assert f'value="{ADDRESS}"' in page and "is waiting for you to open the link" in page
        assert smtp.to(ADDRESS) == []
    with TestClient(create_app(mail_settings(settings, smtp)), base_url="http://testserver") as client:
        form = {"username": "ada", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
        client.post("/login", data=form)
        profile = {"fullname": "", "email": ADDRESS, "csrf_token": csrf_token(client, "/settings")}
        assert client.post("/settings/profile", data=profile, follow_redirects=False).status_code == 303
        text = smtp.to(ADDRESS)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(r"http://testserver(/settings/email/\S+)", text)
        assert link is not None
        confirmed = client.post(link.group(1), data={"csrf_token": csrf_token(client, link.group(1))})
        assert confirmed.status_code == 200
        page = client.get("/settings").text
        assert f'value="{ADDRESS}"' in page and "is waiting" not in page
