"""The self-filling instance (issue 16): hf.co's own figures on papers, enrichment state, per-source health.

``papers`` gains hf.co's upvote and comment counts, its AI summary and keywords (kept apart from this instance's
``upvote_count``/``comment_count`` and from the abstract), and the enrichment state of thin records with the time
arXiv was last asked. ``source_states`` holds one row per automatic source: its cursor, last run and last error.

The counts imported Daily Papers files carried sat on ``featured_papers`` and were added to local votes; they are
hf.co's figures, so they move to ``papers.hf_upvotes``/``hf_comments`` and the local counters are recounted from
votes and visible comments alone. Papers missing an abstract, authors or categories are marked for enrichment.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hf_upvotes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hf_comments", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ai_summary", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ai_keywords", _JSON, nullable=True))
        batch_op.add_column(sa.Column("enrichment", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("enrichment_tried_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_papers_enrichment"), ["enrichment"], unique=False)
    _move_imported_counts()
    with op.batch_alter_table("featured_papers", schema=None) as batch_op:
        batch_op.drop_column("imported_upvotes")
        batch_op.drop_column("imported_comments")
    op.execute(
        "UPDATE papers SET enrichment = 'wanted' "
        "WHERE abstract IS NULL OR abstract = '' OR author_names = '' OR primary_category IS NULL"
    )
    op.create_table(
        "source_states",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.String(length=16), nullable=True),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_states")),
    )


def _move_imported_counts() -> None:
    op.execute(
        "UPDATE papers SET "
        "hf_upvotes = (SELECT f.imported_upvotes FROM featured_papers f WHERE f.paper_id = papers.id), "
        "hf_comments = (SELECT f.imported_comments FROM featured_papers f WHERE f.paper_id = papers.id) "
        "WHERE id IN (SELECT paper_id FROM featured_papers)"
    )
    op.execute(
        "UPDATE papers SET "
        "upvote_count = (SELECT count(*) FROM votes v WHERE v.paper_id = papers.id), "
        "comment_count = (SELECT count(*) FROM comments c WHERE c.paper_id = papers.id "
        "AND NOT c.hidden AND NOT c.deleted) "
        "WHERE id IN (SELECT paper_id FROM featured_papers)"
    )


def downgrade() -> None:
    op.drop_table("source_states")
    with op.batch_alter_table("featured_papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_upvotes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("imported_comments", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE featured_papers SET "
        "imported_upvotes = COALESCE((SELECT p.hf_upvotes FROM papers p WHERE p.id = featured_papers.paper_id), 0), "
        "imported_comments = COALESCE((SELECT p.hf_comments FROM papers p WHERE p.id = featured_papers.paper_id), 0)"
    )
    op.execute(
        "UPDATE papers SET upvote_count = upvote_count + COALESCE(hf_upvotes, 0), "
        "comment_count = comment_count + COALESCE(hf_comments, 0)"
    )
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch copy of ``papers`` would break the FTS5 view over it.
    op.drop_index(op.f("ix_papers_enrichment"), table_name="papers")
    for column in ("enrichment_tried_at", "enrichment", "ai_keywords", "ai_summary", "hf_comments", "hf_upvotes"):
        op.execute(f"ALTER TABLE papers DROP COLUMN {column}")
