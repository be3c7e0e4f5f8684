"""The in-corpus citation count (issue 27): ``papers.name_mentions``, how many other papers, none older, mention a
paper's coined name in their title or abstract and count for it (``search/titles.py``: a mention counts for the
newest namesake not newer than the mentioning paper), the count known-item search's popularity prior reads among
namesakes. Filled here in one pass over the papers' text in id-ordered batches (every name looked up by its first
word, so one pass counts them all), then one executemany update of the papers mentioned at all; the upsert keeps
it from now on.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

from papertide.search.titles import mention_counts, mention_text

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000
_PAPERS = sa.table(
    "papers",
    sa.column("id", sa.Integer),
    sa.column("title", sa.Text),
    sa.column("abstract", sa.Text),
    sa.column("published_on", sa.Date),
    sa.column("name_key", sa.Text),
    sa.column("name_mentions", sa.Integer),
)


def upgrade() -> None:
    op.add_column("papers", sa.Column("name_mentions", sa.Integer(), nullable=False, server_default="0"))
    connection = op.get_bind()
    named = [
        (row.id, row.name_key, _day(row.published_on))
        for row in connection.execute(
            sa.select(_PAPERS.c.id, _PAPERS.c.name_key, _PAPERS.c.published_on).where(_PAPERS.c.name_key.is_not(None))
        )
    ]
    counts = mention_counts(named, _texts(connection))
    if counts:
        statement = (
            sa.update(_PAPERS)
            .where(_PAPERS.c.id == sa.bindparam("_id"))
            .values(name_mentions=sa.bindparam("name_mentions"))
        )
        connection.execute(statement, [{"_id": key, "name_mentions": count} for key, count in counts.items()])


def downgrade() -> None:
    op.drop_column("papers", "name_mentions")


def _texts(connection: sa.Connection) -> Iterator[tuple[int, date | None, str | None, str]]:
    """Every paper's (id, date, the name it coins, title and abstract), in id-ordered batches."""
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_PAPERS.c.id, _PAPERS.c.published_on, _PAPERS.c.name_key, _PAPERS.c.title, _PAPERS.c.abstract)
            .where(_PAPERS.c.id > after)
            .order_by(_PAPERS.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        yield from (
            (row.id, _day(row.published_on), row.name_key, mention_text(row.title, row.abstract)) for row in rows
        )
        after = rows[-1].id


def _day(value: Any) -> date | None:
    """SQLite hands dates back as text here (no model types in a migration)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value
