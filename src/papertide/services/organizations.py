"""Belonging to an organization: who may see its members-only pages, members leaving, admins changing roles and
removing members (the last admin can neither leave nor be demoted), a member sharing their activity or not, and
the private link token of the members-only feeds (the activity feed and the reading group's calendar).

A member's activity is shared with the organization from the moment they join, as the join page says; turning it
off (:func:`set_sharing`) hides all of it, what came before included, because the activity is read afresh on every
request from who shares now.

The lab token works like the personal feed token (``services/tokens.py``): one live token per user, shown once,
stored as its SHA-256, in the same table with the scope ``lab``; it opens the members-only feeds of the
organizations its owner belongs to at the time of the request, and nothing else (it is no API token).
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from papertide.errors import Conflict, Forbidden, Invalid, NotFound
from papertide.models import AccessToken, OrganizationMember, User, utcnow
from papertide.queries.lab import query_role
from papertide.services.tokens import PREFIX, token_digest

ROLES = ("member", "admin")
LAB_SCOPE = "lab"
LAB_TOKEN_NAME = "lab feeds"


class NotMember(Forbidden):
    """Only the organization's members may see or do this."""


class NotAdmin(Forbidden):
    """Only the organization's admins may do this."""


class LastAdmin(Conflict):
    """The change would leave the organization without an admin."""


class NoSuchMember(NotFound):
    """The person named is not a member of the organization."""


class BadRole(Invalid):
    """A role that is neither member nor admin."""


def require_member(session: Session, organization_id: int, name: str, user_id: int | None) -> str:
    """The role of ``user_id`` in the organization, or :class:`NotMember`."""
    role = query_role(session, organization_id, user_id)
    if role is None:
        raise NotMember(f"Only members of {name} can see or do this. Ask one of its admins for an invitation.")
    return role


def require_admin(session: Session, organization_id: int, name: str, user_id: int | None) -> None:
    if require_member(session, organization_id, name, user_id) != "admin":
        raise NotAdmin(f"Only the admins of {name} can do this.")


def join(session: Session, organization_id: int, user_id: int, role: str) -> None:
    """Add ``user_id`` with ``role``, sharing their activity (the default the join page states)."""
    session.add(
        OrganizationMember(
            organization_id=organization_id, user_id=user_id, role=role, joined_at=utcnow(), shares_activity=True
        )
    )
    session.flush()


def leave(session: Session, organization_id: int, name: str, user_id: int) -> None:
    require_member(session, organization_id, name, user_id)
    _drop(session, organization_id, name, user_id)


def remove_member(session: Session, organization_id: int, name: str, admin_id: int, username: str) -> None:
    require_admin(session, organization_id, name, admin_id)
    _drop(session, organization_id, name, _member_id(session, organization_id, name, username))


def change_role(session: Session, organization_id: int, name: str, admin_id: int, username: str, role: str) -> None:
    require_admin(session, organization_id, name, admin_id)
    if role not in ROLES:
        raise BadRole("A member's role is member or admin.")
    user_id = _member_id(session, organization_id, name, username)
    if role == "member":
        _keep_an_admin(session, organization_id, name, user_id)
    session.execute(
        update(OrganizationMember)
        .where(OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id)
        .values(role=role)
    )


def set_sharing(session: Session, organization_id: int, name: str, user_id: int, shares: bool) -> None:
    require_member(session, organization_id, name, user_id)
    session.execute(
        update(OrganizationMember)
        .where(OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id)
        .values(shares_activity=shares)
    )


def _drop(session: Session, organization_id: int, name: str, user_id: int) -> None:
    _keep_an_admin(session, organization_id, name, user_id)
    session.execute(
        delete(OrganizationMember).where(
            OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id
        )
    )


def _keep_an_admin(session: Session, organization_id: int, name: str, leaving_id: int) -> None:
    """Refuse to let ``leaving_id`` stop being an admin when no other admin would be left. The admins' rows are
    locked (PostgreSQL), so two admins demoting each other at once cannot both pass."""
    admins = list(
        session.execute(
            select(OrganizationMember.user_id)
            .where(OrganizationMember.organization_id == organization_id, OrganizationMember.role == "admin")
            .with_for_update()
        ).scalars()
    )
    if admins == [leaving_id]:
        raise LastAdmin(f"You are the last admin of {name}: make another member an admin first.")


def _member_id(session: Session, organization_id: int, name: str, username: str) -> int:
    found = session.execute(
        select(User.id)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == organization_id, func.lower(User.username) == username.lower())
    ).scalar()
    if found is None:
        raise NoSuchMember(f"{username[:64]} is not a member of {name}.")
    return int(found)


def issue_lab_token(session: Session, user_id: int) -> str:
    """A new token for the user's members-only feed links (shown once); any earlier one stops working."""
    session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.scope == LAB_SCOPE, AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    token = PREFIX + secrets.token_urlsafe(30)
    session.add(AccessToken(user_id=user_id, name=LAB_TOKEN_NAME, scope=LAB_SCOPE, token_hash=token_digest(token)))
    return token


def user_for_lab_token(session: Session, token: str) -> int | None:
    """The owner of a live lab token (an active account), or None."""
    return session.execute(
        select(AccessToken.user_id)
        .join(User, User.id == AccessToken.user_id)
        .where(
            AccessToken.token_hash == token_digest(token),
            AccessToken.scope == LAB_SCOPE,
            AccessToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).scalar()
