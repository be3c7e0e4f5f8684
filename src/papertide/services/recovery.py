"""Account recovery and address changes by mail: "forgot my password" and "use this new address".

Both answer the same whatever the address, so neither tells a visitor which addresses have accounts. Links carry
signed tokens (itsdangerous, keyed by the secret, each kind with its own salt):

- a reset link expires after :data:`RESET_HOURS` and is single-use: it names a fingerprint of the password hash it
  was issued against, so once the password changes (by this link or otherwise) every earlier link is dead. Using it
  ends every session of the account and lifts the pause on wrong passwords;
- an address link (sign-up with an address, :func:`register`, or a change in Settings, :func:`change_profile`)
  works for ``PAPERTIDE_CONFIRM_TOKEN_HOURS`` and once: it carries a secret kept hashed in the token table
  (``services/tokens.py``), and using any address link of the account spends them all, so an older link cannot
  put back an address a newer one replaced. The address is set only when its owner opens it. An address that
  another account already uses gets a mail saying so (with the way to reset that account) instead of a link.

Every mail here counts against its recipient's mails of the day (``PAPERTIDE_MAIL_PER_ADDRESS_PER_DAY``): the
reset route counts before it answers, the address change here, before anything is looked up.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.mail import Mailer, MailError, MailNotConfigured, OutgoingMail
from papertide.models import User, utcnow
from papertide.people import InvalidOrcid, normalise_orcid
from papertide.services.accounts import (
    AccountError,
    DeadLink,
    Identity,
    account_email,
    email_owner,
    identity,
    set_password,
    update_profile,
)
from papertide.services.compose import render_mail
from papertide.services.ratelimit import MailLimited, count_mail_to, forget
from papertide.services.sessions import end_sessions, login_failures_key, sign_up
from papertide.services.tokens import issue_address_link, revoke_api_tokens, spend_address_link

log = logging.getLogger(__name__)
RESET_HOURS = 1
_RESET_SALT = "papertide-password-reset"
_ADDRESS_SALT = "papertide-account-address"


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=salt)


def _fingerprint(user: User) -> str:
    """What a reset link is issued against: the password hash (so the link dies with the password it resets) and
    the address (so a link sent to an address the account has since left dies too)."""
    state = f"{user.password_hash or 'no password'}|{(user.email or '').lower()}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def request_password_reset(database: Database, settings: Settings, email: str) -> None:
    """Mail a reset link when an account with a password uses ``email``; otherwise do nothing, silently. Meant to
    run after the answer has left (the page must not wait on, or tell, anything); a mail that cannot leave is
    logged."""
    try:
        address = account_email(email)
    except AccountError:
        return
    with database.read_session() as session:
        user = email_owner(session, address)
        if user is None or not user.is_active or user.password_hash is None:
            return
        token = _serializer(settings, _RESET_SALT).dumps([user.id, _fingerprint(user)])
        context = {"username": user.username, "hours": RESET_HOURS, "url": f"{settings.base_url}/reset/{token}"}
        to = user.email or address
    try:
        _send(settings, to, "Reset your papertide password", "reset", context)
    except MailError as error:
        log.warning("password reset mail for user %s not sent: %s", user.id, error)


def reset_password(session: Session, settings: Settings, token: str, new_password: str) -> Identity:
    """Set the password a reset link was sent for; every session and API token of the account ends (whoever took
    the account over may have made one), its private feed URL stays."""
    user = _reset_target(session, settings, token, lock=True)
    set_password(session, user.id, new_password)
    end_sessions(session, user.id)
    revoke_api_tokens(session, user.id)
    forget(session, login_failures_key(user.username))
    return identity(user)


def _reset_target(session: Session, settings: Settings, token: str, *, lock: bool = False) -> User:
    payload = _load(settings, _RESET_SALT, token, RESET_HOURS * 3600, "reset")
    # Locked when it is to be used, so two requests with one link cannot both pass the fingerprint (PostgreSQL).
    user = session.get(User, payload[0], with_for_update=lock) if _is_pair(payload) else None
    if user is None or not user.is_active or _fingerprint(user) != payload[1]:
        raise DeadLink("This reset link was already used or is no longer valid. Ask for a new one.")
    return user


def check_reset_token(session: Session, settings: Settings, token: str) -> None:
    """Raise :class:`AccountError` unless the reset link still works (to show the form or the reason)."""
    _reset_target(session, settings, token)


def request_address_change(database: Database, settings: Settings, user_id: int, email: str) -> str:
    """Mail ``email`` a link that makes it the account's address; returns the normalised address.

    When another account uses the address, that mail says so instead (the page answers the same). Either counts
    against the address's mails of the day (:class:`MailLimited` when over), before the owner is looked up."""
    address = account_email(email)
    with database.write_session() as session:  # kept whatever happens to the mail, so it need not be typed again
        session.execute(update(User).where(User.id == user_id).values(pending_email=address))
    with database.write_session() as session:
        count_mail_to(session, address, limit=settings.mail_per_address_per_day)
    with database.read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AccountError("That account no longer exists.")
        owner = email_owner(session, address)
        taken = owner is not None and owner.id != user_id
        username = user.username
    if taken:
        context: dict[str, Any] = {"taken": True, "url": f"{settings.base_url}/reset"}
    else:
        with database.write_session() as session:
            dead_before = utcnow() - timedelta(hours=settings.confirm_token_hours)
            secret = issue_address_link(session, user_id, dead_before=dead_before)
        token = _serializer(settings, _ADDRESS_SALT).dumps([user_id, address, secret])
        context = {"taken": False, "username": username, "hours": settings.confirm_token_hours}
        context["url"] = f"{settings.base_url}/settings/email/{token}"
    _send(settings, address, "Confirm your papertide address", "address", context)
    return address


