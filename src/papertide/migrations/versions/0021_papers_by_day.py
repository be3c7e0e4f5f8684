"""A window's papers read from an index (issue 31 at a million papers): ``ix_papers_by_day`` holds, in the order of
each paper's effective date, everything a trend series adds up (whether it is hidden, both vote figures), so a
series of filters the indexes cannot narrow (``upvotes:>20`` alone) reads its window's index entries instead of
every paper: 316 → 25 ms at a million papers on SQLite, where the planner walked the ``hidden`` index and every
row (bench/RESULTS.md). It takes the place of ``ix_papers_published_on``, whose leading column it keeps, so every
date sort and filter reads it as before; SQLite gets its statistics here, as migration 0020 says why.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = ["hidden", "upvote_count", "hf_upvotes"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_papers_by_day", "papers", ["published_on"], postgresql_include=COUNTED)
    else:
        op.create_index("ix_papers_by_day", "papers", ["published_on", *COUNTED])
        op.execute("PRAGMA analysis_limit = 1000")
        op.execute("ANALYZE ix_papers_by_day")
    op.drop_index("ix_papers_published_on", table_name="papers")


def downgrade() -> None:
    op.create_index("ix_papers_published_on", "papers", ["published_on"])
    op.drop_index("ix_papers_by_day", table_name="papers")
