"""One name per automatic source (issue 30): the Daily Papers mirror's jobs were ``ingest-hf`` keyed
``hf-mirror:<day>`` and enrichment's ``enrich``; both now carry their source's name (``hf_mirror``,
``enrichment``), as ``source_states`` always did. Jobs already in the queue are renamed, so a worker of this
release runs them and a schedule does not enqueue a day's mirror twice.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMED = (("ingest-hf", "hf_mirror", "hf-mirror:", "hf_mirror:"), ("enrich", "enrichment", None, None))


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)


def _rename(*, forward: bool) -> None:
    jobs = sa.table("jobs", sa.column("task", sa.String), sa.column("dedupe_key", sa.String))
    for old_task, new_task, old_prefix, new_prefix in _RENAMED:
        before, after = (old_task, new_task) if forward else (new_task, old_task)
        op.execute(jobs.update().where(jobs.c.task == before).values(task=after))
        if old_prefix and new_prefix:
            was, now = (old_prefix, new_prefix) if forward else (new_prefix, old_prefix)
            key = sa.func.substr(jobs.c.dedupe_key, len(was) + 1)
            op.execute(jobs.update().where(jobs.c.dedupe_key.like(f"{was}%")).values(dedupe_key=sa.literal(now) + key))
