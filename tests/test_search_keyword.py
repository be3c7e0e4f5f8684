"""Keyword search on real arXiv records: diacritics, phrases, exclusions, prefixes, fields, filters, hostile
input, and agreement between SQLite FTS5 and PostgreSQL full text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from papertide.app import create_app
from papertide.db import Database, among, connect
from papertide.models import Paper
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.keyword import database_retriever
from papertide.search.query import Term, parse_query
from papertide.search.retrieval import plain_words
from papertide.services.ingest import ingest_snapshot
from tests.helpers.data import snapshot_subset
from tests.helpers.databases import BACKENDS, fresh_database
from tests.helpers.settings import make_settings

LINES = 3_000


@pytest.fixture(scope="module")
def corpora(
    request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Database]]:
    """The first LINES real records on each backend, ingested once for this module's tests that only read them."""
    directory = tmp_path_factory.mktemp("keyword-corpora")
    subset = snapshot_subset(shared_data, directory / "subset.jsonl", LINES)
    with ExitStack() as stack:
        databases = {}
        for backend in BACKENDS:
            url = stack.enter_context(fresh_database(request, backend, directory))
            database = connect(make_settings(url, directory))
            stack.callback(database.dispose)
            ingest_snapshot(database, subset)
            databases[backend] = database
        yield databases


@pytest.fixture(params=BACKENDS)
def corpus(request: pytest.FixtureRequest, corpora: dict[str, Database]) -> Database:
    """The shared, read-only corpus on each backend."""
    return corpora[request.param]


@pytest.fixture
def corpus_client(corpus: Database, tmp_path: Path) -> Iterator[TestClient]:
    """The app over the shared corpus: its search pages read and write nothing there."""
    settings = make_settings(corpus.engine.url.render_as_string(hide_password=False), tmp_path)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def own_corpus(db: Database, shared_data: Path, tmp_path: Path) -> Database:
    """The same records in this test's own database, for a test that writes."""
    ingest_snapshot(db, snapshot_subset(shared_data, tmp_path / "subset.jsonl", LINES))
    return db


def engine(db: Database) -> SearchEngine:
    """The database's own full text, which these tests pin down (tantivy's are in test_search_tantivy.py)."""
    return SearchEngine(database_retriever(db.is_sqlite))


def ids(db: Database, text: str, **options: object) -> list[str]:
    with db.read_session() as session:
        results = engine(db).search(session, parse_query(text), SearchOptions(limit=50, **options))  # type: ignore[arg-type]
    return [row.arxiv_id for row in results.rows]


def test_diacritics_are_folded(corpus: Database) -> None:
    assert ids(corpus, "bezier splatting")[0] == "2503.16424"  # "Bézier Splatting for Fast and Differentiable…"
    assert ids(corpus, "fuxi benchmark")[0] == "2503.15837"  # "Fùxì: A Benchmark…"
    assert "2503.17657" in ids(corpus, "karhunen loeve")  # "Karhunen-Loève"
    assert ids(corpus, "Fréchet distance")[:3] == ids(corpus, "frechet distance")[:3]
    assert "2503.11849" in ids(corpus, "author:taixe")  # Laura Leal-Taixé


def test_stemming_and_prefixes(corpus: Database) -> None:
    assert "2503.16424" in ids(corpus, "splat")  # porter: splatting -> splat
    prefixed = ids(corpus, "splatt*")
    assert "2503.16424" in prefixed and len(prefixed) >= 5


def test_phrases_are_required_and_contiguous(corpus: Database) -> None:
    found = ids(corpus, '"vector graphics"')
    assert found
    with corpus.read_session() as session:
        for arxiv_id in found:
            paper = session.query(Paper).filter_by(arxiv_id=arxiv_id).one()
            assert "vector graphic" in f"{paper.title} {paper.abstract}".lower().replace("\n", " ")


def test_exclusions_remove_matches(corpus: Database) -> None:
    both = ids(corpus, "bezier")
    assert {"2503.16424", "2503.13961"} <= set(both)
    without = ids(corpus, "bezier -splatting")
    assert "2503.16424" not in without and "2503.13961" in without
    # A filter with exclusions and no words: the filter's papers less the excluded (they were all listed).
    week = "cat:cs.GR after:2025-03-17 before:2025-03-23"
    graphics = ids(corpus, week)
    assert {"2503.16424", "2503.13961"} <= set(graphics) and len(graphics) < 50
    assert ids(corpus, f"{week} -splatting") == [p for p in graphics if p not in ids(corpus, f"splatting {week}")]


def test_split_words_stand_for_their_parts(corpus: Database) -> None:
    # A hyphenated compound is a phrase (issue 27), as if quoted.
    assert ids(corpus, "fine-tuning language model's") == ids(corpus, '"fine tuning" language model')
    assert "2503.17657" in ids(corpus, "karhunen-loeve")  # "Karhunen-Loève"
    # Hyphenated compounds are phrases now (issue 27), so no longer plain words.
    assert plain_words(parse_query('state-of-the-art "fine-tuning" title:x gpt-4o splat*')) == [
        Term("splat", prefix=True),
    ]


def test_lone_letters_and_digits_leave_the_alternatives() -> None:
    assert plain_words(parse_query("k means for I.B.M. phi 3 on 猫 x")) == [Term("means"), Term("phi"), Term("猫")]
    assert plain_words(parse_query("x y")) == [Term("x"), Term("y")]  # nothing else left: kept


def test_title_field_restricts_the_column(corpus: Database) -> None:
    in_title = ids(corpus, "title:benchmark")
    with corpus.read_session() as session:
        titles = [session.query(Paper.title).filter_by(arxiv_id=a).scalar() for a in in_title]
    assert titles and all("benchmark" in (t or "").lower() for t in titles)
    assert len(ids(corpus, "benchmark")) >= len(in_title)


