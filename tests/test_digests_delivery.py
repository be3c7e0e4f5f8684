"""Digests end to end against a real SMTP server on loopback: double opt-in over HTTP, the composed mail (both
parts, headers, links that work), one-click unsubscribe, exactly-once delivery across reruns and a kill -9,
transient and permanent SMTP failures."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.queue import enqueue
from papertide.jobs.scheduler import digests_due, enqueue_due
from papertide.jobs.worker import Worker
from papertide.models import DigestDelivery, Paper, Subscription
from papertide.records import AccountRecord, AuthorRecord
from papertide.search.semantic import open_semantic
from papertide.services.accounts import create_user
from papertide.services.digests import digest_period, send_digests
from papertide.services.papers import feature_papers
from papertide.services.subscriptions import Preferences, Tokens, subscribe
from papertide.services.votes import set_vote
from tests.helpers.cli import cli_env
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import mail_settings
from tests.helpers.smtp import SmtpSink

DAY = date(2026, 7, 9)  # a Thursday: its daily digest goes out on Friday the 10th
FRIDAY = date(2026, 7, 10)
LATEX_TITLE = r"Scaling $\mathcal{O}(n^{2})$ attention with \textbf{Týr} for $\alpha$-divergences"


def feature_day(db: Database, count: int = 3, day: date = DAY) -> list[str]:
    records = [
        make_featured_record(
            featured_on=day,
            upvotes=50 - index,
            paper=make_paper_record(
                title=LATEX_TITLE if index == 0 else f"Paper number {index} about graphs",
                authors=(AuthorRecord("Ada Lovelace"), AuthorRecord("Alan Turing")),
                categories=("cs.LG",),
                announced_on=day,
            ),
            organization=AccountRecord("meta-ai", "Meta AI") if index == 1 else None,
        )
        for index in range(count)
    ]
    with db.write_session() as session:
        feature_papers(session, records)
    return [record.paper.arxiv_id for record in records]


def active_subscription(db: Database, email: str, **preferences: object) -> int:
    with db.write_session() as session:
        outcome = subscribe(session, email, "daily", Preferences(**preferences))  # type: ignore[arg-type]
        outcome.subscription.status = "active"
        return outcome.subscription.id


def link(message: EmailMessage, path: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"http://testserver({re.escape(path)}\?token=[\w.\-]+)", text)
    assert match, f"no {path} link in:\n{text}"
    return match.group(1)


def test_subscribe_confirm_receive_and_unsubscribe_in_one_click(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp)
    ids = feature_day(db)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        page = client.get("/subscribe", params={"email": "reader@example.org"}).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {"email": "reader@example.org", "cadence": "daily", "trending": "true", "csrf_token": token}
        form["categories"] = "cs.LG"
        assert "Check your inbox" in client.post("/subscribe", data=form).text
        (confirmation,) = smtp.to("reader@example.org")
        confirm_path = link(confirmation, "/subscribe/confirm")
        assert client.get(confirm_path).status_code == 200  # a page with a button: opening the link changes nothing
        with db.read_session() as session:
            assert session.execute(select(Subscription.status)).scalar_one() == "pending"
        confirm_token = confirm_path.split("token=")[1]
        done = client.post("/subscribe/confirm", data={"token": confirm_token, "csrf_token": token})
        assert "You are subscribed" in done.text

        report = send_digests(db, settings, "daily", FRIDAY)
        assert report.sent == 1
        digest = smtp.to("reader@example.org")[-1]
        text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Scaling O(n^2) attention with Týr for α-divergences" in text and "$" not in text
        assert text.index(ids[0]) < text.index(ids[1]) < text.index(ids[2])  # by upvotes
        assert " · 50 upvotes\n" in text and "here" not in text  # the daily list's figure: hf.co's and ours together
        assert f'href="http://testserver/papers/{ids[0]}"' in html and "prefers-color-scheme: dark" in html
        assert "New in cs.LG" in text and "Top papers" in text
        assert digest["Message-ID"] and digest["Date"] and digest["Subject"].startswith("papertide daily: ")
        assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe_url, mailto = (part.strip(" <>") for part in digest["List-Unsubscribe"].split(","))
        assert unsubscribe_url.startswith("http://testserver/unsubscribe?token=")
        assert mailto == "mailto:digest@papertide.test?subject=unsubscribe"
        assert client.get(link(digest, "/subscription")).status_code == 200  # preferences without logging in
        assert client.get(unsubscribe_url.removeprefix("http://testserver")).status_code == 200  # a page only
        with db.read_session() as session:
            assert session.execute(select(Subscription.status)).scalar_one() == "active"

        client.cookies.clear()  # a mail client: no session, no CSRF token, just the RFC 8058 body
        one_click = client.post(
            unsubscribe_url.removeprefix("http://testserver"),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    with db.read_session() as session:
        assert session.execute(select(Subscription.status)).scalar_one() == "unsubscribed"
    assert send_digests(db, settings, "daily", FRIDAY).sent == 0


def test_confirmation_links_expire_and_forged_tokens_fail(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    settings = mail_settings(settings, smtp)
    with db.write_session() as session:
        subscription = subscribe(session, "late@example.org", "weekly", Preferences()).subscription
        real = Tokens(settings.secret_key, 1, settings.manage_link_days).confirm_token(subscription)
    with TestClient(create_app(settings)) as client:
        token = re.search(r'value="([^"]+)"', client.get("/subscribe").text.split("csrf_token")[1]).group(1)  # type: ignore[union-attr]
        forged = client.post("/subscribe/confirm", data={"token": real[:-3] + "abc", "csrf_token": token})
        assert forged.status_code == 400 and "not valid" in forged.text
        expired_tokens = Tokens(settings.secret_key, 1, settings.manage_link_days)
        expired_tokens.confirm_seconds = -1
        with db.read_session() as session:
            try:
                expired_tokens.from_confirm_token(session, real)
            except ValueError as error:
                assert "expired" in str(error)
            else:
                raise AssertionError("an expired token was accepted")
        bad = client.post("/subscribe", data={"email": "not an address", "trending": "true", "csrf_token": token})
        assert bad.status_code == 422 and "does not look like an email" in bad.text


def test_subscribing_an_active_address_changes_nothing(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    settings = mail_settings(settings, smtp)
    active_subscription(db, "owner@example.org", categories=("cs.CL",))
    with TestClient(create_app(settings)) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/subscribe").text).group(1)  # type: ignore[union-attr]
        form = {"email": "owner@example.org", "cadence": "weekly", "trending": "true", "csrf_token": token}
        assert "Check your inbox" in client.post("/subscribe", data=form).text
    with db.read_session() as session:
        subscription = session.execute(select(Subscription)).scalar_one()
    assert (subscription.status, subscription.cadence) == ("active", "daily")
    (notice,) = smtp.to("owner@example.org")
    assert "already receives" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_reruns_send_nothing_twice_and_empty_digests_are_skipped(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp)
    feature_day(db)
    for number in range(5):
        active_subscription(db, f"r{number}@example.org")
    active_subscription(db, "nothing@example.org", trending=False, categories=("math.AG",))
    first = send_digests(db, settings, "daily", FRIDAY)
    assert (first.sent, first.skipped) == (5, 1)
    second = send_digests(db, settings, "daily", FRIDAY)
    assert (second.sent, second.skipped) == (0, 0)
    assert len(smtp.messages) == 5


def test_transient_failures_are_retried_and_permanent_ones_suspend(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp, digest_max_failures=2)
    feature_day(db)
    feature_day(db, day=FRIDAY)
    flaky = active_subscription(db, "flaky@example.org")
    gone = active_subscription(db, "gone@example.org")
    smtp.refused.add("gone@example.org")
    smtp.replies.append("451 4.3.0 Try again later")
    report = send_digests(db, settings, "daily", FRIDAY)
    assert (report.sent, report.failed) == (1, 1)
    assert len(smtp.to("flaky@example.org")) == 1
    with db.read_session() as session:
        ledger = {row.subscription_id: row for row in session.execute(select(DigestDelivery)).scalars()}
        assert ledger[flaky].attempts == 2 and ledger[flaky].status == "sent"
        assert ledger[gone].status == "failed" and "550" in (ledger[gone].error or "")
        assert session.get_one(Subscription, gone).failure_count == 1
    assert send_digests(db, settings, "daily", FRIDAY).failed == 0  # a permanent failure is not retried
    later = send_digests(db, settings, "daily", date(2026, 7, 13))  # Monday: Friday's digest, refused again
    assert later.failed == 1 and later.suspended == 1
    with db.read_session() as session:
        assert session.get_one(Subscription, gone).status == "suspended"


def test_transient_failures_beyond_the_retries_wait_for_the_next_run(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    settings = mail_settings(settings, smtp, digest_retries=1)
    feature_day(db)
    active_subscription(db, "later@example.org")
    smtp.replies.extend(["421 4.7.0 Busy", "452 4.3.1 Full"])
    assert send_digests(db, settings, "daily", FRIDAY).retry == 1
    assert send_digests(db, settings, "daily", FRIDAY).sent == 1
    assert len(smtp.to("later@example.org")) == 1


# Killed once half the mails are out: each takes the sink's 10 ms at least, the poll 5 ms, so the kill lands mid-run.
KILLED_RUN_SUBSCRIBERS = 60


@pytest.mark.parametrize("runner", ["digest-send", "worker"])
def test_a_killed_run_is_completed_by_the_next_with_exactly_one_mail_each(
    settings: Settings, db: Database, smtp: SmtpSink, runner: str
) -> None:
    _stop_half_way_then_rerun(settings, db, smtp, runner, signal.SIGKILL)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_a_run_at_once_and_the_next_completes_it_with_exactly_one_mail_each(
    settings: Settings, db: Database, smtp: SmtpSink
) -> None:
    output = _stop_half_way_then_rerun(settings, db, smtp, "digest-send", signal.SIGINT)
    assert "Stopped. What was done so far is kept" in output and "Traceback" not in output


def _stop_half_way_then_rerun(settings: Settings, db: Database, smtp: SmtpSink, runner: str, signum: int) -> str:
    """Stop a run with ``signum`` once half the mails are out, run it again; what the stopped run printed."""
    feature_day(db)
    with db.write_session() as session:
        session.add_all(
            Subscription(
                email=f"s{n:03d}@example.org", status="active", cadence="daily", preferences={"trending": True}
            )
            for n in range(KILLED_RUN_SUBSCRIBERS)
        )
    smtp.delay = 0.01
    env = cli_env(
        settings,
        PAPERTIDE_SMTP_HOST="127.0.0.1",
        PAPERTIDE_SMTP_PORT=str(smtp.port),
        PAPERTIDE_SMTP_SECURITY="none",
        PAPERTIDE_DIGEST_LEASE_SECONDS="1",
        PAPERTIDE_JOBS_LEASE_SECONDS="1",
        PAPERTIDE_SECRET_KEY=settings.secret_key,
    )
    if runner == "worker":  # the scaled mode: a queued job, a worker killed, another worker finishing it
        enqueue(db, "digest", {"cadence": "daily", "today": FRIDAY.isoformat()})
        command = [sys.executable, "-m", "papertide", "worker", "--burst"]
    else:
        command = [sys.executable, "-m", "papertide", "digest", "send", "--today", FRIDAY.isoformat()]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(smtp.messages) < KILLED_RUN_SUBSCRIBERS // 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    signalled = time.monotonic()
    os.kill(process.pid, signum)
    _, printed = process.communicate(timeout=30)
    assert time.monotonic() - signalled < 5.0
    assert process.returncode == (-signal.SIGKILL if signum == signal.SIGKILL else 130), printed
    killed_at = len(smtp.messages)
    half_way = KILLED_RUN_SUBSCRIBERS // 2 <= killed_at < KILLED_RUN_SUBSCRIBERS
    assert half_way, f"the run was not killed half way ({killed_at} sent)"
    time.sleep(1.2)  # the dead run's lease runs out
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stderr
    received = collections.Counter(message["To"] for message in smtp.messages)
    assert max(received.values()) == 1, "someone got a second copy"
    with db.read_session() as session:
        statuses = collections.Counter(session.execute(select(DigestDelivery.status)).scalars())
        missing = {f"s{n:03d}@example.org" for n in range(KILLED_RUN_SUBSCRIBERS)} - set(received)
        in_doubt = session.execute(
            select(Subscription.email)
            .join(DigestDelivery, DigestDelivery.subscription_id == Subscription.id)
            .where(DigestDelivery.status == "in_doubt")
        ).scalars()
        assert missing <= set(in_doubt)  # only a mail the killed run may have sent is left out, and it is named
        assert statuses["sent"] + statuses["in_doubt"] == KILLED_RUN_SUBSCRIBERS and statuses["in_doubt"] <= 1
        deliveries = session.execute(select(func.count()).select_from(DigestDelivery)).scalar_one()
        assert deliveries == KILLED_RUN_SUBSCRIBERS
    return printed


def test_digest_periods() -> None:
    assert digest_period("daily", date(2026, 7, 13)).key == "daily:2026-07-12"  # Monday's run: up to Sunday
    assert digest_period("daily", date(2026, 7, 10)).key == "daily:2026-07-09"
    weekly = digest_period("weekly", date(2026, 7, 15))
    assert (weekly.key, weekly.start, weekly.end) == ("weekly:2026-W28", date(2026, 7, 6), date(2026, 7, 12))


def test_the_scheduler_sends_due_digests_once(settings: Settings, db: Database, smtp: SmtpSink) -> None:
    settings = mail_settings(settings, smtp, digest_send_hour_utc=6)
    feature_day(db)
    active_subscription(db, "early@example.org")
    assert digests_due(settings, datetime(2026, 7, 10, 5, 59, tzinfo=UTC)) == []  # before the hour
    assert digests_due(settings, datetime(2026, 7, 11, 9, 0, tzinfo=UTC)) == []  # Saturday
    assert digests_due(settings, datetime(2026, 7, 13, 9, 0, tzinfo=UTC)) == ["daily", "weekly"]  # Monday
    settings = settings.model_copy(update={"semantic_search": False})
    assert enqueue_due(db, settings, datetime(2026, 7, 10, 6, 30, tzinfo=UTC)) == ["digest:daily:2026-07-09"]
    assert enqueue_due(db, settings, datetime(2026, 7, 10, 6, 31, tzinfo=UTC)) == []
    assert enqueue_due(db, settings, datetime(2026, 7, 10, 7, 0, tzinfo=UTC)) == []  # another process's schedule
    assert Worker(db, settings, None).run_until_empty() == 1
    assert Worker(db, settings, None).run_until_empty() == 0
    assert len(smtp.to("early@example.org")) == 1


def test_personal_picks_are_explained_in_the_digest(
    settings: Settings, embedded_corpus: Database, smtp: SmtpSink, embedder: object
) -> None:
    settings = mail_settings(settings, smtp)
    db = embedded_corpus
    with db.write_session() as session:
        reader = create_user(session, username="picky", password="correct horse battery", email="picky@example.org")
        grasping = session.execute(select(Paper).where(Paper.arxiv_id == "2503.12549")).scalar_one()
        set_vote(session, reader.id, grasping.id, up=True)
        week_after = grasping.announced_on + timedelta(days=7)
        outcome = subscribe(
            session, "picky@example.org", "weekly", Preferences(trending=False, personal=True), reader.id
        )
        outcome.subscription.status = "active"
    semantic = open_semantic(settings, embedder)  # type: ignore[arg-type]
    report = send_digests(db, settings, "weekly", week_after, semantic)
    assert report.sent == 1, report.summary()
    text = smtp.to("picky@example.org")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Picked for you" in text and "because you upvoted “Grasping Partially Occluded Objects" in text
    assert "2503.12549" not in text  # the upvoted paper itself is not picked
