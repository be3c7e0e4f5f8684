"""Who may edit an author's links: not someone whose full name matches the author, an admin may; a stored foreign
link reaches no reader.

From the outside audit: each test reproduces one finding."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.db import Database
from papertide.models import Paper
from papertide.records import AuthorRecord
from papertide.services.papers import upsert_papers
from tests.helpers.factories import make_paper_record
from tests.helpers.web import log_in, make_admin, sign_up

# -- paper links: a self-chosen name proves nothing (audit 2) -------------------------------------------------------


def test_a_full_name_matching_an_author_does_not_open_link_editing(client: TestClient, db: Database) -> None:
    record = make_paper_record(arxiv_id="2501.00031", authors=[AuthorRecord("Ada Lovelace")])
    with db.write_session() as session:
        upsert_papers(session, [record])
    token = sign_up(client, "impostor")
    client.post("/settings/profile", data={"fullname": "Ada Lovelace", "csrf_token": token})
    assert "/papers/2501.00031/links" not in client.get("/papers/2501.00031").text
    refused = client.post("/papers/2501.00031/links", data={"code_url": "https://evil.example", "csrf_token": token})
    assert refused.status_code == 403
    with db.write_session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == "2501.00031").values(hidden=True))
    hidden = client.post("/papers/2501.00031/links", data={"code_url": "https://evil.example", "csrf_token": token})
    assert hidden.status_code == 404
    with db.read_session() as session:
        assert session.execute(select(Paper.code_url)).scalar_one() is None


def test_an_admin_may_edit_links(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00032")])
    make_admin(db, "root")
    token = log_in(client, "root")
    saved = client.post("/papers/2501.00032/links", data={"code_url": "https://github.com/a/b", "csrf_token": token})
    assert saved.status_code == 200
    with db.read_session() as session:
        assert session.execute(select(Paper.code_url)).scalar_one() == "https://github.com/a/b"


def test_no_reader_of_a_stored_foreign_link_gets_it(client: TestClient, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00041")])
        session.execute(update(Paper).where(Paper.arxiv_id == "2501.00041").values(code_url="javascript:alert(1)"))
    assert "javascript" not in client.get("/api/papers/2501.00041").text
    assert "javascript" not in client.get("/api/v1/papers/2501.00041").text
    assert "javascript" not in client.get("/papers/2501.00041.md").text
