"""Community features over HTTP: submitting papers, comments, moderation, collections, organizations, profiles."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.jobs.worker import Worker
from papertide.models import FeaturedPaper, Paper, User
from papertide.records import VersionRecord
from papertide.services.accounts import add_member, create_organization
from papertide.services.papers import upsert_papers
from tests.helpers.data import load_daily
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.replay import ReplayServer, Reply
from tests.helpers.web import csrf_token, log_in, make_admin, sign_up


def recent_paper(arxiv_id: str, days_ago: int = 2) -> object:
    submitted = datetime.now(UTC) - timedelta(days=days_ago)
    return make_paper_record(arxiv_id=arxiv_id, submitted_at=submitted, versions=(VersionRecord(1, submitted),))


def test_submit_a_known_recent_paper_then_refuse_the_duplicate(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [recent_paper("2611.00001")])  # type: ignore[list-item]
    token = sign_up(client, "submitter")
    done = client.post(
        "/papers/submit",
        data={"paper": "https://arxiv.org/pdf/2611.00001v1", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/papers/2611.00001", done.text[-3000:]
    page = client.get("/papers/2611.00001").text
    assert "Featured on" in page and "submitter" in page
    again = client.post("/papers/submit", data={"paper": "2611.00001", "csrf_token": token})
    assert again.status_code == 409
    assert 'href="/papers/2611.00001"' in again.text and "already submitted" in again.text
    assert client.get("/index.json").json()["cards"][0]["submitted_by"]["name"] == "submitter"


def test_submit_fetches_unknown_papers_from_arxiv(settings: Settings, db: Database, shared_data: Path) -> None:
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with ReplayServer() as arxiv:
        arxiv.route(
            "/api/query", Reply(body=fixtures / "api2026_idlist_2104.12255v1.xml"), params={"id_list": "2104.12255"}
        )
        arxiv.route("/api/query", Reply(body=fixtures / "api2026_idlist_no_results.xml"))
        configured = settings.model_copy(
            update={"arxiv_api_url": f"{arxiv.url}/api/query", "submit_window_days": 100_000}
        )
        with TestClient(create_app(configured)) as client:
            token = sign_up(client, "fetcher")
            done = client.post(
                "/papers/submit", data={"paper": "arXiv:2104.12255", "csrf_token": token}, follow_redirects=False
            )
            assert done.status_code == 303, done.text
            missing = client.post("/papers/submit", data={"paper": "2104.99999", "csrf_token": token})
            assert missing.status_code == 400 and "arXiv has no paper 2104.99999" in missing.text
    with db.read_session() as session:
        paper = session.execute(select(Paper).where(Paper.arxiv_id == "2104.12255")).scalar_one()
        assert paper.abstract and paper.authors
        assert session.execute(select(FeaturedPaper.submitted_by_id)).scalar_one() is not None


def test_a_submission_arxiv_does_not_answer_in_time_is_queued_then_done_by_a_worker(
    settings: Settings, db: Database, shared_data: Path
) -> None:
    """arXiv slower than PAPERTIDE_SUBMIT_FETCH_SECONDS, or unreachable: the reader waits that long, not 40 s, and
    learns in plain words what happens; a worker then fetches and features the paper on the day it was submitted."""
    fixtures = shared_data / "fixtures" / "arxiv_api"
    with ReplayServer() as arxiv:
        arxiv.route("/api/query", Reply(delay=3.0, body=fixtures / "api2026_idlist_2104.12255v1.xml"))
        slow = settings.model_copy(
            update={
                "arxiv_api_url": f"{arxiv.url}/api/query",
                "submit_window_days": 100_000,
                "submit_fetch_seconds": 0.5,
            }
        )
        with TestClient(create_app(slow)) as client:
            token = sign_up(client, "patient")
            started = time.monotonic()
            queued = client.post("/papers/submit", data={"paper": "2104.12255", "csrf_token": token})
            assert time.monotonic() - started < 3.0
            offline = settings.model_copy(update={"arxiv_api_url": "http://arxiv.invalid/api/query"})
            with TestClient(create_app(offline)) as offline_client:
                offline_token = log_in(offline_client, "patient")
                again = offline_client.post("/papers/submit", data={"paper": "2104.12256", "csrf_token": offline_token})
        assert queued.status_code == again.status_code == 202
        assert "will fetch 2104.12255 in the background" in queued.text and "502" not in queued.text
        with db.read_session() as session:
            assert session.execute(select(FeaturedPaper)).first() is None
        jobs = Worker(db, slow, None)
        assert jobs.run_until_empty() == 2
    with db.read_session() as session:
        featured = session.execute(
            select(Paper.arxiv_id, FeaturedPaper.featured_on, User.username)
            .join(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
            .join(User, User.id == FeaturedPaper.submitted_by_id)
        ).all()
    assert [(arxiv_id, name) for arxiv_id, _day, name in featured] == [("2104.12255", "patient")]
    assert featured[0][1] == datetime.now(UTC).date()


def test_submit_refuses_bad_ids_old_papers_and_foreign_organizations(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [recent_paper("2611.00002", days_ago=40), recent_paper("2611.00003")])  # type: ignore[list-item]
        create_organization(session, "acme-lab")
    token = sign_up(client, "picky")
    bad = client.post("/papers/submit", data={"paper": "2611.1", "csrf_token": token})
    assert bad.status_code == 400 and "not an arXiv id" in bad.text
    old = client.post("/papers/submit", data={"paper": "2611.00002", "csrf_token": token})
    assert old.status_code == 400 and "within 14 days" in old.text
    foreign = client.post(
        "/papers/submit", data={"paper": "2611.00003", "organization": "acme-lab", "csrf_token": token}
    )
    assert foreign.status_code == 400 and "not a member" in foreign.text
    with db.write_session() as session:
        add_member(session, "acme-lab", "picky")
    ok = client.post(
        "/papers/submit",
        data={"paper": "2611.00003", "organization": "acme-lab", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    org_page = client.get("/orgs/acme-lab").text
    assert "/papers/2611.00003" in org_page and "picky" in org_page


def test_comment_edit_delete_and_admin_hide(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00010")])
    make_admin(db, "moderator")
    with (
        TestClient(create_app(settings)) as alice,
        TestClient(create_app(settings)) as bob,
        TestClient(create_app(settings)) as admin,
    ):
        alice_token = sign_up(alice, "alice")
        bob_token = sign_up(bob, "bob")
        admin_token = log_in(admin, "moderator")
        alice.post("/papers/2501.00010/comments", data={"body": "First *thoughts*", "csrf_token": alice_token})
        alice.post("/papers/2501.00010/comments", data={"body": "spam spam", "csrf_token": alice_token})
        edited = alice.post("/comments/1/edit", data={"body": "Better **thoughts**", "csrf_token": alice_token})
        assert edited.status_code == 200 and "<strong>thoughts</strong>" in edited.text
        assert bob.post("/comments/1/edit", data={"body": "hijack", "csrf_token": bob_token}).status_code == 403
        assert bob.post("/comments/2/hide", data={"csrf_token": bob_token}).status_code == 403
        assert admin.post("/comments/2/hide", data={"hidden": "1", "csrf_token": admin_token}).status_code == 200
        bob_view = bob.get("/papers/2501.00010").text
        assert "spam spam" not in bob_view and "Comments (1)" in bob_view
        assert "spam spam" in admin.get("/papers/2501.00010").text
        alice.post("/comments/1/delete", data={"csrf_token": alice_token})
        after = bob.get("/papers/2501.00010").text
        assert "This comment was deleted." in after and "Comments (0)" in after
        empty = alice.post("/papers/2501.00010/comments", data={"body": "   ", "csrf_token": alice_token})
        assert empty.status_code == 400 and "cannot be empty" in empty.text


def test_admin_hides_a_paper(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00011")])
    make_admin(db, "root")
    with TestClient(create_app(settings)) as admin, TestClient(create_app(settings)) as visitor:
        token = log_in(admin, "root")
        assert admin.post("/papers/2501.00011/hide", data={"hidden": "1", "csrf_token": token}).status_code == 200
        assert visitor.get("/papers/2501.00011").status_code == 404
        assert "hidden from everyone but administrators" in admin.get("/papers/2501.00011").text
        visitor_token = sign_up(visitor, "visitor")
        assert (
            visitor.post("/papers/2501.00011/hide", data={"hidden": "0", "csrf_token": visitor_token}).status_code
            == 403
        )


def test_links_are_edited_by_the_submitter_only(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [recent_paper("2611.00004")])  # type: ignore[list-item]
    with TestClient(create_app(settings)) as owner, TestClient(create_app(settings)) as stranger:
        token = sign_up(owner, "owner")
        owner.post("/papers/submit", data={"paper": "2611.00004", "csrf_token": token})
        saved = owner.post(
            "/papers/2611.00004/links",
            data={"code_url": "https://github.com/owner/repo", "project_url": "", "csrf_token": token},
        )
        assert saved.status_code == 200 and "https://github.com/owner/repo" in saved.text
        bad = owner.post("/papers/2611.00004/links", data={"code_url": "javascript:alert(1)", "csrf_token": token})
        assert bad.status_code == 400 and "not an http(s) link" in bad.text
        other = sign_up(stranger, "stranger")
        refused = stranger.post("/papers/2611.00004/links", data={"code_url": "https://x.example", "csrf_token": other})
        assert refused.status_code == 403


def test_collections_public_private_notes(settings: Settings, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00012"), make_paper_record(arxiv_id="2501.00013")])
    with TestClient(create_app(settings)) as curator, TestClient(create_app(settings)) as reader:
        token = sign_up(curator, "curator")
        made = curator.post(
            "/collections", data={"title": "Reading list", "public": "1", "csrf_token": token}, follow_redirects=False
        )
        assert made.headers["location"] == "/users/curator/collections/reading-list"
        secret = curator.post("/collections", data={"title": "Secret", "csrf_token": token}, follow_redirects=False)
        assert secret.headers["location"] == "/users/curator/collections/secret"
        curator.post("/papers/2501.00012/collect", data={"collection_id": "1", "note": "read § 3", "csrf_token": token})
        curator.post("/papers/2501.00013/collect", data={"collection_id": "1", "csrf_token": token})
        curator.post("/papers/2501.00013/collect", data={"collection_id": "2", "csrf_token": token})
        public = reader.get("/users/curator/collections/reading-list").text
        assert "read § 3" in public and "/papers/2501.00013" in public
        assert reader.get("/users/curator/collections/secret").status_code == 404
        assert "Secret" not in reader.get("/papers/2501.00013").text
        assert "Secret" in curator.get("/papers/2501.00013").text
        reader_token = sign_up(reader, "reader")
        assert (
            reader.post(
                "/papers/2501.00012/collect", data={"collection_id": "1", "csrf_token": reader_token}
            ).status_code
            == 403
        )
        curator.post("/collections/1/items/1/note", data={"note": "changed note", "csrf_token": token})
        curator.post("/collections/1/items/2/remove", data={"csrf_token": token})
        page = curator.get("/users/curator/collections/reading-list").text
        assert "changed note" in page and "/papers/2501.00013" not in page
        curator.post("/collections/2/delete", data={"csrf_token": token})
        assert curator.get("/users/curator/collections/secret").status_code == 404


def test_profile_lists_submissions_upvotes_and_settings_work(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [recent_paper("2611.00005")])  # type: ignore[list-item]
    token = sign_up(client, "profiled")
    client.post("/papers/submit", data={"paper": "2611.00005", "csrf_token": token})
    client.post("/papers/2611.00005/vote", data={"value": "1", "csrf_token": token})
    profile = client.get("/users/profiled").text
    assert profile.count('/papers/2611.00005"') >= 2
    client.post("/settings/profile", data={"fullname": "Pro Filed", "email": "pro@example.org", "csrf_token": token})
    assert "Pro Filed" in client.get("/users/profiled").text
    wrong = client.post("/settings/password", data={"current": "nope", "new": "another password", "csrf_token": token})
    assert wrong.status_code == 400
    changed = client.post(
        "/settings/password", data={"current": PASSWORD, "new": "another password", "csrf_token": token}
    )
    assert changed.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    log_in(client, "profiled", "another password")


def test_imported_submitters_cannot_log_in(client: TestClient, db: Database, shared_data: Path) -> None:
    load_daily(db, shared_data / "fixtures" / "hf" / "hf_daily_papers_2026-07-09.json")
    with db.read_session() as session:
        imported = session.execute(select(User.username)).scalars().first()
    assert imported
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": imported, "password": "anything at all", "csrf_token": token})
    assert response.status_code == 401
    assert "imported from Daily Papers" in client.get(f"/users/{imported}").text


def test_profile_organization_and_collection_have_json_twins(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [recent_paper("2611.00006")])  # type: ignore[list-item]
        create_organization(session, "twin-lab", "Twin Lab")
    token = sign_up(client, "twinned")
    with db.write_session() as session:
        add_member(session, "twin-lab", "twinned")
    client.post("/settings/profile", data={"fullname": "T", "csrf_token": token})
    with db.write_session() as session:  # as a confirmed address link would (tests/test_accounts_privacy.py)
        session.execute(update(User).where(User.username == "twinned").values(email="secret@example.org"))
    client.post("/papers/submit", data={"paper": "2611.00006", "organization": "twin-lab", "csrf_token": token})
    client.post("/collections", data={"title": "Twins", "public": "1", "csrf_token": token})
    client.post("/papers/2611.00006/collect", data={"collection_id": "1", "note": "n", "csrf_token": token})
    profile = client.get("/users/twinned.json")
    assert profile.status_code == 200 and profile.json()["person"]["username"] == "twinned"
    assert "secret@example.org" not in profile.text and [c["arxiv_id"] for c in profile.json()["submitted"]] == [
        "2611.00006"
    ]
    org = client.get("/orgs/twin-lab.json").json()
    assert org["org"]["members"] == ["twinned"] and org["cards"][0]["arxiv_id"] == "2611.00006"
    collection = client.get("/users/twinned/collections/twins.json").json()
    assert collection["items"][0][0]["arxiv_id"] == "2611.00006" and collection["items"][0][1] == "n"


def test_usernames_cannot_shadow_page_twins(client: TestClient) -> None:
    token = csrf_token(client, "/signup")
    response = client.post("/signup", data={"username": "alice.json", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and "cannot end in" in response.text
