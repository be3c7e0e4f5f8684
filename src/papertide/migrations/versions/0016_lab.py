"""The lab's own instance (issue 32): organization collections, activity sharing, invitations, reading groups and
claimed authors.

``collections`` may belong to an organization (``organization_id``) instead of a user (``owner_id`` becomes
nullable; exactly one of the two is set) and say who sees them in ``visibility`` (public, organization,
private), which replaces ``is_public`` (true → public, false → private). ``collection_items`` name who added a
paper and who wrote its note; rows from before are filled with the collection's owner, who made them.
``organization_members.shares_activity`` is true for everyone (sharing is the default, and can be turned off).
New tables: ``organization_invitations``, ``reading_sessions`` and ``reading_session_papers`` (with
``comments.session_id`` tagging a comment with a session) and ``author_claims``.

SQLite cannot change a constraint in place, so ``collections`` is rebuilt in batch mode there; dropping the old
table would cascade to ``collection_items`` (foreign keys are on, and cannot be turned off inside the migration's
transaction), so its rows are kept aside and put back. New columns with a foreign key are added in place.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ITEM_COLUMNS = "collection_id, paper_id, note, position, added_at"
COMMENT_COLUMNS = "id, paper_id, user_id, parent_id, body, body_html, hidden, deleted, created_at, edited_at"


def upgrade() -> None:
    _collection_items_up()
    _collections_up()
    op.add_column(
        "organization_members",
        sa.Column("shares_activity", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    _invitations()
    _reading_sessions()
    _reference("comments", "session_id", "reading_sessions", "fk_comments_session_id_reading_sessions")
    op.create_index(op.f("ix_comments_session_id"), "comments", ["session_id"])
    _author_claims()


def _reference(table: str, column: str, target: str, name: str) -> None:
    """Add a nullable column of ``table`` that refers to ``target`` and is emptied when its row goes, in place
    (SQLite takes a REFERENCES clause in ADD COLUMN, though Alembic renders none there)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES {target} (id) ON DELETE SET NULL"
        )
        return
    op.add_column(
        table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id", ondelete="SET NULL", name=op.f(name)))
    )


def _drop_reference(table: str, column: str, name: str) -> None:
    """Drop a column added by :func:`_reference` (on SQLite by a rebuild: a column in a foreign key cannot go)."""
    with op.batch_alter_table(table) as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint(op.f(name), type_="foreignkey")
        batch.drop_column(column)


def _keeping(table: str, columns: str, rebuild: Callable[[], None]) -> None:
    """Run ``rebuild``; on SQLite with the rows of ``table`` (``columns`` of them) kept aside and put back, in id
    order, where the rebuild's DROP TABLE cascaded (see the docstring)."""
    if op.get_bind().dialect.name != "sqlite":
        rebuild()
        return
    op.execute(f"CREATE TEMP TABLE kept_{table} AS SELECT {columns} FROM {table} ORDER BY 1")
    rebuild()
    op.execute(f"INSERT OR IGNORE INTO {table} ({columns}) SELECT {columns} FROM kept_{table} ORDER BY rowid")
    op.execute(f"DROP TABLE kept_{table}")


