"""Export and import: a busy instance exported with the CLI and imported into a fresh one is the same, row for
row, on SQLite and PostgreSQL; bad files and non-empty targets are refused whole; users download their data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from papertide.db import Database
from papertide.models import Comment, Paper, PaperDismissal, User
from papertide.queries.follows import query_follows
from papertide.queries.people import query_author_papers
from papertide.services.accounts import create_user
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.comments import add_comment
from papertide.services.export import ExportError, import_rows, read_jsonl, write_jsonl
from papertide.services.follows import follow
from papertide.services.ingest import ingest_snapshot
from papertide.services.subscriptions import Preferences, subscribe
from papertide.services.votes import set_vote
from tests.helpers.cli import run_cli
from tests.helpers.data import HF_FIXTURES, load_daily, snapshot_subset
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.settings import make_settings
from tests.helpers.web import log_in, make_admin


def busy_instance(db: Database, shared_data: Path, tmp_path: Path) -> None:
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", 150))
    load_daily(db, HF_FIXTURES / "hf_daily_papers_2026-07-09.json")
    with db.write_session() as session:
        ada = create_user(session, username="ada", password=PASSWORD, email="ada@example.org")
        bob = make_user(session, username="bob")
        papers = list(session.execute(select(Paper.id).order_by(Paper.id).limit(5)).scalars())
        for paper_id in papers[:3]:
            set_vote(session, ada.id, paper_id, up=True)
        set_vote(session, bob.id, papers[0], up=True)
        first = add_comment(session, user_id=ada.id, paper_id=papers[0], body="Nice $x^2$ **bound**")
        add_comment(session, user_id=bob.id, paper_id=papers[0], body="Agreed", parent_id=first.id)
        collection = create_collection(session, owner_id=ada.id, title="To read", description="later")
        for paper_id in papers[2:5]:
            add_to_collection(session, collection_id=collection.id, owner_id=ada.id, paper_id=paper_id, note="hm")
        session.add(PaperDismissal(user_id=bob.id, paper_id=papers[4]))
        subscribe(session, "ada@example.org", "weekly", Preferences(categories=("cs.CL",)), ada.id)
        follow(session, ada.id, "author", session.get_one(Paper, papers[0]).authors[0]["name"])


def dump(db: Database, *, password_hashes: bool = False) -> list[str]:
    out = io.StringIO()
    write_jsonl(db, out, password_hashes=password_hashes)
    return out.getvalue().splitlines()


def test_export_then_import_round_trips_everything(
    db: Database, second_database: Database, settings: object, shared_data: Path, tmp_path: Path
) -> None:
    busy_instance(db, shared_data, tmp_path)
    exported = tmp_path / "export.jsonl"
    result = run_cli(settings, "export", "--with-password-hashes", str(exported))  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    assert "$argon2" in exported.read_text()  # asked for on the CLI: a move to a new server keeps the passwords
    plain = tmp_path / "plain.jsonl"
    assert run_cli(settings, "export", str(plain)).returncode == 0  # type: ignore[arg-type]
    assert "$argon2" not in plain.read_text() and '"password_hash": null' in plain.read_text()
    target = make_settings(str(second_database.engine.url.render_as_string(hide_password=False)), tmp_path / "b")
    imported = run_cli(target, "import", str(exported))
    assert imported.returncode == 0, imported.stderr
    original, copy = dump(db, password_hashes=True), dump(second_database, password_hashes=True)
    assert len(original) > 150 and original[1:] == copy[1:]
    tables = {json.loads(line)["table"] for line in original[1:]}
    assert {"papers", "votes", "comments", "collection_items", "subscriptions", "featured_papers", "follows"} <= tables
    with db.read_session() as session, second_database.read_session() as copied:  # derived, rebuilt on import
        (followed,) = query_follows(
            session, session.execute(select(User.id).where(User.username == "ada")).scalar_one()
        )
        assert query_author_papers(copied, followed.key) == query_author_papers(session, followed.key) != []
    with second_database.write_session() as session:  # ids carried over: new rows still get fresh ones
        added = make_user(session, username="carol")
        assert added.id > session.execute(select(func.min(User.id))).scalar_one()
        reply = add_comment(session, user_id=added.id, paper_id=1, body="new")
        assert reply.id > 2
    again = run_cli(target, "import", str(exported))
    assert again.returncode == 1 and "not empty" in again.stderr


def test_damaged_exports_are_refused_whole(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="header"):
        import_rows(db, read_jsonl(['{"hello": 1}']))
    with pytest.raises(ExportError, match="line 3"):
        import_rows(
            db, read_jsonl(['{"papertide_export": 1}', '{"table": "users", "row": {"id": 1, "username": "a"}}', "junk"])
        )
    with pytest.raises(ExportError, match="unknown table"):
        import_rows(db, read_jsonl(['{"papertide_export": 1}', '{"table": "secrets", "row": {}}']))
    for hostile in ("[" * 100_000, '{"table": "users", "row": {"id": ' + "9" * 5_000 + "}}"):
        with pytest.raises(ExportError, match="line 2 is not an export record"):
            import_rows(db, read_jsonl(['{"papertide_export": 1}', hostile]))
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == 0  # nothing half-imported


def test_users_download_their_data_and_admins_everything(
    client: TestClient, db: Database, shared_data: Path, tmp_path: Path
) -> None:
    busy_instance(db, shared_data, tmp_path)
    log_in(client, "ada")
    mine = client.get("/settings/export.json")
    assert mine.status_code == 200 and "attachment" in mine.headers["content-disposition"]
    data = mine.json()
    assert data["profile"]["username"] == "ada" and "password_hash" not in data["profile"]
    assert len(data["votes"]) == 3 and all(vote["arxiv_id"] for vote in data["votes"])
    assert [c["body"] for c in data["comments"]] == ["Nice $x^2$ **bound**"]
    assert len(data["collections"][0]["items"]) == 3 and data["subscriptions"][0]["email"] == "ada@example.org"
    assert client.get("/api/v1/export").status_code == 403
    client.cookies.clear()
    make_admin(db, "root")
    log_in(client, "root")
    full = client.get("/api/v1/export")
    assert full.status_code == 200 and full.headers["content-type"].startswith("application/x-ndjson")
    assert full.text.splitlines()[1:] == dump(db)[1:]
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Comment)).scalar_one() == 2


def test_parquet_export_has_every_row(db: Database, settings: object, shared_data: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    busy_instance(db, shared_data, tmp_path)
    result = run_cli(settings, "export", "--format", "parquet", str(tmp_path / "parquet"))  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    counts: dict[str, int] = {}
    for line in dump(db)[1:]:
        table = json.loads(line)["table"]
        counts[table] = counts.get(table, 0) + 1
    for table, count in counts.items():
        assert pq.read_table(tmp_path / "parquet" / f"{table}.parquet").num_rows == count, table
    authors = pq.read_table(tmp_path / "parquet" / "papers.parquet").column("authors")[0].as_py()
    assert json.loads(authors)[0]["name"]
