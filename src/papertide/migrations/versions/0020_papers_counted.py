"""Trend counts read from an index (issue 31 at a million papers): ``ix_papers_counted`` holds, beside each paper's
id, everything a series adds up (its day, whether it is hidden, both vote figures), so the query that counts a
series's matches by day reads the index alone instead of every matched paper's row. At a million papers "learning"
(25,000 matches in 26 weeks) took 59 → 37 ms on SQLite and 115 → 39 ms on PostgreSQL (bench/RESULTS.md). One index
more to keep on each write of a paper or a vote; SQLite uses it once it has its statistics, which this migration
gathers and every bulk load refreshes.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = ["published_on", "hidden", "upvote_count", "hf_upvotes"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Keyed by id alone, so the planner weighs it like the primary key it stands beside.
        op.create_index("ix_papers_counted", "papers", ["id"], postgresql_include=COUNTED)
        return
    op.create_index("ix_papers_counted", "papers", ["id", *COUNTED])
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's planner reads an index by its statistics: without them it keeps to the rows (sampled: seconds
        # at millions of papers, as db.refresh_statistics does after a bulk load).
        op.execute("PRAGMA analysis_limit = 1000")
        op.execute("ANALYZE ix_papers_counted")


def downgrade() -> None:
    op.drop_index("ix_papers_counted", table_name="papers")
