"""The in-corpus citation count of known-item search's namesake prior (issue 27): ``papers.name_mentions``, how many
other papers, none older, mention a paper's coined name in their title or abstract. Counted right whichever arrives
first (the named paper or the papers naming it), kept when an abstract changes, read by the prior among namesakes
with equal votes, and filled for papers stored before migration 0018. Whole-word matching as the known-item
normaliser compares words (``search/titles.py``) is checked without a database. A bulk load (a directory of real
Daily Papers days, a mirror backfill of them) defers the count to one recount at its end and ends with the counts the
day-by-day ingest keeps; one cut short leaves a recount owed, which later writes respect and the worker finishes."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, update

from papertide.config import Settings
from papertide.db import Database, alembic_config
from papertide.jobs.scheduler import MENTIONS_QUIET, enqueue_due
from papertide.jobs.tasks import TASKS, JobContext
from papertide.models import Paper, utcnow
from papertide.records import PaperRecord, VersionRecord
from papertide.search.known_items import named_papers
from papertide.search.namesakes import MENTIONS_CAP
from papertide.search.query import parse_query
from papertide.search.titles import Names, mention_text
from papertide.services.ingest import ingest_daily
from papertide.services.mirror import mirror_days
from papertide.services.name_mentions import (
    DeferredMentions,
    finish_mentions,
    mentions_owed_since,
    owe_mentions,
    recount_mentions,
)
from papertide.services.papers import feature_papers, upsert_papers
from papertide.sources.hf_mirror import HfMirrorClient
from papertide.sources.http import PoliteClient
from tests.helpers.cli import run_cli
from tests.helpers.data import SHARED_DATA
from tests.helpers.databases import SQLITE_ONLY, count_queries
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.replay import FakeClock, ReplayServer, Reply

MOBA_DAY = date(2025, 2, 24)
MOBA = "MoBA: Mixture of Block Attention for Long-Context LLMs"


def _paper(arxiv_id: str, title: str, abstract: str, day: date, version: int = 1) -> PaperRecord:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    versions = tuple(VersionRecord(number, moment) for number in range(1, version + 1))
    return make_paper_record(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        version=version,
        versions=versions,
        submitted_at=moment,
        updated_at=moment,
        announced_on=day,
    )


ORIGINAL = _paper("2502.13189", MOBA, "Block attention for long contexts.", MOBA_DAY)
CITING = [
    _paper("2503.00001", "Video Block Attention", "We extend MoBA to video; MoBA scales.", date(2025, 3, 3)),
    _paper("2503.00002", "Stacked MoBAs for Retrieval", "Sparse attention, stacked.", date(2025, 3, 4)),
    _paper("2503.00003", "MoBAnet for Speech", "A network unrelated to block attention.", date(2025, 3, 5)),
    _paper("2410.00004", "Mobile Agents", "MoBA plans on phones.", date(2024, 10, 18)),  # older: cannot cite it
]
EXPECTED = 2  # the video paper (once, however often it says it) and the stacked MoBAs (a plural is the same stem)


def _mentions(db: Database) -> dict[str, int]:
    with db.read_session() as session:
        return dict(session.execute(select(Paper.arxiv_id, Paper.name_mentions)).all())  # type: ignore[arg-type]


def test_a_mention_is_the_name_s_words_whole_and_in_order() -> None:
    names = Names(["moba", "deepseek r 1", "mixtur of depth"])
    found = names.mentioned("Unlike DeepSeek-R1 and Mixture-of-Depths, MoBAs scale; MoBAnet and R1 do not.")
    assert found == {"moba", "deepseek r 1", "mixtur of depth"}
    assert names.mentioned("MoBAnet, DeepSeek R2, mixture of the depths") == set()


def test_a_web_address_mentions_nothing() -> None:
    """A lab's account ("github.com/vita-epfl") is not the paper VITA (bench/RESULTS.md: 5 of its 13 "mentions")."""
    names = Names(["vita", "moba"])
    said = mention_text(
        "Trajectories", "Code: https://github.com/vita-epfl/x and github.com/MoBA-lab/y. Unlike VITA, ..."
    )
    assert names.mentioned(said) == {"vita"}
    assert names.mentioned(mention_text("Trajectories", "See www.vita.org/moba for MoBA.")) == {"moba"}


