"""Migration 0017 (issue 33) adds the moderation log and ``users.pending_email`` and keeps everything, on both
backends: there and back again, accounts and what references them (a collection, its items) stay, and the log's
rows go only with the table that holds them."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from papertide.db import Database, alembic_config
from papertide.services.accounts import create_user
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.papers import upsert_papers
from tests.helpers.factories import PASSWORD, make_paper_record


def _migrate(db: Database, step: object, revision: str) -> None:
    with db.engine.begin() as connection:
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        step(config, revision)  # type: ignore[operator]


def test_migration_0017_keeps_accounts_and_what_references_them_both_ways(db: Database) -> None:
    with db.write_session() as session:
        user = create_user(session, username="ada", password=PASSWORD)
        upsert_papers(session, [make_paper_record()])
        paper_id = session.execute(text("SELECT id FROM papers")).scalar_one()
        shelf = create_collection(session, owner_id=user.id, title="Shelf")
        add_to_collection(session, collection_id=shelf.id, owner_id=user.id, paper_id=paper_id)
        session.execute(text("UPDATE users SET pending_email = 'ada@example.org'"))
    _migrate(db, command.downgrade, "0016")
    with db.engine.begin() as connection:
        assert connection.execute(text("SELECT username FROM users")).all() == [("ada",)]
        assert connection.execute(text("SELECT count(*) FROM collection_items")).scalar_one() == 1
    _migrate(db, command.upgrade, "head")
    with db.engine.begin() as connection:
        assert connection.execute(text("SELECT username, pending_email FROM users")).all() == [("ada", None)]
        assert connection.execute(text("SELECT count(*) FROM collection_items")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM moderation_actions")).scalar_one() == 0
