"""The moderation log (issue 33): every administrator's action (hide or unhide a paper or comment, make or unmake
an admin, disable or enable an account, end its sessions), whose "who and when" the moderation desk shows; and
``users.pending_email``, an address given but not yet confirmed, kept when its mail could not leave.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_moderation_actions_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_actions")),
    )
    op.create_index("ix_moderation_actions_target", "moderation_actions", ["action", "target"])
    op.create_index(op.f("ix_moderation_actions_created_at"), "moderation_actions", ["created_at"])
    # Plain ALTER TABLE, never a batch copy: recreating ``users`` on SQLite would cascade its deletion to every
    # table that references it.
    op.add_column("users", sa.Column("pending_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "pending_email")  # SQLite 3.35+ drops a column in place
    op.drop_table("moderation_actions")
