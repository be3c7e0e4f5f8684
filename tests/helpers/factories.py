"""Factories with random defaults and keyword overrides (linkding's ``setup_bookmark``): ``make_*_record`` builds the
plain records sources produce; ``make_user``, ``make_paper``, ``make_featured``, ``make_collection`` and
``make_comment`` write rows through the same service verbs the app uses, in the caller's write session, and return
them. A test names only the values it asserts on."""

from __future__ import annotations

import random
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import Collection, Comment, Paper, User
from papertide.records import AccountRecord, AuthorRecord, FeaturedRecord, PaperRecord, VersionRecord
from papertide.services.accounts import create_user
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.comments import add_comment
from papertide.services.papers import feature_papers, upsert_papers

# Tests that log in through a form use this password; make_user gives it to every account it makes.
PASSWORD = "correct horse battery"

_rng = random.Random()


_issued: set[str] = set()


def random_arxiv_id() -> str:
    """An id no earlier call in this process returned: 300 random draws from 1.2M ids collide 4 % of the time,
    which made a test that upserts 300 papers and counts them fail now and then."""
    while True:
        arxiv_id = f"25{_rng.randint(1, 12):02d}.{_rng.randint(0, 99999):05d}"
        if arxiv_id not in _issued:
            _issued.add(arxiv_id)
            return arxiv_id


def _words(count: int) -> str:
    return " ".join("".join(_rng.choices(string.ascii_lowercase, k=_rng.randint(3, 9))) for _ in range(count))


def make_paper_record(**overrides: Any) -> PaperRecord:
    submitted = datetime(2025, 3, 18, 15, 0, tzinfo=UTC) + timedelta(days=_rng.randint(0, 400))
    values: dict[str, Any] = {
        "arxiv_id": random_arxiv_id(),
        "title": _words(8).capitalize(),
        "abstract": _words(60),
        "version": 1,
        "authors": (AuthorRecord(_words(2).title()), AuthorRecord(_words(2).title(), ("Some University",))),
        "categories": ("cs.LG", "cs.AI"),
        "versions": (VersionRecord(1, submitted),),
        "submitted_at": submitted,
        "updated_at": submitted,
        "announced_on": submitted.date() + timedelta(days=1),
    }
    values.update(overrides)
    return PaperRecord(**values)


def make_featured_record(**overrides: Any) -> FeaturedRecord:
    values: dict[str, Any] = {
        "paper": make_paper_record(version=None),
        "featured_on": date(2026, 7, 9),
        "upvotes": _rng.randint(0, 50),
        "num_comments": _rng.randint(0, 5),
        "submitter": AccountRecord(name="user_" + _words(1)),
        "organization": None,
    }
    values.update(overrides)
    return FeaturedRecord(**values)


def make_user(session: Session, **overrides: Any) -> User:
    """An account, by ``create_user`` (username, password, email, is_admin), with ``PASSWORD`` unless told."""
    values: dict[str, Any] = {"username": "u" + _words(1) + str(_rng.randint(0, 9999)), "password": PASSWORD}
    values.update(overrides)
    return create_user(session, **values)


def make_paper(session: Session, **overrides: Any) -> Paper:
    """A paper row, upserted from ``make_paper_record(**overrides)``."""
    record = make_paper_record(**overrides)
    upsert_papers(session, [record])
    return _paper(session, record.arxiv_id)


def make_featured(session: Session, **overrides: Any) -> Paper:
    """A paper featured on a day, from ``make_featured_record(**overrides)``; returns the paper row."""
    record = make_featured_record(**overrides)
    feature_papers(session, [record])
    return _paper(session, record.paper.arxiv_id)


def make_collection(
    session: Session, *, owner: User | None = None, papers: tuple[Paper, ...] = (), **overrides: Any
) -> Collection:
    """A collection of ``owner`` (a new account unless given) holding ``papers`` in order; overrides go to
    ``create_collection`` (title, description, is_public)."""
    owner = owner or make_user(session)
    values: dict[str, Any] = {"title": _words(3).capitalize()}
    values.update(overrides)
    collection = create_collection(session, owner_id=owner.id, **values)
    for paper in papers:
        add_to_collection(session, collection_id=collection.id, owner_id=owner.id, paper_id=paper.id)
    return collection


def make_comment(
    session: Session, *, user: User | None = None, paper: Paper | None = None, **overrides: Any
) -> Comment:
    """A comment by ``user`` on ``paper`` (each new unless given); overrides go to ``add_comment`` (body, parent_id)."""
    user = user or make_user(session)
    paper = paper or make_paper(session)
    values: dict[str, Any] = {"body": _words(12).capitalize() + "."}
    values.update(overrides)
    comment = add_comment(session, user_id=user.id, paper_id=paper.id, **values)
    session.flush()
    return comment


def _paper(session: Session, arxiv_id: str) -> Paper:
    return session.execute(select(Paper).where(Paper.arxiv_id == arxiv_id)).scalar_one()