def _collections_up() -> None:
    op.add_column("collections", sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public"))
    collections = sa.table("collections", sa.column("is_public", sa.Boolean()), sa.column("visibility", sa.String()))
    op.execute(collections.update().where(collections.c.is_public.is_(False)).values(visibility="private"))
    _keeping("collection_items", ITEM_COLUMNS + ", added_by_id, note_by_id", _rebuild_collections_up)


def _rebuild_collections_up() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("is_public")
        batch.alter_column("owner_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_collections_organization_id_organizations"),
            "organizations",
            ["organization_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(op.f("uq_collections_organization_id_slug"), ["organization_id", "slug"])
        batch.create_check_constraint(
            op.f("ck_collections_one_owner"), "(owner_id IS NULL) <> (organization_id IS NULL)"
        )
        batch.create_check_constraint(
            op.f("ck_collections_visibility"), "visibility IN ('public', 'organization', 'private')"
        )


def _collection_items_up() -> None:
    for column in ("added_by_id", "note_by_id"):
        _reference("collection_items", column, "users", f"fk_collection_items_{column}_users")
    op.create_index(op.f("ix_collection_items_added_by_id_added_at"), "collection_items", ["added_by_id", "added_at"])
    op.execute(
        "UPDATE collection_items SET added_by_id = "
        "(SELECT owner_id FROM collections WHERE collections.id = collection_items.collection_id)"
    )
    op.execute("UPDATE collection_items SET note_by_id = added_by_id WHERE note IS NOT NULL")


def _invitations() -> None:
    op.create_table(
        "organization_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_organization_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_id"], ["users.id"], name=op.f("fk_organization_invitations_used_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_invitations")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_organization_invitations_secret_hash")),
    )
    op.create_index(
        op.f("ix_organization_invitations_organization_id"), "organization_invitations", ["organization_id"]
    )


def _reading_sessions() -> None:
    op.create_table(
        "reading_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("presenter_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(length=500), nullable=True),
        sa.Column("slides_url", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_reading_sessions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["presenter_id"], ["users.id"], name=op.f("fk_reading_sessions_presenter_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_reading_sessions_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_sessions")),
    )
    op.create_index(
        op.f("ix_reading_sessions_organization_id_starts_at"), "reading_sessions", ["organization_id", "starts_at"]
    )
    op.create_table(
        "reading_session_papers",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["reading_sessions.id"],
            name=op.f("fk_reading_session_papers_session_id_reading_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_reading_session_papers_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", "paper_id", name=op.f("pk_reading_session_papers")),
    )


def _author_claims() -> None:
    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_via", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_author_claims_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_author_claims_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_claims")),
        sa.UniqueConstraint("paper_id", "position", name=op.f("uq_author_claims_paper_id_position")),
    )
    op.create_index(op.f("ix_author_claims_user_id"), "author_claims", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_author_claims_user_id"), table_name="author_claims")
    op.drop_table("author_claims")
    op.drop_index(op.f("ix_comments_session_id"), table_name="comments")
    _keeping(
        "comments",
        COMMENT_COLUMNS,
        lambda: _drop_reference("comments", "session_id", "fk_comments_session_id_reading_sessions"),
    )
    op.drop_table("reading_session_papers")
    op.drop_index(op.f("ix_reading_sessions_organization_id_starts_at"), table_name="reading_sessions")
    op.drop_table("reading_sessions")
    op.drop_index(op.f("ix_organization_invitations_organization_id"), table_name="organization_invitations")
    op.drop_table("organization_invitations")
    op.drop_column("organization_members", "shares_activity")
    # An organization's collection has no place in the older schema, which knows only users' collections.
    op.execute("DELETE FROM collections WHERE organization_id IS NOT NULL")
    op.add_column("collections", sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE collections SET is_public = (visibility = 'public')")
    _keeping("collection_items", ITEM_COLUMNS + ", added_by_id, note_by_id", _rebuild_collections_down)
    op.drop_index(op.f("ix_collection_items_added_by_id_added_at"), table_name="collection_items")
    for column in ("added_by_id", "note_by_id"):
        _drop_reference("collection_items", column, f"fk_collection_items_{column}_users")


def _rebuild_collections_down() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.drop_constraint(op.f("ck_collections_visibility"), type_="check")
        batch.drop_constraint(op.f("ck_collections_one_owner"), type_="check")
        batch.drop_constraint(op.f("uq_collections_organization_id_slug"), type_="unique")
        batch.drop_constraint(op.f("fk_collections_organization_id_organizations"), type_="foreignkey")
        batch.drop_column("organization_id")
        batch.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("visibility")
