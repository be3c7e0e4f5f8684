"""Every paper dated, every title keyed (issue 27): ``papers.published_on``, the effective date every sort, filter,
alert, feed and citation year reads (the listing day, else the first version's, else the featured day, else the
month the id names), and ``papers.title_key`` / ``papers.name_key``, the words of the title and of its coined
name that known-item search looks queries up by (``search/titles.py``). All three are indexed and filled here for
every existing paper, in one pass of one update per paper (the upsert keeps them from now on).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from papertide.arxiv_ids import effective_date
from papertide.search.titles import name_key, title_key

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000
_PAPERS = sa.table(
    "papers",
    sa.column("id", sa.Integer),
    sa.column("arxiv_id", sa.String),
    sa.column("title", sa.Text),
    sa.column("announced_on", sa.Date),
    sa.column("submitted_at", sa.DateTime(timezone=True)),
    sa.column("published_on", sa.Date),
    sa.column("title_key", sa.Text),
    sa.column("name_key", sa.Text),
)
_FEATURED = sa.table("featured_papers", sa.column("paper_id", sa.Integer), sa.column("featured_on", sa.Date))


def upgrade() -> None:
    bytewise = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    op.add_column("papers", sa.Column("published_on", sa.Date(), nullable=True))
    op.add_column("papers", sa.Column("title_key", bytewise, nullable=True))
    op.add_column("papers", sa.Column("name_key", sa.Text(), nullable=True))
    _fill(op.get_bind())
    op.create_index("ix_papers_published_on", "papers", ["published_on"])
    op.create_index("ix_papers_title_key", "papers", ["title_key"])
    op.create_index("ix_papers_name_key", "papers", ["name_key"])


def downgrade() -> None:
    for name in ("name_key", "title_key", "published_on"):
        op.drop_index(f"ix_papers_{name}", table_name="papers")
        op.drop_column("papers", name)


def _fill(connection: sa.Connection) -> None:
    """Batches in id order (the indexes come after, so the updates do not maintain them)."""
    statement = (
        sa.update(_PAPERS)
        .where(_PAPERS.c.id == sa.bindparam("_id"))
        .values(
            published_on=sa.bindparam("published_on"),
            title_key=sa.bindparam("title_key"),
            name_key=sa.bindparam("name_key"),
        )
    )
    after = 0
    while True:
        rows = connection.execute(
            sa.select(
                _PAPERS.c.id,
                _PAPERS.c.arxiv_id,
                _PAPERS.c.title,
                _PAPERS.c.announced_on,
                _PAPERS.c.submitted_at,
                _FEATURED.c.featured_on,
            )
            .select_from(_PAPERS.outerjoin(_FEATURED, _FEATURED.c.paper_id == _PAPERS.c.id))
            .where(_PAPERS.c.id > after)
            .order_by(_PAPERS.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(statement, [_derived(row) for row in rows])
        after = rows[-1].id


def _derived(row: Any) -> dict[str, Any]:
    published = effective_date(row.arxiv_id, _day(row.announced_on), _moment(row.submitted_at), _day(row.featured_on))
    return {
        "_id": row.id,
        "published_on": published,
        "title_key": title_key(row.title),
        "name_key": name_key(row.title),
    }


def _day(value: Any) -> date | None:
    """SQLite hands dates back as text here (no model types in a migration)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # stored in UTC (models.base.UtcDateTime)
    return value
