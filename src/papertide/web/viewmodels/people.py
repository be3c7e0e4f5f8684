"""The pages of people: a user's profile (what they submitted, upvoted and collected) and an author's papers by
name key, with the papers the people who claimed that name gathered under them (an organization's pages are in
``organizations.py``). Each builder returns the page's context, which the HTML and its JSON twin
render alike, so a twin publishes only what the page shows (never an account's address or id)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from papertide.queries.claims import query_claimants_of_key, query_claimed_papers
from papertide.queries.collections import query_collections_of
from papertide.queries.follows import query_is_following
from papertide.queries.papers import query_votes_of
from papertide.queries.people import (
    UserProfile,
    query_author_name,
    query_author_papers,
    query_submitted_by,
    query_upvoted_by,
)
from papertide.services.accounts import Identity
from papertide.web.viewmodels.cards import card

PRIVATE_FIELDS = ("email", "id", "is_admin")
AUTHOR_PAGE_SIZE = 50
AUTHOR_MAX_PAGE = 200


def profile_page(session: Session, person: UserProfile, viewer: Identity | None) -> dict[str, Any]:
    viewer_id = viewer.id if viewer else None
    submitted = query_submitted_by(session, person.id)
    upvoted = query_upvoted_by(session, person.id)
    voted = query_votes_of(session, viewer_id, [r.id for r in submitted + upvoted])
    return {
        # Public fields only: the JSON twin must not publish an email address.
        "person": {k: v for k, v in asdict(person).items() if k not in PRIVATE_FIELDS},
        "submitted": [card(r, voted) for r in submitted],
        "upvoted": [card(r, voted) for r in upvoted],
        "collections": query_collections_of(session, person.username, viewer_id),
    }


def author_page(session: Session, key: str, page: int, viewer: Identity | None) -> dict[str, Any] | None:
    """The papers of the authors whose names fold to ``key``, a page of them; None when there are none. When people
    claimed a slot of that name (approved), the first page also gathers every paper each of them claimed, under
    their name, whatever spelling those papers use."""
    found = query_author_name(session, key)
    if found is None:
        return None
    display, total = found
    rows = query_author_papers(session, key, limit=AUTHOR_PAGE_SIZE, offset=(page - 1) * AUTHOR_PAGE_SIZE)
    claimants = query_claimants_of_key(session, key) if page == 1 else []
    claimed = {name: query_claimed_papers(session, [name]) for name in claimants}
    shown = [r.id for r in rows] + [r.id for papers in claimed.values() for r in papers]
    voted = query_votes_of(session, viewer.id if viewer else None, shown)
    following = query_is_following(session, viewer.id if viewer else None, "author", key)
    more = page * AUTHOR_PAGE_SIZE < total and page < AUTHOR_MAX_PAGE
    return {
        "author": {"key": key, "name": display, "papers": total, "following": following},
        "cards": [card(row, voted) for row in rows],
        "claimed": [
            {"username": name, "cards": [card(row, voted) for row in papers]} for name, papers in claimed.items()
        ],
        "page": page,
        "next_page": page + 1 if more else None,
    }