@pytest.mark.parametrize("order", ["cited first", "citing first", "one batch"])
def test_counts_are_right_whichever_arrives_first(db: Database, order: str) -> None:
    batches = {
        "cited first": [[ORIGINAL], CITING],
        "citing first": [CITING, [ORIGINAL]],
        "one batch": [[*CITING, ORIGINAL]],
    }[order]
    for batch in batches:
        with db.write_session() as session:
            upsert_papers(session, batch)
    counts = _mentions(db)
    assert counts[ORIGINAL.arxiv_id] == EXPECTED
    assert counts["2503.00002"] == 0  # "stacked moba" is no name anyone else says


def test_a_changed_abstract_moves_its_mentions(db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [ORIGINAL, CITING[0]])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 1
    silent = _paper(CITING[0].arxiv_id, "Video Block Attention", "Block attention for video.", date(2025, 3, 3), 2)
    with db.write_session() as session:
        upsert_papers(session, [silent])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 0
    again = _paper(CITING[0].arxiv_id, "Video Block Attention", "Now built on MoBA.", date(2025, 3, 3), 3)
    with db.write_session() as session:
        upsert_papers(session, [again])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 1


@SQLITE_ONLY
def test_a_paper_dated_by_featuring_moves_its_mentions(db: Database) -> None:
    """A Daily Papers item without dates goes by its id's month (before the original) until featured on a day
    after it: from then on its mention is the original's."""
    item = make_paper_record(
        arxiv_id="2502.00099",
        title="Block Attention Revisited",
        abstract="We revisit MoBA.",
        version=None,
        versions=(),
        submitted_at=None,
        updated_at=None,
        announced_on=None,
    )
    with db.write_session() as session:
        upsert_papers(session, [ORIGINAL, item])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 0
    with db.write_session() as session:
        feature_papers(session, [make_featured_record(paper=item, featured_on=date(2025, 2, 27))])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 1


@SQLITE_ONLY
def test_a_paper_renamed_is_counted_afresh(db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [ORIGINAL, *CITING])
    renamed = _paper(ORIGINAL.arxiv_id, "MoBAnet: Block Attention", ORIGINAL.abstract or "", MOBA_DAY, 2)
    with db.write_session() as session:
        upsert_papers(session, [renamed])
    assert _mentions(db)[ORIGINAL.arxiv_id] == 1  # the speech paper says "MoBAnet"


# An older namesake nobody names after the original appears: a mention goes to the newest namesake not newer than it.
NAMESAKE = _paper("2311.00005", "MoBA: Mobile Bargaining Agents", "Agents that haggle.", date(2023, 11, 20))


def test_a_later_namesake_takes_the_mentions_made_after_it(db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [NAMESAKE, *CITING])
    assert _mentions(db)[NAMESAKE.arxiv_id] == 3  # every later "MoBA" meant the only MoBA there was
    with db.write_session() as session:
        upsert_papers(session, [ORIGINAL])  # arrives last, dated between
    counts = _mentions(db)
    assert (counts[NAMESAKE.arxiv_id], counts[ORIGINAL.arxiv_id]) == (1, EXPECTED)


def test_the_prior_puts_the_original_first_among_namesakes_with_equal_votes(db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [NAMESAKE, ORIGINAL, *CITING])
    with db.read_session() as session:
        ranked = named_papers(session, parse_query("moba"), Paper.hidden.is_(False))
        ids = dict(session.execute(select(Paper.id, Paper.arxiv_id)).all())  # type: ignore[arg-type]
    assert [ids[paper_id] for paper_id in ranked[:2]] == [ORIGINAL.arxiv_id, NAMESAKE.arxiv_id]


def test_migration_0018_counts_papers_stored_before_it(db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [ORIGINAL, *CITING])
    with db.engine.begin() as connection:  # back to 0017 (its downgrade drops the column), then up again
        config = alembic_config(str(db.engine.url.render_as_string(hide_password=False)))
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
        assert "name_mentions" not in {column["name"] for column in inspect(connection).get_columns("papers")}
        command.upgrade(config, "head")
    assert _mentions(db)[ORIGINAL.arxiv_id] == EXPECTED


