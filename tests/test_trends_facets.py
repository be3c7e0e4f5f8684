"""The counts a one-filter trend reads (``facet_days``, migration 0019) stay what the papers say through every
writer, on both databases: ingest and re-ingest (categories and dates changed), featuring by an organization, the
insights job's keyphrases, votes cast and taken back, hiding and showing, an organization renamed or deleted, a
paper deleted. After each step the kept counts equal a count of the papers from scratch; migration 0019 fills
them from the papers there are and goes back and forth with its rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from alembic import command
from sqlalchemy import Select, delete, func, inspect, literal, select, text, union_all, update
from sqlalchemy.orm import Session

from papertide.config import Settings
from papertide.db import Database, alembic_config
from papertide.jobs import queue
from papertide.jobs.worker import Worker
from papertide.models import FacetDay, FeaturedPaper, Organization, Paper, PaperCategory, PaperKeyphrase
from papertide.queries.papers import BOTH_UPVOTES
from papertide.records import AccountRecord
from papertide.services.papers import feature_papers, upsert_papers
from papertide.services.submissions import set_paper_hidden
from papertide.services.trends import fold_facet_days
from papertide.services.votes import set_vote
from tests.helpers.factories import make_featured_record, make_paper_record, make_user

Counts = set[tuple[str, str, date, int, int]]


def recounted(session: Session) -> Counts:
    """Each (kind, facet, day)'s visible papers and upvotes, counted from the papers."""
    facets = union_all(
        select(literal("cat").label("kind"), PaperCategory.category.label("facet"), PaperCategory.paper_id),
        select(literal("kw"), PaperKeyphrase.phrase, PaperKeyphrase.paper_id),
        select(literal("org"), func.lower(Organization.name), FeaturedPaper.paper_id).join(
            Organization, Organization.id == FeaturedPaper.organization_id
        ),
    ).subquery()
    statement: Select[tuple[str, str, date, int, int]] = (
        select(facets.c.kind, facets.c.facet, Paper.published_on, func.count(), func.sum(BOTH_UPVOTES))
        .join(Paper, Paper.id == facets.c.paper_id)
        .where(Paper.hidden.is_(False), Paper.published_on.is_not(None))
        .group_by(facets.c.kind, facets.c.facet, Paper.published_on)
    )
    return {(k, f, _day(d), int(n), int(u)) for k, f, d, n, u in session.execute(statement)}


def kept(session: Session) -> Counts:
    """Each (kind, facet, day)'s rows added up, as a trend reads them."""
    key = (FacetDay.kind, FacetDay.facet, FacetDay.day)
    rows = session.execute(select(*key, func.sum(FacetDay.papers), func.sum(FacetDay.upvotes)).group_by(*key))
    counts = {(k, f, _day(d), int(n), int(u)) for k, f, d, n, u in rows}
    assert all(u == 0 for *_, n, u in counts if n == 0)  # a day without papers has no upvotes left either
    return {count for count in counts if count[3]}


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def check(db: Database) -> Counts:
    with db.read_session() as session:
        expected = recounted(session)
        assert kept(session) == expected
    return expected


def paper_id(session: Session, arxiv_id: str) -> int:
    return session.execute(select(Paper.id).where(Paper.arxiv_id == arxiv_id)).scalar_one()


def test_counts_follow_every_writer(db: Database) -> None:
    first = make_paper_record(categories=("cs.CL", "cs.LG"), announced_on=date(2026, 6, 2))
    second = make_paper_record(categories=("cs.CL",), announced_on=date(2026, 6, 2))
    third = make_paper_record(categories=("cs.CV",), announced_on=date(2026, 6, 9))
    with db.write_session() as session:
        feature_papers(
            session,
            [
                make_featured_record(paper=first, featured_on=date(2026, 6, 2), upvotes=5, organization=None),
                make_featured_record(
                    paper=second, featured_on=date(2026, 6, 2), upvotes=7, organization=AccountRecord(name="Acme")
                ),
                make_featured_record(
                    paper=third, featured_on=date(2026, 6, 9), upvotes=1, organization=AccountRecord(name="Acme")
                ),
            ],
        )
    assert {("org", "acme", date(2026, 6, 2), 1, 7), ("cat", "cs.CL", date(2026, 6, 2), 2, 12)} <= check(db)
    with db.write_session() as session:  # the insights job's keyphrases, then a new reading of one paper
        ids = [paper_id(session, record.arxiv_id) for record in (first, second, third)]
        session.add_all([PaperKeyphrase(phrase="graph neural networks", paper_id=i) for i in ids])
        session.flush()
        session.execute(delete(PaperKeyphrase).where(PaperKeyphrase.paper_id == ids[2]))
    check(db)
    with db.write_session() as session:
        voter = make_user(session)
        set_vote(session, voter.id, ids[0], up=True)
        set_vote(session, voter.id, ids[1], up=True)
    assert ("kw", "graph neural networks", date(2026, 6, 2), 2, 14) in check(db)
    with db.write_session() as session:
        set_vote(session, voter.id, ids[1], up=False)
        set_paper_hidden(session, first.arxiv_id, True)
    assert ("cat", "cs.CL", date(2026, 6, 2), 1, 7) in check(db)
    with db.write_session() as session:  # shown again; re-listed a week later in another category
        set_paper_hidden(session, first.arxiv_id, False)
        upsert_papers(session, [replace(second, categories=("cs.AI",))])
        session.execute(update(Paper).where(Paper.id == ids[1]).values(published_on=date(2026, 6, 16)))
    check(db)
    with db.write_session() as session:
        session.execute(update(Organization).values(name="AcmeLab"))
    assert ("org", "acmelab", date(2026, 6, 16), 1, 7) in check(db)
    with db.write_session() as session:
        session.execute(delete(Organization))
        session.execute(delete(Paper).where(Paper.id == ids[0]))
    assert not any(kind == "org" for kind, *_ in check(db))
    with db.write_session() as session:  # folded: one row a day, the same counts
        assert fold_facet_days(session) > 0
    counts = check(db)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(FacetDay)) == len(counts)


