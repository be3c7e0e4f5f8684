"""A lab's own instance: invitations into an organization, its reading group's sessions and their papers, and
authors' claims on their author slots (issue 32; migration 0016)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from papertide.models.base import Base, UtcDateTime, utcnow


class OrganizationInvitation(Base):
    """A link that lets one person join an organization, once, until ``expires_at``. Only the SHA-256 of its secret
    is stored; a used one keeps its row (``used_at``), so a second use is told it was used."""

    __tablename__ = "organization_invitations"
    __table_args__ = (Index("ix_organization_invitations_organization_id", "organization_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))  # where the link was mailed, if it was
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReadingSession(Base):
    """One meeting of an organization's reading group: when (UTC, and the time zone it was planned in), who
    presents, where (a room or a meeting link) and the slides. Its papers are ``reading_session_papers``; its
    discussion is the papers' comments tagged with it (``comments.session_id``). ``sequence`` counts changes, as
    iCalendar's SEQUENCE, so calendar apps replace an event that moved."""

    __tablename__ = "reading_sessions"
    __table_args__ = (Index("ix_reading_sessions_organization_id_starts_at", "organization_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))  # an IANA name: Europe/Paris
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    place: Mapped[str | None] = mapped_column(String(500))
    slides_url: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class ReadingSessionPaper(Base):
    __tablename__ = "reading_session_papers"

    session_id: Mapped[int] = mapped_column(ForeignKey("reading_sessions.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AuthorClaim(Base):
    """A user's claim to be the author in slot ``position`` of a paper: ``pending`` until an administrator
    approves it, or ``approved`` (by an administrator, or at once when the paper's record carries the ORCID iD of
    the claimant's profile: ``approved_via`` says which). A refused or withdrawn claim is deleted, leaving nothing;
    one claim per slot."""

    __tablename__ = "author_claims"
    __table_args__ = (UniqueConstraint("paper_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    approved_via: Mapped[str | None] = mapped_column(String(16))  # "admin" or "orcid"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
