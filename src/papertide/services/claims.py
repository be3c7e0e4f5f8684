"""Claimed authors: a signed-in user claims an author slot of a paper (one slot per paper, one claim per slot);
an administrator approves or refuses it, unless the paper's record carries, for that slot, the ORCID iD on the
claimant's profile (``authors[i].orcid``, where a source gives one), which approves it at once. An approved
claim links the slot to the user's profile, and their author page gathers every paper they claimed. A refused or
withdrawn claim is deleted: nothing of it is left behind.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.errors import Conflict, Forbidden, Invalid, NotFound
from papertide.models import AuthorClaim, Paper, User, utcnow
from papertide.people import InvalidOrcid, normalise_orcid
from papertide.services.accounts import Identity


class ClaimError(Invalid):
    """The claim cannot be made as asked; the message says why."""


class ClaimTaken(Conflict):
    """The slot is claimed already (by the asker or someone else), or the asker claims another slot of the paper."""


class ClaimNotFound(NotFound):
    """No such claim, or not the asker's."""


class AdminsOnly(Forbidden):
    """Only administrators decide on claims."""


def claim_author(session: Session, user_id: int, paper_id: int, position: int) -> AuthorClaim:
    """Claim slot ``position`` of the paper for ``user_id``: pending, or approved at once by a matching ORCID."""
    paper = session.get(Paper, paper_id)
    if paper is None or paper.hidden:
        raise ClaimNotFound("That paper is not here.")
    authors = paper.authors or []
    if not 0 <= position < len(authors):
        raise ClaimError(f"That paper has {len(authors)} author slots; choose one of them.")
    held = session.execute(select(AuthorClaim).where(AuthorClaim.paper_id == paper_id)).scalars().all()
    for claim in held:
        if claim.position == position:
            whose = "You claimed" if claim.user_id == user_id else "Someone else claimed"
            raise ClaimTaken(f"{whose} this author already; an administrator decides on it.")
        if claim.user_id == user_id:
            raise ClaimTaken("You claim another author of this paper already; withdraw that claim first.")
    now = utcnow()
    claim = AuthorClaim(paper_id=paper_id, position=position, user_id=user_id, status="pending", created_at=now)
    if _orcid_matches(session.get_one(User, user_id).orcid, authors[position]):
        claim.status, claim.approved_via, claim.decided_at = "approved", "orcid", now
    session.add(claim)
    session.flush()
    return claim


def _orcid_matches(profile_orcid: str | None, author: dict[str, object]) -> bool:
    listed = author.get("orcid")
    if not profile_orcid or not isinstance(listed, str):
        return False
    try:
        return normalise_orcid(listed) == profile_orcid
    except InvalidOrcid:
        return False


def approve_claim(session: Session, admin: Identity, claim_id: int) -> None:
    claim = _decided_by_admin(session, admin, claim_id)
    claim.status, claim.approved_via, claim.decided_at = "approved", "admin", utcnow()


def refuse_claim(session: Session, admin: Identity, claim_id: int) -> None:
    session.delete(_decided_by_admin(session, admin, claim_id))


def withdraw_claim(session: Session, user_id: int, claim_id: int) -> None:
    """The claimant takes their claim back, pending or approved."""
    claim = session.get(AuthorClaim, claim_id)
    if claim is None or claim.user_id != user_id:
        raise ClaimNotFound("That claim does not exist or is not yours.")
    session.delete(claim)


def _decided_by_admin(session: Session, admin: Identity, claim_id: int) -> AuthorClaim:
    if not admin.is_admin:
        raise AdminsOnly("Only administrators approve or refuse claims.")
    claim = session.get(AuthorClaim, claim_id)
    if claim is None:
        raise ClaimNotFound("That claim does not exist (it may have been withdrawn).")
    return claim
