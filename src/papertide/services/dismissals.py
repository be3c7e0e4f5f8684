""" "Not interested": a user's dismissals of papers, which leave their picks and teach their ranker what they do not
want (:mod:`papertide.search.personal` reads them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.models import PaperDismissal, utcnow


def dismiss_paper(session: Session, user_id: int, paper_id: int) -> None:
    """Idempotent: dismissing a paper twice is one dismissal."""
    insert_ignoring_conflicts(
        session, PaperDismissal, {"user_id": user_id, "paper_id": paper_id, "created_at": utcnow()}
    )
