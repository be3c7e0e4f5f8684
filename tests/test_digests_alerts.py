"""Saved searches as digest sections, over a real SMTP server on loopback: two consecutive days (the second digest
carries only the papers new since the first), a rerun that sends nothing, a retried period that carries the same
papers, followed authors and searches of an account joining its digest, and saved searches refused with a reason
on the form and the API, where an account also lists and changes its own subscriptions."""

from __future__ import annotations

import re
from datetime import date
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import AlertDelivery, Subscription
from papertide.queries.follows import query_follows
from papertide.records import AuthorRecord, PaperRecord
from papertide.services.accounts import create_user
from papertide.services.digests import send_digests
from papertide.services.follows import MAX_FOLLOWS, FollowError, follow
from papertide.services.papers import feature_papers, upsert_papers
from papertide.services.subscriptions import Preferences, Tokens, subscribe
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import csrf_token, sign_up

QUERY = 'cat:cs.CL "speculative decoding" -survey'
MONDAY, TUESDAY = date(2026, 7, 6), date(2026, 7, 7)  # digests of each go out the next morning


def _paper(
    title: str, day: date, categories: tuple[str, ...] = ("cs.CL",), author: str = "Grace Hopper"
) -> PaperRecord:
    return make_paper_record(title=title, announced_on=day, categories=categories, authors=(AuthorRecord(author),))


def _ingest(db: Database, *records: PaperRecord) -> list[str]:
    with db.write_session() as session:
        upsert_papers(session, records)
    return [record.arxiv_id for record in records]


def _subscriber(db: Database, email: str, preferences: Preferences, user_id: int | None = None) -> int:
    with db.write_session() as session:
        subscription = subscribe(session, email, "daily", preferences, user_id).subscription
        subscription.status = "active"
        return subscription.id


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_saved_search_mails_only_papers_new_since_the_last_digest(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp, digest_papers_per_section=2)
    first, second, third = _ingest(
        db,
        _paper("Speculative decoding with small drafts", MONDAY),
        _paper("Faster speculative decoding by tree search", MONDAY),
        _paper("Speculative decoding with many draft heads", MONDAY),
    )
    survey, elsewhere, unrelated = _ingest(
        db,
        _paper("A survey of speculative decoding", MONDAY),  # excluded by -survey
        _paper("Speculative decoding for vision", MONDAY, categories=("cs.CV",)),  # not cs.CL
        _paper("Parsing with grammars", MONDAY),
    )
    _subscriber(db, "alerts@example.org", Preferences(trending=False, searches=(QUERY,)))

    assert send_digests(db, settings, "daily", TUESDAY).sent == 1
    (day_one,) = smtp.to("alerts@example.org")
    text = _text(day_one)
    html = day_one.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"== New since your last digest for `{QUERY}` ==" in text
    assert "<code" in html and "cat:cs.CL &#34;speculative decoding&#34; -survey" in html
    shown = [arxiv_id for arxiv_id in (first, second, third) if arxiv_id in text]
    assert len(shown) == 2 and "…and 1 more: http://testserver/search?q=cat%3Acs.CL" in text  # two shown, one counted
    assert survey not in text and elsewhere not in text and unrelated not in text

    assert send_digests(db, settings, "daily", TUESDAY).sent == 0  # the same period again: nothing twice
    assert len(smtp.to("alerts@example.org")) == 1

    fresh, late_survey = _ingest(
        db,
        _paper("Speculative decoding meets quantization", TUESDAY),
        _paper("Speculative decoding: a survey of surveys", TUESDAY),
    )
    assert send_digests(db, settings, "daily", date(2026, 7, 8)).sent == 1
    day_two = smtp.to("alerts@example.org")[-1]
    text = _text(day_two)
    assert fresh in text and "1 paper for" in day_two["Subject"]
    assert not any(arxiv_id in text for arxiv_id in (first, second, third, survey, late_survey))
    assert "more:" not in text

    assert send_digests(db, settings, "daily", date(2026, 7, 9)).skipped == 1  # nothing new: no mail at all
    assert len(smtp.to("alerts@example.org")) == 2


