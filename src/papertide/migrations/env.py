"""Alembic environment: runs papertide's migrations on the connection ``db.upgrade`` hands over.

``papertide db upgrade`` is the entry point; running ``alembic`` directly also works with ``-x url=...``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from papertide.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(str(url))
    with engine.begin() as own_connection:
        _run(own_connection)


def _include(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    """Keep autogenerate away from the search indexes that migration 0003 creates by hand."""
    return not (name and (name.endswith("_tsv") or name.startswith("paper_search")))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
