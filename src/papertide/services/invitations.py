"""Invitations into an organization: its admins make a link that lets one person join, once, for
``PAPERTIDE_INVITATION_DAYS``, shown to the admin to pass on or mailed to an address.

The link's secret is kept only as its SHA-256 (``models/lab.OrganizationInvitation``); using it marks the row used
in the same statement that checks it is live, so two requests with one link cannot both join (the second finds it
used: PostgreSQL re-reads the row the first updated). A used or expired link says so (:class:`DeadInvitation`);
a link no admin made is unknown (:class:`UnknownInvitation`). Opening the link shows a page with a button: only
the button's POST joins, and the page says plainly that the member's activity is shared with the organization.

A mailed invitation counts against its recipient's mails of the day before anything else happens (the route
counts it through ``web/security.enforce_mail_limit``), and the mail is sent after the invitation is committed,
never inside a transaction. The address is not looked up: an admin learns nothing about who has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database
from papertide.errors import Conflict, Expired, NotFound
from papertide.mail import Mailer, MailError, MailNotConfigured, OutgoingMail
from papertide.models import OrganizationInvitation, utcnow
from papertide.queries.lab import query_role
from papertide.services.accounts import account_email
from papertide.services.compose import render_mail
from papertide.services.organizations import ROLES, BadRole, join, require_admin


class UnknownInvitation(NotFound):
    """No admin made this link (a mistyped or forged one)."""


class DeadInvitation(Expired):
    """The link was used already, or expired."""


class AlreadyMember(Conflict):
    """The person who opened the link belongs to the organization already."""


@dataclass(frozen=True, slots=True)
class Invitation:
    """A live invitation as its page shows it."""

    id: int
    organization_id: int
    role: str
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invitation_url(settings: Settings, organization: str, secret: str) -> str:
    return f"{settings.base_url}/orgs/{organization}/join/{secret}"


def create_invitation(
    session: Session,
    settings: Settings,
    organization_id: int,
    name: str,
    admin_id: int,
    role: str,
    email: str | None = None,
) -> str:
    """A new invitation's secret (shown once; only its hash is kept)."""
    require_admin(session, organization_id, name, admin_id)
    if role not in ROLES:
        raise BadRole("An invitation makes a member or an admin.")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OrganizationInvitation(
            organization_id=organization_id,
            invited_by_id=admin_id,
            secret_hash=_digest(secret),
            email=email,
            role=role,
            created_at=now,
            expires_at=now + timedelta(days=settings.invitation_days),
        )
    )
    return secret


def invite_by_mail(
    database: Database,
    settings: Settings,
    organization_id: int,
    name: str,
    admin: str,
    admin_id: int,
    role: str,
    email: str,
) -> str:
    """Mail an invitation to ``email`` (already counted against its mail limit); returns the address. The invitation
    is committed first, then mailed; a mail that cannot leave raises :class:`MailError` (its link stays unused and
    expires)."""
    address = account_email(email)
    with database.write_session() as session:
        secret = create_invitation(session, settings, organization_id, name, admin_id, role, address)
    context = {"organization": name, "admin": admin, "role": role, "days": settings.invitation_days}
    context["url"] = invitation_url(settings, name, secret)
    text, html = render_mail("invitation", context)
    try:
        with Mailer(settings) as mailer:
            mailer.send(OutgoingMail(to=address, subject=f"Join {name} on papertide", text=text, html=html))
    except MailNotConfigured as error:
        raise MailNotConfigured("This server cannot send mail (its operator sets PAPERTIDE_SMTP_HOST).") from error
    except MailError as error:
        raise MailError("The invitation could not be mailed just now. Try again in a few minutes.") from error
    return address


def check_invitation(session: Session, organization_id: int, secret: str) -> Invitation:
    """The live invitation ``secret`` names (for its page); :class:`DeadInvitation` or :class:`UnknownInvitation`."""
    found = session.execute(
        select(OrganizationInvitation).where(
            OrganizationInvitation.secret_hash == _digest(secret),
            OrganizationInvitation.organization_id == organization_id,
        )
    ).scalar()
    if found is None:
        raise UnknownInvitation("This invitation link is not one of this organization's. Check it was copied whole.")
    if found.used_at is not None or found.expires_at <= utcnow():
        raise DeadInvitation("This invitation was already used or has expired. Ask an admin for a new one.")
    return Invitation(found.id, found.organization_id, found.role, found.expires_at)


def accept_invitation(session: Session, organization_id: int, name: str, secret: str, user_id: int) -> str:
    """Join with the invitation, spending it; returns the role. A member already is refused and the link kept."""
    invitation = check_invitation(session, organization_id, secret)
    if query_role(session, organization_id, user_id) is not None:
        raise AlreadyMember(f"You are a member of {name} already; this invitation is left for someone else.")
    spent = session.execute(
        update(OrganizationInvitation)
        .where(
            OrganizationInvitation.id == invitation.id,
            OrganizationInvitation.used_at.is_(None),
            OrganizationInvitation.expires_at > utcnow(),
        )
        .values(used_at=utcnow(), used_by_id=user_id)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        raise DeadInvitation("This invitation was just used by someone else. Ask an admin for a new one.")
    join(session, organization_id, user_id, invitation.role)
    return invitation.role


def revoke_invitation(session: Session, organization_id: int, name: str, admin_id: int, invitation_id: int) -> None:
    """End an unused invitation now (it is kept, as used, so its link says it no longer works)."""
    require_admin(session, organization_id, name, admin_id)
    session.execute(
        update(OrganizationInvitation)
        .where(
            OrganizationInvitation.id == invitation_id,
            OrganizationInvitation.organization_id == organization_id,
            OrganizationInvitation.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
