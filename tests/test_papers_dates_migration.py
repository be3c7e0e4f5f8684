"""Migration 0014 (issue 27) on both backends: papers stored before it get their effective date and title keys,
the ones known only from a Daily Papers list dated by their featured day, the others by their listing day."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import inspect, select

from papertide.db import Database, alembic_config
from papertide.models import Paper
from papertide.services.papers import feature_papers, upsert_papers
from tests.helpers.factories import make_featured_record, make_paper_record


def test_migration_0014_dates_and_keys_papers_stored_before_it(db: Database) -> None:
    listed = make_paper_record(title="Vision Mamba: Efficient Visual Representation Learning")
    undated = make_paper_record(
        arxiv_id="2501.12948", title="DeepSeek-R1: Incentivizing", versions=(), submitted_at=None, announced_on=None
    )
    with db.write_session() as session:
        upsert_papers(session, [listed])
        feature_papers(session, [make_featured_record(paper=undated, featured_on=date(2025, 1, 23))])
    with db.engine.begin() as connection:  # back to 0013 (its downgrade drops the columns), then up again
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
        assert "published_on" not in {column["name"] for column in inspect(connection).get_columns("papers")}
        command.upgrade(config, "head")
    with db.read_session() as session:
        rows = {row.arxiv_id: row for row in session.execute(select(Paper)).scalars()}
    assert rows[listed.arxiv_id].published_on == listed.announced_on
    assert rows[listed.arxiv_id].name_key == "vision mamba"
    assert rows[listed.arxiv_id].title_key == "vision mamba effici visual represent learn"
    assert rows["2501.12948"].published_on == date(2025, 1, 23)
    assert rows["2501.12948"].name_key == "deepseek r 1"
