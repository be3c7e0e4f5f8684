"""Claimed authors (issue 32): a signed-in user claims an author slot from the paper page or as hf.co takes it
(``POST /api/settings/papers/claim``); an administrator approves or refuses it, or an ORCID iD on the profile
that the paper's record carries for that slot approves it at once; an approved slot links to the profile, the
author page gathers the person's claimed papers, and hf.co's shapes (read by ``huggingface_hub``) carry
``authors[].user`` and ``status``. A refused or withdrawn claim leaves no row behind. On SQLite: plain rows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from huggingface_hub import HfApi
from sqlalchemy import select, update

from papertide.db import Database
from papertide.models import AuthorClaim, Paper, User
from papertide.records import AuthorRecord
from papertide.services.accounts import create_user
from papertide.services.papers import upsert_papers
from papertide.services.tokens import create_api_token
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.web import log_in, make_admin

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ORCID = "0000-0002-1825-0097"


def as_user(client: TestClient, name: str) -> str:
    client.cookies.clear()
    return log_in(client, name)


def claims(db: Database) -> list[tuple[int, str]]:
    with db.read_session() as session:
        return [(c.position, c.status) for c in session.execute(select(AuthorClaim)).scalars()]


def test_claims_approved_refused_withdrawn_and_shown(client: TestClient, db: Database, live_server: str) -> None:
    make_admin(db, "root")
    with db.write_session() as session:
        ids = {name: create_user(session, username=name, password=PASSWORD).id for name in ("ada", "bob", "dee")}
        upsert_papers(
            session,
            [
                make_paper_record(authors=(AuthorRecord("Ada Lovelace"), AuthorRecord("Bob Babbage"))),
                make_paper_record(authors=(AuthorRecord("A. Lovelace"), AuthorRecord("Dee Orcid"))),
            ],
        )
        first, second = session.execute(select(Paper.arxiv_id).order_by(Paper.id)).scalars()
        bob_token = create_api_token(session, ids["bob"], "hub", "write")
        # the second paper's record carries dee's ORCID iD for its second author, as some sources give it
        paper = session.execute(select(Paper).where(Paper.arxiv_id == second)).scalar_one()
        paper.authors = [paper.authors[0], {**paper.authors[1], "orcid": f"https://orcid.org/{ORCID}"}]
        session.execute(update(User).where(User.id == ids["dee"]).values(orcid=ORCID))

    csrf = as_user(client, "ada")
    made = client.post(f"/papers/{first}/claim", data={"position": 0, "csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303 and claims(db) == [(0, "pending")]
    assert "waiting for an administrator" in client.get("/settings/papers").text
    assert "@ada" not in client.get(f"/papers/{first}").text  # pending: no link yet
    out_of_range = client.post(f"/papers/{first}/claim", data={"position": 5, "csrf_token": csrf})
    assert out_of_range.status_code == 422 and "2 author slots" in out_of_range.text
    second_slot = client.post(f"/papers/{first}/claim", data={"position": 1, "csrf_token": csrf})
    assert second_slot.status_code == 409 and "withdraw that claim first" in second_slot.text
    assert client.post(f"/papers/{first}/claim", data={"position": 1}).status_code == 403  # no CSRF token
    (claim_id,) = _ids(db)
    not_admin = client.post(f"/claims/{claim_id}/approve", data={"csrf_token": csrf})
    assert not_admin.status_code == 403 and "Only administrators" in not_admin.text

    csrf = as_user(client, "root")
    assert "claims to be Ada Lovelace" in client.get("/settings/papers").text
    client.post(f"/claims/{claim_id}/approve", data={"csrf_token": csrf})
    assert claims(db) == [(0, "approved")]

    hub = HfApi(endpoint=live_server, token=bob_token)
    info = hub.paper_info(first)
    assert info.authors is not None and info.authors[0].user is not None and info.authors[0].user.username == "ada"
    assert info.authors[0].status == "claimed_verified" and info.authors[1].user is None
    bob_slot = client.get(f"/api/papers/{first}").json()["authors"][1]["_id"]
    taken = client.post("/api/settings/papers/claim", json={"paperId": first, "claimAuthorId": bob_slot})
    assert taken.status_code == 403  # a browser session without its CSRF token
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {bob_token}"}
    hf_claim = client.post(
        "/api/settings/papers/claim", json={"paperId": first, "claimAuthorId": bob_slot}, headers=bearer
    )
    assert hf_claim.status_code == 200 and hf_claim.json()["status"] == "pending"
    stranger = client.post(
        "/api/settings/papers/claim", json={"paperId": first, "claimAuthorId": "f" * 24}, headers=bearer
    )
    assert stranger.status_code == 404 and "no author" in stranger.text
    csrf = as_user(client, "root")
    bob_claim = max(_ids(db))
    client.post(f"/claims/{bob_claim}/refuse", data={"csrf_token": csrf})
    assert claims(db) == [(0, "approved")]  # the refused claim left nothing behind

    csrf = as_user(client, "dee")
    client.post(f"/papers/{second}/claim", data={"position": 1, "csrf_token": csrf})
    assert sorted(claims(db)) == [(0, "approved"), (1, "approved")]  # the ORCID iD approved it at once

    csrf = as_user(client, "ada")
    client.post(f"/papers/{second}/claim", data={"position": 0, "csrf_token": csrf})
    with db.write_session() as session:  # an administrator's approval, as above
        session.execute(update(AuthorClaim).where(AuthorClaim.user_id == ids["ada"]).values(status="approved"))
    page = client.get("/authors/ada-lovelace.json")
    assert page.status_code == 200, page.text
    gathered = page.json()["claimed"]
    assert [(p["username"], sorted(c["arxiv_id"] for c in p["cards"])) for p in gathered] == [
        ("ada", sorted([first, second]))
    ]
    assert "@ada" in client.get(f"/papers/{first}").text
    for claim_id in _ids(db, ids["ada"]):
        assert client.post(f"/claims/{claim_id}/withdraw", data={"csrf_token": csrf}).status_code == 200
    assert claims(db) == [(1, "approved")] and "@ada" not in client.get(f"/papers/{first}").text
    csrf = as_user(client, "bob")
    dees = _ids(db, ids["dee"])[0]
    assert client.post(f"/claims/{dees}/withdraw", data={"csrf_token": csrf}).status_code == 404


def _ids(db: Database, user_id: int | None = None) -> list[int]:
    with db.read_session() as session:
        statement = select(AuthorClaim.id).order_by(AuthorClaim.id)
        if user_id is not None:
            statement = statement.where(AuthorClaim.user_id == user_id)
        return list(session.execute(statement).scalars())