def test_a_common_word_s_mentions_count_only_up_to_the_cap(db: Database) -> None:
    """Every abstract says "code": both namesakes pass the cap, so the count no longer decides and the original
    stays first, though the newer namesake collected more of a word everyone writes."""
    older = _paper("2401.00010", "Code: Old Tricks", "A toolkit.", date(2024, 1, 1))
    newer = _paper("2501.00020", "Code: New Tricks", "Another toolkit.", date(2025, 1, 1))
    saying = [
        _paper(f"{prefix}.{number:05d}", f"Study {number}", "We release our code.", day)
        for prefix, day, count in (
            ("2406", date(2024, 6, 1), MENTIONS_CAP + 5),
            ("2506", date(2025, 6, 1), MENTIONS_CAP + 10),
        )
        for number in range(1, count + 1)
    ]
    with db.write_session() as session:
        upsert_papers(session, [older, newer, *saying])
    counts = _mentions(db)
    assert (counts[older.arxiv_id], counts[newer.arxiv_id]) == (MENTIONS_CAP + 5, MENTIONS_CAP + 10)
    assert _first_named(db, "code") == older.arxiv_id


def _first_named(db: Database, query: str) -> str:
    with db.read_session() as session:
        first = session.get(Paper, named_papers(session, parse_query(query), Paper.hidden.is_(False))[0])
        assert first is not None
        return first.arxiv_id


def test_a_later_namesake_does_not_win_on_a_denser_stretch_of_the_corpus(db: Database) -> None:
    """VITA's case (bench/RESULTS.md): the later namesake collects more mentions only because far more papers came
    after it; per paper that could have named it, the original is named more often, and stays first."""
    original = _paper("2408.00001", "Vita: An Omni Model", "Hears and sees.", date(2024, 8, 12))
    later = _paper("2507.00002", "VITA: Vision to Action", "A robot policy.", date(2025, 7, 18))
    said = [_paper(f"2409.{n:05d}", f"Omni Study {n}", "Like VITA, we listen.", date(2024, 9, n)) for n in (1, 2, 3)]
    said += [_paper(f"2508.{n:05d}", f"Omni Follow-up {n}", "Beyond VITA.", date(2025, 8, 1)) for n in range(1, 5)]
    quiet = [_paper(f"2509.{n:05d}", f"Unrelated {n}", "Nothing named.", date(2025, 9, 1)) for n in range(1, 301)]
    with db.write_session() as session:
        upsert_papers(session, [original, later, *said, *quiet])
    counts = _mentions(db)
    assert (counts[original.arxiv_id], counts[later.arxiv_id]) == (3, 4)
    assert _first_named(db, "vita") == original.arxiv_id


# Real Daily Papers days with abstracts (hf.co's files carry them from mid-March 2025 on), named in each other's.
DAYS = sorted(
    [*(SHARED_DATA / "hf-daily").glob("2025-03-1[5-9].json"), *(SHARED_DATA / "hf-daily").glob("2025-03-2*.json")]
)
CUT_AFTER = 10  # day files: up to 2025-03-24, when MAP (2503.16905, featured 2025-03-21) is in


def _days_folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "days"
    folder.mkdir(parents=True)
    for day in DAYS[:count]:
        shutil.copy(day, folder / day.name)
    return folder


def _day_by_day(database: Database, folder: Path) -> dict[str, int]:
    """What the incremental hook keeps, one day file at a time (a single file is no bulk load)."""
    for day in sorted(folder.iterdir()):
        ingest_daily(database, day)
    return _mentions(database)


def _owed(db: Database) -> bool:
    with db.read_session() as session:
        return mentions_owed_since(session) is not None