def test_the_weekly_topics_job_folds_the_counts(db: Database, settings: Settings) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(categories=("cs.CL",), announced_on=date(2026, 6, 1)) for _ in "ab"])
    queue.enqueue(db, "topics", {"today": "2026-06-08"})
    assert Worker(db, settings, None).run_one()
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(FacetDay)) == 1  # two papers' rows, one day's
    assert check(db) == {("cat", "cs.CL", date(2026, 6, 1), 2, 0)}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has one writer at a time
def test_a_vote_during_a_mirror_run_waits_on_no_count(db: Database) -> None:
    """A mirror run that changed one paper's figure, then a vote on another paper of the same category and day,
    then the mirror changing the voted paper: the vote commits and the mirror after it. Counts kept in one row a
    day deadlocked here (the vote waited on the mirror's count row, the mirror on the vote's paper)."""
    records = [make_paper_record(categories=("cs.CL",), announced_on=date(2026, 6, 1)) for _ in range(2)]
    with db.write_session() as session:
        upsert_papers(session, records)
        changed, voted = (paper_id(session, record.arxiv_id) for record in records)
    with db.engine.connect() as mirror, db.engine.connect() as vote:
        mirror.execute(update(Paper).where(Paper.id == changed).values(hf_upvotes=5))
        vote.execute(update(Paper).where(Paper.id == voted).values(upvote_count=1))
        vote.commit()  # it waited on nothing: before, it blocked here until the deadlock was found
        mirror.execute(update(Paper).where(Paper.id == voted).values(hf_upvotes=7))
        mirror.commit()
    assert ("cat", "cs.CL", date(2026, 6, 1), 2, 13) in check(db)


def _migrate(db: Database, step: object, revision: str) -> None:
    with db.engine.begin() as connection:
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        step(config, revision)  # type: ignore[operator]


def test_migration_0019_fills_the_counts_and_goes_both_ways(db: Database) -> None:
    records = [make_paper_record(categories=("cs.CL",), announced_on=date(2026, 6, d)) for d in (1, 1, 3)]
    with db.write_session() as session:
        upsert_papers(session, records)
    _migrate(db, command.downgrade, "0018")
    with db.engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM papers")).scalar_one() == 3
        connection.execute(text("UPDATE papers SET hf_upvotes = 2"))  # written while no trigger keeps counts
    _migrate(db, command.upgrade, "head")
    counts = check(db)
    assert counts == {("cat", "cs.CL", date(2026, 6, 1), 2, 4), ("cat", "cs.CL", date(2026, 6, 3), 1, 2)}
    with db.write_session() as session:  # the triggers came back with the table
        session.execute(update(Paper).values(hf_upvotes=3))
    check(db)


def test_migration_0020_adds_the_index_a_series_is_counted_from_and_goes_both_ways(db: Database) -> None:
    def indexed() -> bool:
        return "ix_papers_counted" in {index["name"] for index in inspect(db.engine).get_indexes("papers")}

    assert indexed()
    _migrate(db, command.downgrade, "0019")
    assert not indexed()
    _migrate(db, command.upgrade, "head")
    assert indexed()


def test_migration_0021_puts_the_counted_columns_beside_the_date_and_goes_both_ways(db: Database) -> None:
    def indexes() -> dict[str, list[str | None]]:
        found = inspect(db.engine).get_indexes("papers")
        return {index["name"]: index["column_names"] for index in found if index["column_names"][0] == "published_on"}

    by_day = indexes()
    assert by_day.keys() == {"ix_papers_by_day"} and by_day["ix_papers_by_day"][0] == "published_on"
    _migrate(db, command.downgrade, "0020")
    assert indexes() == {"ix_papers_published_on": ["published_on"]}
    _migrate(db, command.upgrade, "head")
    assert indexes() == by_day