def test_filters_narrow_results(corpus: Database) -> None:
    assert len(ids(corpus, "diffusion")) == 50
    with corpus.read_session() as session:
        cv = [
            r.arxiv_id
            for r in engine(corpus).search(session, parse_query("diffusion cat:cs.CV"), SearchOptions(limit=50)).rows
        ]
        lg = engine(corpus).search(session, parse_query("diffusion"), SearchOptions(limit=50, category="cs.LG")).rows
    assert cv and all("cs.CV" in row for row in _categories(corpus, cv))
    assert lg and all("cs.LG" in row.categories for row in lg)
    dated = ids(corpus, "diffusion after:2025-04-01 before:2025-04-30")
    with corpus.read_session() as session:
        days = [session.query(Paper.announced_on).filter_by(arxiv_id=a).scalar() for a in dated]
    assert days and all(date(2025, 4, 1) <= d <= date(2025, 4, 30) for d in days)  # type: ignore[operator]


def test_code_and_upvote_filters_follow_the_papers(own_corpus: Database) -> None:
    everything = ids(own_corpus, "diffusion")
    with own_corpus.write_session() as session:
        session.execute(
            update(Paper)
            .where(Paper.arxiv_id == everything[3])
            .values(code_url="https://github.com/x/y", upvote_count=42)
        )
    assert ids(own_corpus, "diffusion has:code") == [everything[3]]
    assert ids(own_corpus, "diffusion upvotes:>40") == [everything[3]]
    assert everything[3] not in ids(own_corpus, "diffusion upvotes:<5")


def _categories(db: Database, arxiv_ids: list[str]) -> list[list[str]]:
    with db.read_session() as session:
        return [session.query(Paper.categories).filter_by(arxiv_id=a).scalar() for a in arxiv_ids]


def test_the_visibility_check_reads_an_index_alone(corpus: Database) -> None:
    # Every search checks up to a thousand candidates against papers.hidden; PostgreSQL read each candidate's row
    # for that flag, a thousand heap pages scattered over an 18 GB table at 2.7M papers.
    if not corpus.is_sqlite:
        with corpus.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE papers"))  # marks pages all-visible, as autovacuum would
    with corpus.read_session() as session:
        some = list(session.execute(select(Paper.id).limit(1_000)).scalars())
        check = select(Paper.id).where(among(session, Paper.id, some), Paper.hidden.is_(False))
        sql = str(check.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        assert sorted(session.execute(check).scalars()) == sorted(some)
        if corpus.is_sqlite:
            plan = " ".join(row[3] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "COVERING INDEX ix_papers_hidden_id" in plan, plan
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))  # 3,000 papers: a scan would be cheaper
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = " ".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
            assert "Index Only Scan using ix_papers_hidden_id" in plan, plan


def test_sorts_and_facets(corpus: Database) -> None:
    with corpus.read_session() as session:
        by_date = engine(corpus).search(session, parse_query("diffusion"), SearchOptions(limit=30, sort="date"))
    days = [row.announced_on for row in by_date.rows]
    assert days == sorted(days, reverse=True)  # type: ignore[type-var]
    assert by_date.facets[0][1] >= by_date.facets[-1][1] and by_date.total >= 30


def test_search_page_handles_hostile_and_odd_input(corpus_client: TestClient) -> None:
    for q in [
        "NEAR(a b",
        'title:* OR "unbalanced',
        "x" * 10_000,
        "🚀🚀 深度学习",
        "'; DROP TABLE papers; --",
        "-only -negations",
        '""',
        "cat:",
        "AND OR NOT",
        "\\",
        "^*:()",
    ]:
        response = corpus_client.get("/search", params={"q": q})
        assert response.status_code == 200, q
    assert "cut to its first" in corpus_client.get("/search", params={"q": "x " * 6_000}).text
    assert "nothing to search for" in corpus_client.get("/search", params={"q": "-only"}).text


def test_search_page_highlights_and_jumps(corpus_client: TestClient) -> None:
    page = corpus_client.get("/search", params={"q": "bezier splatting"}).text
    assert "<mark>Splatting</mark>" in page and 'href="/papers/2503.16424"' in page
    jump = corpus_client.get("/search", params={"q": "https://arxiv.org/abs/2503.16424v2"}, follow_redirects=False)
    assert jump.status_code == 303 and jump.headers["location"] == "/papers/2503.16424"
    data = corpus_client.get("/search.json", params={"q": "bezier", "sort": "date"}).json()
    assert data["total"] >= 2 and data["cards"] and all(isinstance(s, float) for s in data["scores"].values())


@pytest.mark.parametrize(
    "text",
    [
        "bezier splatting",
        "fuxi",
        "gaussian splatting avatar",
        '"vector graphics"',
        "title:benchmark reasoning",
        "karhunen loeve diffusion",
    ],
)
def test_sqlite_and_postgresql_agree_on_top_hits(corpora: dict[str, Database], text: str) -> None:
    lite, pg = corpora["sqlite"], corpora["postgresql"]
    lite_ids, pg_ids = ids(lite, text), ids(pg, text)
    assert lite_ids and pg_ids
    assert lite_ids[0] == pg_ids[0] or lite_ids[0] in pg_ids[:3], (text, lite_ids[:5], pg_ids[:5])
    overlap = len(set(lite_ids[:10]) & set(pg_ids[:10]))
    assert overlap >= min(5, len(lite_ids[:10]), len(pg_ids[:10])) * 0.6, (text, lite_ids[:10], pg_ids[:10])
