"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can be told to refuse."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers.servers import free_port


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.replies: deque[str] = deque()  # replies to the next DATA commands instead of 250 ("451 …", "554 …")
        self.refused: set[str] = set()  # recipients answered with 550
        self.delay = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            scripted = self.replies.popleft() if self.replies else None
        if scripted is not None:
            return scripted
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


def mail_link(mail: EmailMessage, prefix: str) -> str:
    """The path of the first link under ``prefix`` in the plain part of ``mail`` (sent with base_url
    http://testserver, as ``mail_settings`` sets it)."""
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://testserver(" + re.escape(prefix) + r"[^\s]+)", text)
    assert match, text
    return match.group(1)
