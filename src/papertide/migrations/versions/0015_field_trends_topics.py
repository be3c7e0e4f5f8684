"""See where the field is going (issue 31): papertide's own keyphrases and gist of each paper (``paper_insights``,
``paper_keyphrases`` for ``kw:``), upvote history by day and figure (``vote_days``, this instance's filled here from
the votes that stand, by the day each was cast), and the topic atlas (``topic_builds``, ``topics``,
``topic_papers``, ``topic_weeks``, ``topic_events``).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _paper_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=f"fk_{table}_paper_id_papers", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "paper_insights",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("keyphrases", sa.JSON(), nullable=False),
        sa.Column("gist", sa.Text(), nullable=True),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        _paper_fk("paper_insights"),
        sa.PrimaryKeyConstraint("paper_id", name="pk_paper_insights"),
    )
    op.create_table(
        "paper_keyphrases",
        sa.Column("phrase", sa.String(length=120), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        _paper_fk("paper_keyphrases"),
        sa.PrimaryKeyConstraint("phrase", "paper_id", name="pk_paper_keyphrases"),
    )
    op.create_index("ix_paper_keyphrases_paper", "paper_keyphrases", ["paper_id"])
    op.create_table(
        "vote_days",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("gained", sa.Integer(), nullable=False),
        _paper_fk("vote_days"),
        sa.PrimaryKeyConstraint("paper_id", "day", "source", name="pk_vote_days"),
    )
    op.create_index("ix_vote_days_day_paper", "vote_days", ["day", "paper_id"])
    _create_topics()
    _fill_local_votes()


def _create_topics() -> None:
    op.create_table(
        "topic_builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("topics", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topic_builds"),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("growth", sa.Float(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("born_build_id", sa.Integer(), nullable=True),
        sa.Column("last_build_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["born_build_id"], ["topic_builds.id"], name="fk_topics_born_build_id_topic_builds", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["last_build_id"], ["topic_builds.id"], name="fk_topics_last_build_id_topic_builds", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
        sa.UniqueConstraint("slug", name="uq_topics_slug"),
    )
    op.create_index("ix_topics_status", "topics", ["status"])
    op.create_table(
        "topic_papers",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        _paper_fk("topic_papers"),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_topic_papers_topic_id_topics", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", name="pk_topic_papers"),
    )
    op.create_index("ix_topic_papers_topic", "topic_papers", ["topic_id", "paper_id"])
    op.create_table(
        "topic_weeks",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_topic_weeks_topic_id_topics", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("topic_id", "week", name="pk_topic_weeks"),
    )
    op.create_table(
        "topic_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("others", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["topic_builds.id"], name="fk_topic_events_build_id_topic_builds", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_topic_events_topic_id_topics", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_topic_events"),
    )
    op.create_index("ix_topic_events_build_id", "topic_events", ["build_id"])
    op.create_index("ix_topic_events_topic_week", "topic_events", ["topic_id", "week"])


def _fill_local_votes() -> None:
    """This instance's standing votes, by the day each was cast (retracted votes left no trace before)."""
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AS DATE)"
    op.execute(
        f"INSERT INTO vote_days (paper_id, day, source, gained) "
        f"SELECT paper_id, {day}, 'local', COUNT(*) FROM votes GROUP BY paper_id, {day}"
    )


def downgrade() -> None:
    for table in ("topic_events", "topic_weeks", "topic_papers", "topics", "topic_builds"):
        op.drop_table(table)
    for table in ("vote_days", "paper_keyphrases", "paper_insights"):
        op.drop_table(table)
