"""What a daily digest covers and says, over the SMTP sink (issue 33): every featured day since the subscriber's
last digest up to yesterday, weekends included; a first digest the last featured day; every chosen section there
or saying why it is empty; picks explained; the daily list's combined votes; nothing sent when nothing is new, and
the next digest saying how long it has been."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper
from papertide.records import AuthorRecord
from papertide.search.semantic import Semantic
from papertide.services.accounts import create_user
from papertide.services.digests import send_digests
from papertide.services.embeddings import embed_new_papers
from papertide.services.follows import follow
from papertide.services.papers import feature_papers
from papertide.services.subscriptions import Preferences, subscribe
from papertide.services.votes import set_vote
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink

THURSDAY, FRIDAY, SATURDAY, SUNDAY = (date(2026, 8, d) for d in (20, 21, 22, 23))
MONDAY, TUESDAY, WEDNESDAY = date(2026, 8, 24), date(2026, 8, 25), date(2026, 8, 26)


def _feature(db: Database, day: date, titles: list[str], upvotes: int = 5, author: str = "Ada Lovelace") -> None:
    """Papers featured on ``day`` that arXiv announced that day too."""
    records = [
        make_featured_record(
            featured_on=day,
            upvotes=upvotes + index,
            paper=make_paper_record(title=title, authors=(AuthorRecord(author),), announced_on=day, categories=()),
        )
        for index, title in enumerate(titles)
    ]
    with db.write_session() as session:
        feature_papers(session, records)


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_daily_digest_carries_the_weekend_says_why_sections_are_empty_and_skips_nothing_new(
    settings: Settings, db: Database, smtp: SmtpSink, semantic: Semantic
) -> None:
    settings = mail_settings(settings, smtp)
    _feature(db, THURSDAY, ["Sparse attention for long documents", "Graph transformers at scale"])
    _feature(db, SATURDAY, ["Reward models from human preferences", "Diffusion models for video generation"], 40)
    _feature(db, SUNDAY, ["Vision transformers for robot grasping"], 20, author="Denny Zhou")
    with db.write_session() as session:
        user = create_user(session, username="reader", password="a long enough password")
        follow(session, user.id, "author", "Xuezhi Wang")
        preferences = Preferences(trending=True, personal=True, searches=("quantum error correction",))
        subscription = subscribe(session, "reader@example.org", "daily", preferences, user_id=user.id).subscription
        subscription.status = "active"
        liked = session.execute(select(Paper.id).where(Paper.title.startswith("Diffusion"))).scalar_one()
        set_vote(session, user.id, liked, up=True)
    embed_new_papers(db, semantic)

    assert send_digests(db, settings, "daily", FRIDAY, semantic).sent == 1  # a first digest: the last featured day
    first = _text(smtp.messages[-1])
    assert "Your first digest: the papers of Thursday, August 20, 2026." in first
    first_top = first.split("== Top papers ==")[1].split("==")[0]
    assert "Sparse attention" in first_top and "Diffusion" not in first_top

    monday = send_digests(db, settings, "daily", MONDAY, semantic)  # Friday to Sunday, the weekend included
    assert monday.sent == 1
    weekend = _text(smtp.messages[-1])
    assert "papers for Friday, August 21 – Sunday, August 23, 2026" in weekend
    assert "Every day since your last digest (Thursday, August 20): 3 days, the weekend included." in weekend
    top = weekend.split("== Top papers ==")[1].split("==")[0]
    assert top.index("Diffusion models") < top.index("Reward models") < top.index("Vision transformers")
    # hf.co's and this instance's votes together, as the daily list counts them
    assert "Diffusion models for video generation\n   Ada Lovelace · 42 upvotes" in top and "here" not in top
    assert "No new papers by Xuezhi Wang from Friday, August 21, 2026 to Sunday, August 23, 2026." in weekend
    assert "`quantum error correction`" in weekend and "No new papers match it since your last digest." in weekend
    picked = weekend.split("== Picked for you ==")[1]
    assert "because you upvoted" in picked.lower() or "like " in picked.lower()

    assert send_digests(db, settings, "daily", TUESDAY, semantic).skipped == 1  # Monday brought nothing new
    assert len(smtp.messages) == 2
    _feature(db, TUESDAY, ["Quantum error correction with surface codes"])
    assert send_digests(db, settings, "daily", WEDNESDAY, semantic).sent == 1
    later = _text(smtp.messages[-1])
    assert "Every day since your last digest (Sunday, August 23): 2 days." in later
    assert "Quantum error correction with surface codes" in later.split("`quantum error correction`")[1]
