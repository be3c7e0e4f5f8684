"""Outgoing mail delivery: RFC 5322 messages (text + HTML, composed by :mod:`papertide.services.compose`) with
List-Unsubscribe (RFC 8058 one-click), sent over SMTP.

:class:`Mailer` keeps one SMTP connection for many messages (a digest run sends thousands) and reconnects when
the server drops it. Failures are sorted the way the retry policy needs them: :class:`TransientMailError` for 4xx
replies and network trouble (retry later), :class:`PermanentMailError` for 5xx replies (never retry).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid, parseaddr
from types import TracebackType

from papertide.config import Settings


class MailError(Exception):
    """A message was not accepted; the message says what the server answered."""


class TransientMailError(MailError):
    """Try again later: a 4xx reply, a dropped connection, a timeout."""


class PermanentMailError(MailError):
    """Do not retry: the server refused the message or the address for good (5xx)."""


class MailNotConfigured(MailError):
    """PAPERTIDE_SMTP_HOST is empty."""


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None
    unsubscribe_url: str | None = None  # https one-click URL (POST), also a page for a person (GET)


def new_message_id(settings: Settings, key: str) -> str:
    """A Message-ID made from ``key`` alone, so a resent digest carries the same id and receivers can drop it."""
    domain = parseaddr(settings.mail_from)[1].partition("@")[2] or "localhost"
    return f"<papertide.{re.sub(r'[^A-Za-z0-9.-]', '.', key)}@{domain}>"


def build_message(mail: OutgoingMail, settings: Settings) -> Message:
    """The MIME message: text, plus HTML as an alternative. Built with the ``compat32`` classes, which take headers
    as given instead of parsing each one (a third of a digest run's time with ``EmailMessage``)."""
    text = MIMEText(mail.text, "plain", "utf-8")
    message: Message = text
    if mail.html:
        message = MIMEMultipart("alternative")
        message.attach(text)
        message.attach(MIMEText(mail.html, "html", "utf-8"))
    message["From"] = _header(settings.mail_from)
    message["To"] = mail.to
    message["Subject"] = _header(mail.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mail.message_id or make_msgid()
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        mailto = settings.mail_unsubscribe_address or parseaddr(settings.mail_from)[1]
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>, <mailto:{mailto}?subject=unsubscribe>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _header(value: str) -> str:
    """ASCII as is; anything else encoded (RFC 2047), as compat32 does not do it by itself."""
    return value if value.isascii() else Header(value, "utf-8").encode()


class Mailer:
    """An SMTP session for a batch of messages: ``with Mailer(settings) as mailer: mailer.send(...)``."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise MailNotConfigured("mail is off: set PAPERTIDE_SMTP_HOST (and port, security, credentials)")
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except smtplib.SMTPAuthenticationError as error:
            raise PermanentMailError(f"SMTP login refused: {error.smtp_code} {error.smtp_error!r}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise TransientMailError(f"cannot reach SMTP server {s.smtp_host}:{s.smtp_port}: {error}") from error
        return smtp

    def send(self, mail: OutgoingMail) -> None:
        message = build_message(mail, self.settings)
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            self._reset()
            code = min(code for code, _ in error.recipients.values())
            raise _by_code(code, f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            self._reset()
            raise _by_code(error.smtp_code, f"{error.smtp_code} {error.smtp_error!r}") from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TransientMailError(f"SMTP connection failed: {error}") from error
        if refused:
            raise _by_code(min(code for code, _ in refused.values()), f"recipient refused: {refused}")

    def _reset(self) -> None:
        """After a refused message the session is still usable; RSET clears it (or reconnect next time)."""
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _by_code(code: int, detail: str) -> MailError:
    return PermanentMailError(detail) if code >= 500 else TransientMailError(detail)
