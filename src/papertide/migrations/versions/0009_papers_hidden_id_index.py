"""``papers.hidden`` indexed with the paper id: every search checks that its candidates (up to a thousand ids) are
visible. SQLite's index on ``hidden`` already held the row id; PostgreSQL's held only row addresses, so each check
read a thousand heap pages scattered over an 18 GB table at 2.7M papers. With the id in the index the check is an
index-only scan on both engines (on PostgreSQL once (auto)vacuum has marked the pages all-visible).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_papers_hidden_id"), "papers", ["hidden", "id"])
    op.drop_index(op.f("ix_papers_hidden"), table_name="papers")


def downgrade() -> None:
    op.create_index(op.f("ix_papers_hidden"), "papers", ["hidden"])
    op.drop_index(op.f("ix_papers_hidden_id"), table_name="papers")
