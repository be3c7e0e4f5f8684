"""Where the field moves reaches the inbox (issue 31): a weekly digest over the SMTP sink carries "Emerging topics"
(the topic's best recent paper and why) and "Your saved searches are accelerating" (the jump and its Poisson p),
and a quiet week carries neither."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage

import pytest

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, Topic, TopicPaper, TopicWeek
from papertide.services.digests import send_digests
from papertide.services.papers import feature_papers, upsert_papers
from papertide.services.subscriptions import Preferences, subscribe
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink

THIS_WEEK = date(2026, 6, 22)  # the weekly digest sent on Monday 2026-06-29 covers 2026-W26
MONDAY_AFTER = date(2026, 6, 29)


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _a_moving_field(db: Database) -> None:
    """ "retrieval" one paper a week for 12 weeks then 5 this week; a topic of 2 papers a week turned 10 a week."""
    quiet = [
        make_paper_record(title=f"Retrieval study {n}", announced_on=THIS_WEEK - timedelta(weeks=n, days=-1))
        for n in range(1, 13)
    ]
    burst = [
        make_paper_record(title=f"Retrieval burst {n}", announced_on=THIS_WEEK + timedelta(days=n)) for n in range(5)
    ]
    fresh = make_featured_record(
        paper=make_paper_record(title="Selective state spaces, fresh", announced_on=THIS_WEEK),
        featured_on=THIS_WEEK,
        upvotes=12,
    )
    with db.write_session() as session:
        upsert_papers(session, [*quiet, *burst])
        feature_papers(session, [fresh])
        paper_id = session.query(Paper.id).filter(Paper.title == "Selective state spaces, fresh").scalar()
        label = "state space models"
        topic = Topic(slug="state-space-models", label=label, words=[], size=1, growth=10.7, centroid=b"")
        session.add(topic)
        session.flush()
        session.add(TopicPaper(paper_id=paper_id, topic_id=topic.id, x=0.5, y=0.5))
        for n in range(16):
            papers = 10 if n < 4 else 2
            session.add(TopicWeek(topic_id=topic.id, week=THIS_WEEK - timedelta(weeks=n), papers=papers, upvotes=0))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_weekly_digest_says_what_is_emerging_and_which_saved_search_accelerates(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp)
    _a_moving_field(db)
    with db.write_session() as session:
        wanted = Preferences(trending=True, searches=("retrieval", "parsing"))
        subscribe(session, "reader@example.org", "weekly", wanted).subscription.status = "active"
    assert send_digests(db, settings, "weekly", MONDAY_AFTER, None).sent == 1
    text = _text(smtp.messages[-1])
    emerging = text.split("== Emerging topics ==")[1]
    assert "Selective state spaces, fresh" in emerging and "“state space models”" in emerging
    rising = text.split("== Your saved searches are accelerating ==")[1].split("==")[0]
    assert "Retrieval burst" in rising and "Poisson p = 0.004" in rising and "parsing" not in rising

    later = THIS_WEEK + timedelta(weeks=2)  # a quiet week: one new paper, no search jumping, and the topics build
    with db.write_session() as session:  # of that Monday found the topic steady again
        feature_papers(session, [make_featured_record(featured_on=later, paper=make_paper_record(announced_on=later))])
        session.query(Topic).update({Topic.growth: 0.3})
    assert send_digests(db, settings, "weekly", later + timedelta(weeks=1), None).sent == 1
    quiet = _text(smtp.messages[-1])
    assert "Emerging topics" not in quiet and "accelerating" not in quiet
