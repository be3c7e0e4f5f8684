"""Accounts: sign-up, password checks (argon2), profile changes, admin flags, organizations and members.

Accounts imported from a Daily Papers export have no password; they show as submitters but cannot log in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import insert_ignoring_conflicts
from papertide.email_address import InvalidEmail, normalise_email
from papertide.errors import Expired, Invalid
from papertide.models import Organization, OrganizationMember, User, utcnow
from papertide.people import ACCOUNT_NAME, RESERVED_SUFFIXES, is_organization_name
from papertide.text import xml_safe

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_hasher = PasswordHasher()  # argon2-cffi's defaults (RFC 9106's second recommendation) until settings say otherwise


def configure_password_hashing(settings: Settings) -> None:
    """Hash new passwords at the argon2 cost the settings give (``PAPERTIDE_PASSWORD_HASH_*``). Stored hashes carry
    their own cost, so they keep verifying, and a log-in rehashes one made at another cost. The app factory and
    every command that opens the database call this."""
    global _hasher
    cost = (settings.password_hash_time_cost, settings.password_hash_memory_kib, settings.password_hash_parallelism)
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) != cost:
        _hasher = PasswordHasher(time_cost=cost[0], memory_cost=cost[1], parallelism=cost[2])
        _dummy_hash.cache_clear()


# A hash of a throwaway password with the parameters ``_hasher`` uses (argon2-cffi's defaults), kept as text: no
# process pays ~0.3 s to make one, and a process's first failed log-in for an unknown name costs no more than later
# ones, which would tell that the name does not exist.
_STORED_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$dceMH3oXpaQn/nyXgLLOLQ$mMhVGzuA/vAOPMS8INS2P/FbGmeJ2NfXq+IwGLbs4Ns"


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of a failed log-in the same whether or not the user exists. The stored
    hash serves while its parameters are the hasher's; made anew (once) if an argon2-cffi upgrade changed them."""
    if _hasher.check_needs_rehash(_STORED_DUMMY_HASH):
        return _hasher.hash("papertide-timing-equaliser")
    return _STORED_DUMMY_HASH


class AccountError(Invalid):
    """A sign-up or profile change that cannot be accepted; the message is shown to the person."""


class DeadLink(AccountError, Expired):
    """A reset or confirmation link that no longer works (used, expired, superseded or garbled): ask for a new
    one."""


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in person, as the web layer carries it: ids and flags, no ORM object."""

    id: int
    username: str
    is_admin: bool


def identity(user: User) -> Identity:
    return Identity(user.id, user.username, user.is_admin)


def create_user(
    session: Session, *, username: str, password: str, email: str | None = None, is_admin: bool = False
) -> User:
    username = username.strip()
    if not ACCOUNT_NAME.match(username):
        raise AccountError("A username is 2–39 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if username.lower().endswith(RESERVED_SUFFIXES):
        raise AccountError(f"A username cannot end in {', '.join(RESERVED_SUFFIXES)}: those are page formats.")
    _check_password(password)
    email = account_email(email) if email else None
    _one_sign_up_per_name(session, username)
    taken = session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first()
    if taken:
        raise AccountError(f"The username {username!r} is taken; choose another.")
    if email and email_owner(session, email) is not None:
        # Only the CLI and imports give an address here; the sign-up form confirms one by mail first.
        raise AccountError("An account with that email address exists.")
    user = User(
        username=username,
        email=email,
        password_hash=_hasher.hash(password),
        is_admin=is_admin,
        is_active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def _one_sign_up_per_name(session: Session, username: str) -> None:
    """Make sign-ups of one name, in any case, wait for each other until their transactions end, so the check
    below sees an account made a moment before. SQLite has one writer at a time already; on PostgreSQL two
    sign-ups read at once, and the unique index on ``username`` tells ``Racer`` from ``racer``."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"papertide-user:{username.lower()}"))))


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """A matching password: whose it is, and its new hash when argon2's parameters changed since it was set."""

    user_id: int
    rehashed: str | None


def check_password(session: Session, username: str, password: str) -> PasswordCheck | None:
    """Whether ``password`` opens ``username``'s account; reads only, so the slow argon2 work runs outside any write
    transaction. A failed check takes as long whether or not the account exists."""
    user = session.execute(select(User).where(func.lower(User.username) == username.strip().lower())).scalar()
    if user is None or user.password_hash is None or not user.is_active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(user.password_hash) else None
    return PasswordCheck(user.id, rehashed)


def set_password(session: Session, user_id: int, new: str, *, current: str | None = None) -> User:
    """Hash and store ``new``; with ``current``, only when it is the account's password now."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    if current is not None and (user.password_hash is None or not _verify(user.password_hash, current)):
        raise AccountError("The current password is wrong.")
    _check_password(new)
    user.password_hash = _hasher.hash(new)
    return user


def update_profile(session: Session, user_id: int, *, fullname: str | None, orcid: str | None = None) -> str | None:
    """The name and the ORCID iD (already checked, ``people.normalise_orcid``) shown on the profile; returns the
    account's address, which changes only through a confirmed link (:mod:`papertide.services.recovery`)."""
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    user.fullname = xml_safe(fullname or "").strip()[:255] or None
    user.orcid = orcid
    return user.email


def set_admin(session: Session, username: str, is_admin: bool) -> None:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise AccountError(f"No user named {username!r}.")
    user.is_admin = is_admin


def account_email(email: str) -> str:
    """The normal form of an address given for an account, or :class:`AccountError` saying what is wrong."""
    try:
        return normalise_email(email)
    except InvalidEmail as error:
        raise AccountError(str(error)) from None


def email_owner(session: Session, email: str) -> User | None:
    """The account using ``email`` (compared case-insensitively: older rows may hold mixed case)."""
    return session.execute(select(User).where(func.lower(User.email) == email.lower())).scalar()


def create_organization(session: Session, name: str, fullname: str | None = None) -> Organization:
    if not is_organization_name(name):
        raise AccountError("An organization name is 2–95 letters, digits, '.', '_' or '-'.")
    if session.execute(select(Organization.id).where(func.lower(Organization.name) == name.lower())).first():
        raise AccountError(f"The organization {name!r} exists.")
    organization = Organization(name=name, fullname=fullname, created_at=utcnow())
    session.add(organization)
    session.flush()
    return organization


def add_member(session: Session, organization: str, username: str, role: str = "member") -> None:
    org_id = session.execute(select(Organization.id).where(Organization.name == organization)).scalar()
    user_id = session.execute(select(User.id).where(User.username == username)).scalar()
    if org_id is None or user_id is None:
        raise AccountError(f"No organization {organization!r} or no user {username!r}.")
    insert_ignoring_conflicts(
        session,
        OrganizationMember,
        {"organization_id": org_id, "user_id": user_id, "role": role, "joined_at": utcnow()},
    )


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long.")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
