"""Migration 0016 (issue 32) keeps what users made, on both backends: their collections keep their items, notes and
privacy (``is_public`` becomes ``visibility``), each item is credited to the collection's owner, comments stay; and
the way back restores the old shape with the same rows. SQLite rebuilds ``collections`` (and ``comments`` on the way
back), which would cascade to their children without care: the point of running this there."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from papertide.db import Database, alembic_config
from papertide.services.accounts import create_user
from papertide.services.papers import upsert_papers
from tests.helpers.factories import PASSWORD, make_paper_record


def _migrate(db: Database, step: object, revision: str) -> None:
    with db.engine.begin() as connection:
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        step(config, revision)  # type: ignore[operator]


OLD_ROWS = [
    "INSERT INTO collections (id, owner_id, slug, title, is_public, created_at, updated_at) "
    "VALUES (1, 1, 'open', 'Open', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
    "(2, 1, 'shut', 'Shut', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO collection_items (collection_id, paper_id, note, position, added_at) "
    "VALUES (1, 1, 'read it', 1, CURRENT_TIMESTAMP), (2, 1, NULL, 1, CURRENT_TIMESTAMP)",
    "INSERT INTO comments (id, paper_id, user_id, body, body_html, hidden, deleted, created_at) "
    "VALUES (1, 1, 1, 'Nice', '<p>Nice</p>', false, false, CURRENT_TIMESTAMP)",
]


def test_migration_0016_keeps_collections_items_and_comments_both_ways(db: Database) -> None:
    with db.write_session() as session:  # tables 0016 leaves as they are
        assert create_user(session, username="ada", password=PASSWORD).id == 1
        upsert_papers(session, [make_paper_record()])
    _migrate(db, command.downgrade, "0015")
    with db.engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    _migrate(db, command.upgrade, "head")
    with db.engine.begin() as connection:
        collections = "SELECT id, owner_id, organization_id, visibility FROM collections ORDER BY id"
        assert connection.execute(text(collections)).all() == [(1, 1, None, "public"), (2, 1, None, "private")]
        items = "SELECT collection_id, note, added_by_id, note_by_id FROM collection_items ORDER BY collection_id"
        assert connection.execute(text(items)).all() == [(1, "read it", 1, 1), (2, None, 1, None)]
        assert connection.execute(text("SELECT id, session_id FROM comments")).all() == [(1, None)]
        assert connection.execute(text("SELECT shares_activity FROM organization_members")).all() == []
    _migrate(db, command.downgrade, "0015")
    with db.engine.begin() as connection:
        back = "SELECT id, is_public FROM collections ORDER BY id"
        assert [(ident, bool(public)) for ident, public in connection.execute(text(back))] == [(1, True), (2, False)]
        assert connection.execute(text("SELECT count(*) FROM collection_items")).scalar_one() == 2
        assert connection.execute(text("SELECT body FROM comments")).all() == [("Nice",)]
    _migrate(db, command.upgrade, "head")