def test_a_bulk_load_recounts_once_to_what_the_day_by_day_ingest_keeps(
    db: Database, second_database: Database, tmp_path: Path
) -> None:
    folder = _days_folder(tmp_path, len(DAYS))
    ingest_daily(db, folder)
    counts = _mentions(db)
    assert counts == _day_by_day(second_database, folder)
    assert sum(counts.values()) >= 20 and not _owed(db)


def test_the_one_pass_recount_gives_what_the_hook_kept(db: Database, tmp_path: Path) -> None:
    kept = _day_by_day(db, _days_folder(tmp_path, len(DAYS)))
    with db.write_session() as session:
        session.execute(update(Paper).values(name_mentions=0))
        owe_mentions(session)
    reports: list[tuple[int, int]] = []
    assert recount_mentions(db, lambda done, total: reports.append((done, total))) == sum(
        1 for count in kept.values() if count
    )
    assert _mentions(db) == kept and not _owed(db)
    assert reports[0] == (0, len(kept)) and reports[-1] == (len(kept), len(kept))  # its bar: every paper read


class _CtrlC:
    """A ``progress`` callback that presses Ctrl+C after ``files`` committed day files."""

    def __init__(self, files: int) -> None:
        self.files = files

    def __call__(self, done: int) -> None:
        if done == self.files:
            raise KeyboardInterrupt


