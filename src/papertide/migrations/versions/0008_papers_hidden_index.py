"""An index on ``papers.hidden``: every search checks its candidates are visible, and at a million papers reading
each candidate's row for that one flag cost 12.8 ms a query; the index answers it in 2.2 ms (bench/RESULTS.md).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_papers_hidden"), "papers", ["hidden"])


def downgrade() -> None:
    op.drop_index(op.f("ix_papers_hidden"), table_name="papers")
