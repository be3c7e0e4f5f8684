"""hf.co's collections API (issue 32), driven by the real ``huggingface_hub`` client against a live papertide:
every collection function works unchanged, in the user's namespace and an organization's, and every refusal is a
clear hf.co error (a note too long, a duplicate, a namespace not yours, a collection you may not see). On SQLite:
the visibility SQL is checked on both backends by tests/test_lab_web.py."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import select

from papertide.db import Database
from papertide.models import Paper
from papertide.services.accounts import add_member, create_organization, create_user
from papertide.services.papers import upsert_papers
from papertide.services.tokens import create_api_token
from tests.helpers.factories import PASSWORD, make_paper_record

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    assert error.value.response is not None
    return int(error.value.response.status_code)


def test_huggingface_hub_collection_functions_work_against_papertide(db: Database, live_server: str) -> None:
    with db.write_session() as session:
        ids = {name: create_user(session, username=name, password=PASSWORD).id for name in ("ada", "bob", "dee")}
        create_organization(session, "lab")
        add_member(session, "lab", "ada", "admin")
        add_member(session, "lab", "bob")
        tokens = {name: create_api_token(session, ident, "hub", "write") for name, ident in ids.items()}
        reader = create_api_token(session, ids["ada"], "hub", "read")
        upsert_papers(session, [make_paper_record(title=f"Hub paper {n}") for n in range(3)])
        papers = list(session.execute(select(Paper.arxiv_id).order_by(Paper.id)).scalars())
    ada = HfApi(endpoint=live_server, token=tokens["ada"])

    mine = ada.create_collection("Diffusion reading", namespace="ada", description="For Friday")
    assert mine.slug.startswith("ada/diffusion-reading-") and mine.owner["name"] == "ada" and not mine.private
    with_first = ada.add_collection_item(mine.slug, papers[0], "paper", note="Start here")
    assert [(i.item_id, i.item_type, i.note) for i in with_first.items] == [(papers[0], "paper", "Start here")]
    ada.add_collection_item(mine.slug, papers[1], "paper")
    with pytest.raises(HfHubHTTPError) as duplicate:
        ada.add_collection_item(mine.slug, papers[0], "paper")
    assert status(duplicate) == 409
    assert ada.add_collection_item(mine.slug, papers[0], "paper", exists_ok=True).slug == mine.slug
    with pytest.raises(HfHubHTTPError) as long_note:
        ada.add_collection_item(mine.slug, papers[2], "paper", note="x" * 501)
    assert status(long_note) == 422 and "500 characters" in str(long_note.value)
    with pytest.raises(HfHubHTTPError) as model:
        ada.add_collection_item(mine.slug, "gpt2", "model")
    assert status(model) == 422 and "papers only" in str(model.value)

    got = ada.get_collection(mine.slug)
    assert [i.item_id for i in got.items] == papers[:2] and got.description == "For Friday"
    second = got.items[1]
    ada.update_collection_item(mine.slug, second.item_object_id, note="Then this", position=0)
    moved = ada.get_collection(mine.slug)
    assert [(i.item_id, i.note) for i in moved.items] == [(papers[1], "Then this"), (papers[0], "Start here")]
    ada.delete_collection_item(mine.slug, second.item_object_id)
    assert [i.item_id for i in ada.get_collection(mine.slug).items] == [papers[0]]

    renamed = ada.update_collection_metadata(mine.slug, title="Diffusion, week 2", private=True)
    assert renamed.title == "Diffusion, week 2" and renamed.private
    anonymous = HfApi(endpoint=live_server, token=False)
    with pytest.raises(HfHubHTTPError) as hidden:
        anonymous.get_collection(mine.slug)
    assert status(hidden) == 404

    lab = ada.create_collection("Lab picks", namespace="lab", private=True)  # organization-only
    ada.add_collection_item(lab.slug, papers[2], "paper", note="ada's note")
    bob = HfApi(endpoint=live_server, token=tokens["bob"])
    bob.add_collection_item(lab.slug, papers[0], "paper")
    assert [i.item_id for i in bob.get_collection(lab.slug).items] == [papers[2], papers[0]]
    with pytest.raises(HfHubHTTPError) as member_deletes:
        bob.delete_collection(lab.slug)
    assert status(member_deletes) == 404 and "admins" in str(member_deletes.value)
    dee = HfApi(endpoint=live_server, token=tokens["dee"])
    with pytest.raises(HfHubHTTPError) as not_theirs:
        dee.create_collection("Squatting", namespace="lab")
    assert status(not_theirs) in (403, 404)
    with pytest.raises(HfHubHTTPError) as unseen:
        dee.add_collection_item(lab.slug, papers[1], "paper")
    assert status(unseen) == 404
    with pytest.raises(HfHubHTTPError) as read_only:
        HfApi(endpoint=live_server, token=reader).create_collection("Nope", namespace="ada")
    assert status(read_only) == 403

    assert {c.slug for c in bob.list_collections(owner="lab")} == {lab.slug}
    assert list(dee.list_collections(owner="lab")) == []
    assert {c.slug for c in ada.list_collections(item=f"papers/{papers[0]}")} == {mine.slug, lab.slug}
    assert len(list(ada.list_collections(owner=["ada", "lab"], limit=1))) == 1
    assert list(anonymous.list_collections(item="models/gpt2")) == []

    ada.delete_collection(lab.slug)
    ada.delete_collection(mine.slug)
    with pytest.raises(HfHubHTTPError) as gone:
        ada.get_collection(mine.slug)
    assert status(gone) == 404
    ada.delete_collection(mine.slug, missing_ok=True)