def test_a_retried_period_carries_the_same_papers_and_later_ones_do_not_repeat_them(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp, digest_retries=1)
    (paper,) = _ingest(db, _paper("Speculative decoding, retried", MONDAY))
    subscription_id = _subscriber(db, "retry@example.org", Preferences(trending=False, searches=(QUERY,)))
    smtp.replies.extend(["421 4.7.0 Busy", "452 4.3.1 Full"])  # turned away twice: left to retry
    assert send_digests(db, settings, "daily", TUESDAY).retry == 1
    with db.read_session() as session:  # recorded with the claim, for this period
        rows = session.execute(select(AlertDelivery.period).where(AlertDelivery.subscription_id == subscription_id))
        assert list(rows.scalars()) == ["daily:2026-07-06"]
    assert send_digests(db, settings, "daily", TUESDAY).sent == 1  # the retry carries the same paper
    assert paper in _text(smtp.to("retry@example.org")[-1])
    assert send_digests(db, settings, "daily", date(2026, 7, 8)).skipped == 1  # and it never comes again


def test_an_accounts_follows_join_its_digest(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    settings = mail_settings(settings, smtp)
    by_author, by_search, neither = _ingest(
        db,
        _paper("Compilers for everyone", MONDAY, categories=("cs.PL",), author="Grace Brewster Hopper"),
        _paper("Reward models that count", MONDAY, categories=("cs.LG",)),
        _paper("Unrelated work", MONDAY, categories=("cs.DB",)),
    )
    featured = make_featured_record(featured_on=MONDAY, paper=_paper("Featured today", MONDAY, ("cs.AI",)))
    with db.write_session() as session:
        feature_papers(session, [featured])
        user_id = create_user(session, username="grace", password="correct horse battery").id
        follow(session, user_id, "author", "Grace Brewster Hopper")
        follow(session, user_id, "search", '"reward models"')
    _subscriber(db, "grace@example.org", Preferences(categories=("cs.DB",)), user_id)
    assert send_digests(db, settings, "daily", TUESDAY).sent == 1
    text = _text(smtp.to("grace@example.org")[-1])
    titles = re.findall(r"^== (.+) ==$", text, re.MULTILINE)
    assert len(titles) == 4 and len(set(titles)) == 4, titles  # each section once, the top papers included
    assert "== Top papers ==" in text and featured.paper.arxiv_id in text
    assert "== By Grace Brewster Hopper ==" in text and by_author in text
    assert '== New since your last digest for `"reward models"` ==' in text and by_search in text
    assert "== New in cs.DB ==" in text and neither in text


def test_saved_searches_are_checked_on_the_form_and_the_api(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    from papertide.app import create_app

    settings = mail_settings(settings, smtp)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        token = csrf_token(client, "/subscribe")
        form = {"email": "form@example.org", "cadence": "daily", "csrf_token": token, "searches": "2501.00001"}
        refused = client.post("/subscribe", data=form)
        assert refused.status_code == 422 and "not a search to follow" in refused.text
        form["searches"] = f"{QUERY}\n\n  {QUERY}  \nhas:code  sparse   attention"
        assert "Check your inbox" in client.post("/subscribe", data=form).text
        body = {"email": "api@example.org", "trending": False, "searches": ["x" * 400]}
        headers = {"X-CSRF-Token": token}  # this client holds a session cookie
        too_long = client.post("/api/v1/subscriptions", json=body, headers=headers)
        assert too_long.status_code == 422 and "at most 300 characters" in too_long.text
        body["searches"] = [QUERY]
        assert client.post("/api/v1/subscriptions", json=body, headers=headers).status_code == 202
        assert client.get("/api/v1/subscriptions").status_code == 401  # the account's list needs an account

        headers = {"X-CSRF-Token": sign_up(client, "alerter")}
        body = {"email": "mine@example.org", "trending": False, "searches": [QUERY]}
        assert client.post("/api/v1/subscriptions", json=body, headers=headers).status_code == 202
        (mine,) = client.get("/api/v1/subscriptions").json()
        assert mine["email"] == "mine@example.org" and mine["status"] == "pending" and mine["searches"] == [QUERY]
        change = {"cadence": "weekly", "trending": False, "searches": ["has:code sparse attention", QUERY]}
        changed = client.put(f"/api/v1/subscriptions/{mine['id']}", json=change, headers=headers)
        assert changed.status_code == 200 and changed.json()["searches"] == ["has:code sparse attention", QUERY]
        assert changed.json()["cadence"] == "weekly"
        others = client.put(f"/api/v1/subscriptions/{mine['id'] - 1}", json=change, headers=headers)
        assert others.status_code == 404  # another address's subscription is not this account's
        change["searches"] = ["-nothing -positive"]
        refused = client.put(f"/api/v1/subscriptions/{mine['id']}", json=change, headers=headers)
        assert refused.status_code == 422 and "not a search to follow" in refused.text
        change.update(searches=[], categories=["cs.CL<script>"])
        assert client.put(f"/api/v1/subscriptions/{mine['id']}", json=change, headers=headers).status_code == 422
        with db.read_session() as session:
            formed = session.execute(select(Subscription).where(Subscription.email == "form@example.org")).scalar_one()
            manage_token = Tokens.of(settings).manage_token(formed)
        manage = client.get("/subscription", params={"token": manage_token}).text  # one a line, escaped
        assert "cat:cs.CL &#34;speculative decoding&#34; -survey\nhas:code sparse attention</textarea>" in manage
        change = {"token": manage_token, "csrf_token": headers["X-CSRF-Token"], "searches": "has:code pruning"}
        assert "Your digest preferences are saved" in client.post("/subscription", data=change).text
    with db.read_session() as session:
        saved = dict(session.execute(select(Subscription.email, Subscription.preferences)).all())
        assert saved["form@example.org"]["searches"] == ["has:code pruning"]
        assert saved["api@example.org"]["searches"] == [QUERY]
        assert session.execute(select(func.count()).select_from(AlertDelivery)).scalar_one() == 0


def test_follows_are_capped_and_following_twice_is_one_follow(db: Database) -> None:
    with db.write_session() as session:
        user_id = create_user(session, username="avid", password="correct horse battery").id
        for number in range(MAX_FOLLOWS):
            follow(session, user_id, "search", f"topic{number} cat:cs.LG")
        assert follow(session, user_id, "search", "  topic0   cat:cs.LG ") == "topic0 cat:cs.LG"  # already followed
        with pytest.raises(FollowError, match="unfollow some first"):
            follow(session, user_id, "author", "Ada Lovelace")
        with pytest.raises(FollowError, match="no letters or digits"):
            follow(session, user_id, "author", "— ¿?")
        assert len(query_follows(session, user_id)) == MAX_FOLLOWS


HOSTILE_TITLE = (
    "Alerting <script>alert(1)</script> with <img src=x onerror=alert(2)> and "
    "$\\href{javascript:alert(3)}{links}$ Bcc: evil@example.org"
)
HOSTILE_SEARCH = 'alerting "<script>" onerror </code><b>'


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_titles_and_saved_searches_stay_text_in_digest_and_alert_mails(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    """What the second audit could not run: a title and a saved search written to break out of the mail's HTML or
    headers arrive as the words they are, to the subscriber alone."""
    settings = mail_settings(settings, smtp)
    (hostile,) = _ingest(db, _paper(HOSTILE_TITLE, MONDAY))
    with db.write_session() as session:
        feature_papers(session, [make_featured_record(paper=make_paper_record(title=HOSTILE_TITLE), upvotes=9)])
    _subscriber(db, "reader@example.org", Preferences(trending=True, searches=(HOSTILE_SEARCH,)))

    assert send_digests(db, settings, "daily", TUESDAY).sent == 1
    (mail,) = smtp.messages
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"== New since your last digest for `{HOSTILE_SEARCH}` ==" in _text(mail)
    assert hostile in _text(mail) and "onerror=alert(2)" in _text(mail)
    assert not re.search(r"<(script|img|b)\b|href=\"javascript:|</code><b>", html, re.IGNORECASE), html
    assert "&lt;script&gt;" in html and "&lt;/code&gt;&lt;b&gt;" in html
    assert mail.get_all("To") == ["reader@example.org"] and mail["Bcc"] is None and mail["Cc"] is None
    assert "\n" not in str(mail["Subject"]) and "script" not in str(mail["Subject"])