def test_a_bulk_load_cut_short_leaves_a_recount_owed_that_the_worker_finishes(
    db: Database, second_database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = _days_folder(tmp_path, len(DAYS))
    with pytest.raises(KeyboardInterrupt):
        ingest_daily(db, folder, progress=_CtrlC(CUT_AFTER))
    assert _owed(db) and set(_mentions(db).values()) == {0}  # stored, not yet counted: owed, not silently wrong
    citing = _paper(
        "2502.99999", "Distilling DeepSeek-R1", "We distil DeepSeek-R1 into small models.", date(2025, 2, 9)
    )
    with db.write_session() as session:
        upsert_papers(
            session, [citing]
        )  # an arrival meanwhile owes the recount too, rather than count on stale figures
    assert _mentions(db)[citing.arxiv_id] == 0 and _owed(db)
    assert "mentions" not in enqueue_due(db, settings, utcnow())  # written just now: maybe a bulk load still running
    assert "mentions" in enqueue_due(db, settings, utcnow() + MENTIONS_QUIET + timedelta(seconds=1))
    TASKS["mentions"].run(JobContext(db, settings, None), {})
    for day in DAYS[:CUT_AFTER]:
        ingest_daily(second_database, day)
    with second_database.write_session() as session:
        upsert_papers(session, [citing])
    expected = _mentions(second_database)
    assert _mentions(db) == expected and expected["2503.16905"] >= 1 and not _owed(db)


def test_papertide_ingest_mentions_recounts_and_clears_what_is_owed(db: Database, settings: Settings) -> None:
    with db.write_session() as session:
        # a bulk load's batch, cut short after it
        upsert_papers(session, [ORIGINAL, *CITING], defer_mentions=DeferredMentions())
    assert _mentions(db)[ORIGINAL.arxiv_id] == 0 and _owed(db)
    result = run_cli(settings, "ingest", "mentions")
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "papers whose count changed: 1" in shown
    assert "papers read for name mentions" in shown and f"{1 + len(CITING)}/{1 + len(CITING)}" in shown  # its bar
    assert _mentions(db)[ORIGINAL.arxiv_id] == EXPECTED and not _owed(db)


def test_a_mirror_backfill_defers_the_count_and_a_scheduled_run_counts_as_it_goes(
    db: Database, second_database: Database, server: ReplayServer, clock: FakeClock, tmp_path: Path
) -> None:
    for day in DAYS:  # 2025-03-15 to 2025-03-29, every day of it
        server.route("/api/daily_papers", Reply(body=day), params={"date": day.stem})
    http = PoliteClient(f"{server.url}/api/daily_papers", min_interval=1.0, clock=clock, sleep=clock.sleep)
    with http, count_queries(db) as statements:
        client = HfMirrorClient(http)
        mirror_days(db, client, date(2025, 3, 15), date(2025, 3, 26))  # 12 days: a backfill
        backfill = len([s for s in statements if "DISTINCT papers.name_key" in s])
        mirror_days(db, client, date(2025, 3, 27), date(2025, 3, 29))  # the schedule's few days
    assert backfill == 0 and len([s for s in statements if "DISTINCT papers.name_key" in s]) > 0
    assert _mentions(db) == _day_by_day(second_database, _days_folder(tmp_path, len(DAYS))) and not _owed(db)


def _counted_how(statements: list[str]) -> str:
    """Whether a load's end counted its own changes ("changes": the hook's statements) or recounted every paper."""
    changes = any("DISTINCT papers.name_key" in statement for statement in statements)
    named = "SELECT papers.id, papers.name_key, papers.published_on \nFROM papers \nWHERE papers.name_key IS NOT NULL"
    recount = any(statement.startswith(named) for statement in statements)  # every named paper, then every text
    assert changes != recount, "one or the other"
    return "changes" if changes else "recount"


def _split_days(tmp_path: Path, last: list[Path]) -> tuple[Path, Path]:
    first = _days_folder(tmp_path / "first", 0)
    for day in (d for d in DAYS if d not in last):
        shutil.copy(day, first / day.name)
    second = _days_folder(tmp_path / "second", 0)
    for day in last:
        shutil.copy(day, second / day.name)
    return first, second


@pytest.mark.parametrize("newer", [True, False], ids=["newer-days-last", "older-days-last"])
def test_a_bulk_load_over_a_corpus_counts_its_own_changes_at_its_end(
    db: Database, second_database: Database, tmp_path: Path, newer: bool
) -> None:
    # The Daily Papers days over a snapshot: a load that changes a sixth of the corpus counts only its changes,
    # once, at its end; older days arriving last are a backfill.
    first, second = _split_days(tmp_path, DAYS[-3:] if newer else DAYS[:3])
    with count_queries(db) as statements:
        ingest_daily(db, first)
    assert _counted_how(statements) == "recount"  # a first load changes every paper
    with count_queries(db) as statements:
        ingest_daily(db, second)
    assert _counted_how(statements) == "changes"
    assert _mentions(db) == _day_by_day(second_database, _days_folder(tmp_path / "all", len(DAYS)))
    assert not _owed(db) and recount_mentions(db) == 0  # a recount of the whole corpus finds nothing to change


def test_a_write_beside_a_bulk_load_makes_it_recount_the_whole_corpus(
    db: Database, second_database: Database, tmp_path: Path
) -> None:
    first, second = _split_days(tmp_path, DAYS[-3:])
    ingest_daily(db, first)
    citing = _paper("2503.99999", "Beyond MAP", "We extend MAP to video.", date(2025, 3, 28))

    def another_writer(done: int) -> None:  # a submission committed between the load's day files
        if done == 1:
            with db.write_session() as session:
                upsert_papers(session, [citing])

    with count_queries(db) as statements:
        ingest_daily(db, second, progress=another_writer)
    assert _counted_how(statements[len(statements) // 2 :]) == "recount"  # its change is not the load's
    for day in DAYS:
        ingest_daily(second_database, day)
    with second_database.write_session() as session:
        upsert_papers(session, [citing])
    assert _mentions(db) == _mentions(second_database) and not _owed(db)


@pytest.mark.parametrize(("most", "how"), [(10, "changes"), (2, "recount")])
def test_a_load_holds_at_most_so_many_changes_then_recounts_the_whole_corpus(db: Database, most: int, how: str) -> None:
    fillers = [_paper(f"2401.{n:05d}", f"Filler paper {n}", "Nothing named.", date(2024, 1, 2)) for n in range(20)]
    with db.write_session() as session:
        upsert_papers(session, [*fillers, ORIGINAL])
    deferred = DeferredMentions(most=most)
    with db.write_session() as session:
        upsert_papers(session, CITING[:3], defer_mentions=deferred)
    assert (deferred.changes is None) == (how == "recount")
    with count_queries(db) as statements:
        assert finish_mentions(db, deferred=deferred) is not None
    assert _counted_how(statements) == how
    assert _mentions(db)[ORIGINAL.arxiv_id] == EXPECTED and not _owed(db)
