"""Signed-in browsers: each log-in starts a row in ``user_sessions`` that the session cookie names by a secret.

Log-in takes the ``Database``: the password check is slow on purpose and runs outside the write transaction.
Wrong passwords pause an account for minutes, except for the browsers that signed in to it before (a signed
known-device cookie, :func:`device_token`), so guessing is slow and the owner is not locked out.
The cookie (signed by Starlette's session middleware) holds the user id and the session's secret; only the
secret's SHA-256 is stored. A session opens nothing once ended (log-out), past its expiry, or when its account is
deactivated. A password change or reset ends every other session of the account, and its API tokens; an admin can
end all of its sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.models import User, UserSession, utcnow
from papertide.services.accounts import Identity, check_password, create_user, identity, set_password
from papertide.services.ratelimit import hit, wait_before
from papertide.services.tokens import revoke_api_tokens

SESSION_DAYS = 30


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user_id: int) -> str:
    """A new session for ``user_id``; returns the secret its cookie carries."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            user_id=user_id, secret_hash=_digest(secret), created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)
        )
    )
    return secret


def session_user(session: Session, user_id: int, secret: str) -> Identity | None:
    """The account a cookie's session opens, or None when the session ended, expired or the account is closed."""
    user = session.execute(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.secret_hash == _digest(secret),
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    ).scalar()
    return identity(user) if user else None


def end_session(session: Session, secret: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.secret_hash == _digest(secret), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every live session of the account but ``keep`` (the one making the change); returns how many ended."""
    statement = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(UserSession.secret_hash != _digest(keep))
    result = session.execute(statement.values(ended_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


LOGIN_FAILURES_PER_WINDOW = 10
LOGIN_WINDOW_SECONDS = 300
DEVICE_DAYS = 365
_DEVICE_SALT = "papertide-known-device"


class LoginPaused(Exception):
    """Too many wrong passwords for one account lately; ``retry_after`` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many wrong passwords for this account; try again in {retry_after} s, sign in from a browser you "
            "used before, or reset the password by mail."
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A browser that signed in to ``user_id`` before (a signed cookie): the pause on wrong passwords of that
    account does not stop it, so a stranger guessing cannot lock the owner out."""

    user_id: int
    nonce: str


def device_token(settings: Settings, user_id: int) -> str:
    """The value of the known-device cookie a browser gets when it signs in to ``user_id``."""
    return URLSafeTimedSerializer(settings.secret_key, salt=_DEVICE_SALT).dumps([user_id, secrets.token_urlsafe(16)])


def known_device(settings: Settings, token: str | None) -> KnownDevice | None:
    """The device a cookie names, None for no cookie, a forged or an older one than :data:`DEVICE_DAYS`."""
    if not token:
        return None
    try:
        value = URLSafeTimedSerializer(settings.secret_key, salt=_DEVICE_SALT).loads(token, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str):
        return KnownDevice(value[0], value[1])
    return None


def log_in(
    database: Database, username: str, password: str, *, replacing: str | None, device: KnownDevice | None = None
) -> tuple[Identity, str] | None:
    """The account and a new session's secret when the password matches, else None; ``replacing`` (the browser's
    earlier session, if any) ends.

    The password is checked in a read transaction and only the outcome is written, so argon2's deliberate slowness
    never holds SQLite's write lock. Wrong passwords count per account as well as per address (the route limits
    those): after :data:`LOGIN_FAILURES_PER_WINDOW` in a window of :data:`LOGIN_WINDOW_SECONDS`, the account takes no
    password until the window ends, so guessing from many addresses is slow. The owner is not locked out by it:
    a browser that signed in to the account before (``device``) still may, its own wrong passwords counted
    against it alone (a stolen cookie guesses as slowly), and a reset link lifts the pause. The trade-off, in
    docs/deployment.md: a new browser of the owner's waits minutes at most, or uses the reset link."""
    key = login_failures_key(username)
    with database.read_session() as session:
        trusted = _trusted(session, username, device)
        if not trusted:
            wait = wait_before(session, key, limit=LOGIN_FAILURES_PER_WINDOW, window_seconds=LOGIN_WINDOW_SECONDS)
            if wait:
                raise LoginPaused(wait)
        checked = check_password(session, username, password)
    with database.write_session() as session:
        if checked is None:
            failed = _device_key(device) if trusted and device else key
            hit(session, failed, limit=LOGIN_FAILURES_PER_WINDOW, window_seconds=LOGIN_WINDOW_SECONDS)
            return None
        if checked.rehashed:
            session.execute(update(User).where(User.id == checked.user_id).values(password_hash=checked.rehashed))
        if replacing is not None:
            end_session(session, replacing)
        return identity(session.get_one(User, checked.user_id)), start_session(session, checked.user_id)


def login_failures_key(username: str) -> str:
    return f"login-failures:{username.strip().lower()}"


def _device_key(device: KnownDevice) -> str:
    return f"login-failures:device:{device.nonce}"


def _trusted(session: Session, username: str, device: KnownDevice | None) -> bool:
    """Whether ``device`` signed in to ``username`` before and has not itself had too many wrong passwords."""
    if device is None:
        return False
    user_id = session.execute(select(User.id).where(func.lower(User.username) == username.strip().lower())).scalar()
    if user_id != device.user_id:
        return False
    key = _device_key(device)
    return wait_before(session, key, limit=LOGIN_FAILURES_PER_WINDOW, window_seconds=LOGIN_WINDOW_SECONDS) == 0


def change_password(session: Session, user_id: int, current: str, new: str, *, keep: str | None) -> None:
    """Set a new password after checking the current one; every other session of the account ends, and so does
    every API token (as a reset ends them): a password is changed when someone else may know it, and whoever did
    may have made a token. The owner makes new ones in Settings; the personal feed URL stays (a feed reader
    cannot be told a new one, and it opens nothing but that feed)."""
    set_password(session, user_id, new, current=current)
    end_sessions(session, user_id, keep=keep)
    revoke_api_tokens(session, user_id)


def sign_up(session: Session, username: str, password: str) -> tuple[Identity, str]:
    """A new account with a password, signed in at once; an address is added by mail confirmation only."""
    user = create_user(session, username=username, password=password)
    return identity(user), start_session(session, user.id)
