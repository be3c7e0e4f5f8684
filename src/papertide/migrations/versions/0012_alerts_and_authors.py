"""Saved-search alerts, authors as pages, follows and ORCID (issue 20).

``paper_authors`` holds every paper's authors by name key, in order, for ``/authors/{key}``; it is filled here
from ``papers.authors`` with the same ``people.author_key`` the paper upsert uses from now on (a change to that
function needs a migration that recomputes the keys). ``follows`` are a user's followed authors and saved
searches. ``alert_deliveries`` records which papers a saved search's digest section carried to a subscription,
so none is mailed twice. ``users.orcid`` is the optional ORCID iD of a profile.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from papertide.people import author_key

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2_000


def upgrade() -> None:
    op.add_column("users", sa.Column("orcid", sa.String(length=19), nullable=True))
    paper_authors = op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_authors_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", "position", name=op.f("pk_paper_authors")),
    )
    op.create_index(op.f("ix_paper_authors_name_key"), "paper_authors", ["name_key"])
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("user_id", "kind", "key", name=op.f("uq_follows_user_id_kind_key")),
    )
    op.create_index(op.f("ix_follows_user_id"), "follows", ["user_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("search_key", sa.String(length=64), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_alert_deliveries_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_alert_deliveries_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subscription_id", "search_key", "paper_id", name=op.f("pk_alert_deliveries")),
    )
    _fill_paper_authors(paper_authors)


def _fill_paper_authors(paper_authors: sa.Table) -> None:
    papers = sa.table("papers", sa.column("id", sa.Integer()), sa.column("authors", sa.JSON()))
    connection = op.get_bind()
    after = 0
    while True:
        batch = connection.execute(
            sa.select(papers.c.id, papers.c.authors).where(papers.c.id > after).order_by(papers.c.id).limit(_BATCH)
        ).all()
        if not batch:
            return
        rows = [
            {"paper_id": paper_id, "position": position, "name_key": key, "name": author["name"][:300]}
            for paper_id, authors in batch
            for position, author in enumerate(authors or [])
            if (key := author_key(author.get("name") or ""))
        ]
        if rows:
            connection.execute(paper_authors.insert(), rows)
        after = batch[-1][0]


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_follows_user_id"), table_name="follows")
    op.drop_table("follows")
    op.drop_index(op.f("ix_paper_authors_name_key"), table_name="paper_authors")
    op.drop_table("paper_authors")
    op.drop_column("users", "orcid")