def confirm_address(session: Session, settings: Settings, token: str, user_id: int) -> str:
    """Make the address of an address link the account's own (the signed-in ``user_id`` must be the one the link
    was made for); returns it."""
    payload = _load(settings, _ADDRESS_SALT, token, settings.confirm_token_hours * 3600, "confirmation")
    readable = isinstance(payload, list) and len(payload) == 3 and isinstance(payload[0], int)
    user = session.get(User, payload[0]) if readable and all(isinstance(part, str) for part in payload[1:]) else None
    if user is None or not user.is_active or user.id != user_id:
        raise DeadLink("This confirmation link is not valid any more.")
    owner = email_owner(session, payload[1])
    if owner is not None and owner.id != user.id:
        raise AccountError("Another account uses this address now; nothing was changed.")
    if not spend_address_link(session, user.id, payload[2]):
        raise DeadLink("This confirmation link was already used, or a newer one was; nothing was changed.")
    user.email = payload[1]
    user.pending_email = None
    return str(payload[1])


def _load(settings: Settings, salt: str, token: str, max_age: int, what: str) -> Any:
    try:
        return _serializer(settings, salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise DeadLink(f"This {what} link has expired. Ask for a new one.") from None
    except BadSignature:
        raise DeadLink(f"This {what} link is not valid. Copy the whole link from the mail.") from None


def _is_pair(payload: Any) -> bool:
    return isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)


def _send(settings: Settings, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    text, html = render_mail(template, context)
    try:
        with Mailer(settings) as mailer:
            mailer.send(OutgoingMail(to=to, subject=subject, text=text, html=html))
    except MailNotConfigured as error:
        raise MailNotConfigured("This server cannot send mail yet (its operator sets PAPERTIDE_SMTP_HOST).") from error
    except MailError as error:
        raise MailError("The mail could not be sent just now. Try again in a few minutes.") from error


@dataclass(frozen=True, slots=True)
class SignedUp:
    user: Identity
    secret: str  # the new session's, for the cookie
    address_problem: str | None  # why the address link could not be mailed, or None (mailed, or no address)


def register(database: Database, settings: Settings, username: str, password: str, email: str) -> SignedUp:
    """A new account, signed in at once; a given address is mailed its confirmation link (after the account is
    committed, so the mail never waits inside a transaction). A malformed address refuses the sign-up; a mail that
    cannot leave does not."""
    address = account_email(email) if email.strip() else None
    try:
        with database.write_session() as session:
            user, secret = sign_up(session, username, password)
    except IntegrityError:  # an import made that name between the check and the insert
        raise AccountError(f"The username {username.strip()[:40]!r} is taken; choose another.") from None
    return SignedUp(user, secret, _mail_address_link(database, settings, user.id, address) if address else None)


def change_profile(
    database: Database, settings: Settings, user_id: int, fullname: str, email: str, orcid: str = ""
) -> str | None:
    """Save the full name and the ORCID iD (empty removes it; a wrong checksum is an :class:`AccountError`); mail
    a confirmation link when ``email`` differs from the account's address. Returns "sent" when a link went out,
    None when only the name changed, else what stopped the mail."""
    try:
        orcid_id = normalise_orcid(orcid)
    except InvalidOrcid as error:
        raise AccountError(str(error)) from None
    with database.write_session() as session:
        current = update_profile(session, user_id, fullname=fullname, orcid=orcid_id)
    if not email.strip() or email.strip().lower() == (current or "").lower():
        return None
    return _mail_address_link(database, settings, user_id, email) or "sent"


def _mail_address_link(database: Database, settings: Settings, user_id: int, email: str) -> str | None:
    try:
        request_address_change(database, settings, user_id, email)
    except (AccountError, MailError, MailLimited) as error:
        return str(error)
    return None
