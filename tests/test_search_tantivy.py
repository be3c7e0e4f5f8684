"""The tantivy keyword engine on real arXiv records: every query-language feature, diacritics, agreement with FTS5,
and keeping the index in step with the database (catch-up, answering while it lags, rebuild, resumed sync, one
writer at a time)."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from papertide.config import Settings
from papertide.db import Database, connect
from papertide.models import Paper
from papertide.records import AuthorRecord, PaperRecord
from papertide.search.engine import SearchEngine, SearchOptions, SearchResults, filter_clause, keyword_retriever
from papertide.search.keyword import Fts5Retriever
from papertide.search.query import parse_query
from papertide.search.retrieval import WIDEST
from papertide.search.tantivy_keyword.index import TantivyIndex
from papertide.search.tantivy_keyword.query import build_query
from papertide.search.tantivy_keyword.retriever import CATCH_UP_LIMIT, TantivyRetriever
from papertide.search.tantivy_keyword.sync import open_keyword_index, sync_keyword_index
from papertide.services.ingest import ingest_snapshot
from papertide.services.papers import upsert_papers
from tests.helpers.data import snapshot_subset
from tests.helpers.databases import fresh_database
from tests.helpers.settings import make_settings

LINES = 3_000


class Corpus:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    @property
    def index(self) -> TantivyIndex:
        assert self.settings.keyword_index_path is not None
        return open_keyword_index(self.settings.keyword_index_path)

    def ids(self, text: str, engine: str = "tantivy") -> list[str]:
        return [row.arxiv_id for row in self.search(text, engine).rows]

    def total(self, text: str, engine: str = "tantivy") -> int:
        return self.search(text, engine).total

    def search(self, text: str, engine: str) -> SearchResults:
        settings = self.settings.model_copy(update={"keyword_engine": "tantivy" if engine == "tantivy" else "database"})
        with self.db.read_session() as session:
            return SearchEngine.of(settings).search(session, parse_query(text), SearchOptions(limit=50))


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first LINES real records in a new SQLite database and its tantivy index, built once for this module
    (3 s) and left on disk: every corpus a test uses is a copy of this folder."""
    directory = tmp_path_factory.mktemp("tantivy-built")
    with fresh_database(request, "sqlite", directory) as url:
        settings = make_settings(url, directory)
        db = connect(settings)
        ingest_snapshot(db, snapshot_subset(shared_data, directory / "subset.jsonl", LINES))
        assert sync_keyword_index(db, settings) == LINES
        db.dispose()
    return directory


@contextmanager
def copied_corpus(built: Path, directory: Path) -> Iterator[Corpus]:
    """A copy of the built corpus's folder (its SQLite file and tantivy index) in ``directory``."""
    folder = shutil.copytree(built, directory / "corpus")
    settings = make_settings(f"sqlite:///{next(folder.glob('*.db'))}", folder)
    db = connect(settings)
    yield Corpus(db, settings)
    db.dispose()


@pytest.fixture(scope="module")
def corpus(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    """Shared by this module's tests that only search it."""
    with copied_corpus(built, tmp_path_factory.mktemp("tantivy-corpus")) as shared:
        yield shared


@pytest.fixture
def own_corpus(built: Path, tmp_path: Path) -> Iterator[Corpus]:
    """A corpus of this test's own, for a test that writes to the database or the index."""
    with copied_corpus(built, tmp_path) as own:
        yield own


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every search the database's FTS5 answered instead of tantivy."""
    calls: list[str] = []
    original = Fts5Retriever.search

    def spy(self: Fts5Retriever, session, query, where, limit):  # type: ignore[no-untyped-def]
        if isinstance(sys._getframe(1).f_locals.get("self"), TantivyRetriever):
            calls.append(query.natural_text)
        return original(self, session, query, where, limit)

    monkeypatch.setattr(Fts5Retriever, "search", spy)
    return calls


def test_the_engine_is_chosen_by_the_settings(corpus: Corpus, tmp_path: Path) -> None:
    assert isinstance(keyword_retriever(corpus.settings).inner, TantivyRetriever)
    database = corpus.settings.model_copy(update={"keyword_engine": "database"})
    assert isinstance(keyword_retriever(database).inner, Fts5Retriever)
    assert corpus.settings.keyword_index_path == Path(corpus.settings.database_url[10:]).with_suffix(".keyword")


def test_diacritics_are_folded(corpus: Corpus, fallbacks: list[str]) -> None:
    assert corpus.ids("bezier splatting")[0] == "2503.16424"  # "Bézier Splatting for Fast and Differentiable…"
    assert corpus.ids("fuxi benchmark")[0] == "2503.15837"  # "Fùxì: A Benchmark…"
    assert "2503.17657" in corpus.ids("karhunen loeve")  # "Karhunen-Loève"
    assert corpus.ids("Fréchet distance")[:3] == corpus.ids("frechet distance")[:3]
    assert "2503.11849" in corpus.ids("author:taixe")  # Laura Leal-Taixé
    assert not fallbacks


def test_a_freshly_upserted_paper_is_found_at_once(own_corpus: Corpus, fallbacks: list[str]) -> None:
    # A real paper (arXiv 2503.09657) the shared subset lacks: upserted after the index was built.
    with own_corpus.db.write_session() as session:
        upsert_papers(session, [tyr_the_pruner()])
    assert own_corpus.ids("tyr pruner")[0] == "2503.09657"
    assert own_corpus.ids("title:Týr")[0] == "2503.09657"
    assert not fallbacks  # one paper behind: the search caught up itself


def tyr_the_pruner(title: str | None = None) -> PaperRecord:
    return PaperRecord(
        "2503.09657",
        version=1,
        title=title
        or "Týr-the-Pruner: Unlocking Accurate 50% Structural Pruning for LLMs via Global Sparsity "
        "Distribution Optimization",
        abstract="Structural pruning enhances hardware-agnostic inference efficiency for large language models.",
        authors=(AuthorRecord("Guanchen Li"), AuthorRecord("Yixing Xu")),
        categories=("cs.CL",),
    )


def test_stemming_and_prefixes(corpus: Corpus, fallbacks: list[str]) -> None:
    assert "2503.16424" in corpus.ids("splat")  # splatting -> splat
    prefixed = corpus.ids("splatt*")
    assert "2503.16424" in prefixed and len(prefixed) >= 5
    with corpus.db.read_session() as session:
        for arxiv_id in corpus.ids("benchm*"):
            paper = session.query(Paper).filter_by(arxiv_id=arxiv_id).one()
            # the prefix's last two letters are dropped (stems can be shorter than words), as in FTS5
            assert "benc" in f"{paper.title} {paper.author_names} {paper.abstract}".lower()
    assert not fallbacks


def test_phrases_are_required_and_contiguous(corpus: Corpus, fallbacks: list[str]) -> None:
    found = corpus.ids('"vector graphics"')
    assert found and found == corpus.ids('"vector graphics"', engine="fts5")
    with corpus.db.read_session() as session:
        for arxiv_id in found:
            paper = session.query(Paper).filter_by(arxiv_id=arxiv_id).one()
            assert "vector graphic" in f"{paper.title} {paper.abstract}".lower().replace("\n", " ")
    assert set(corpus.ids('bezier "vector graphics"')) <= set(found)  # the phrase is required alongside words
    assert not fallbacks


def test_exclusions_remove_matches(corpus: Corpus, fallbacks: list[str]) -> None:
    assert {"2503.16424", "2503.13961"} <= set(corpus.ids("bezier"))
    without = corpus.ids("bezier -splatting")
    assert "2503.16424" not in without and "2503.13961" in without
    for text in ('bezier -"vector graphics"', "diffusion -model -image*"):
        assert set(corpus.ids(text)) == set(corpus.ids(text, engine="fts5"))
    assert not set(corpus.ids('bezier -"vector graphics"')) & set(corpus.ids('"vector graphics"'))
    assert corpus.ids("-splatting") == []  # nothing positive to rank
    assert not fallbacks


def test_field_terms_restrict_the_column(corpus: Corpus, fallbacks: list[str]) -> None:
    in_title = corpus.ids("title:benchmark")
    with corpus.db.read_session() as session:
        titles = [session.query(Paper.title).filter_by(arxiv_id=a).scalar() for a in in_title]
    assert titles and all("benchmark" in (t or "").lower() for t in titles)
    assert corpus.total("title:benchmark") == corpus.total("title:benchmark", engine="fts5") > 50
    assert set(corpus.ids('abstract:"vector graphics"')) <= set(corpus.ids('"vector graphics"'))
    assert corpus.ids('author:"Laura Leal-Taixé"') and "2503.11849" in corpus.ids('author:"Laura Leal-Taixé"')
    assert not fallbacks


def test_function_words_leave_the_alternatives(corpus: Corpus, fallbacks: list[str]) -> None:
    assert corpus.ids("what is the bezier splatting of the")[:3] == corpus.ids("bezier splatting")[:3]
    assert corpus.ids("to be or not")  # all function words: they are the query
    assert not fallbacks


def test_split_words_stand_for_their_parts(corpus: Corpus, fallbacks: list[str]) -> None:
    # A hyphenated compound is a phrase (issue 27), as if quoted; a sentence reads it as words (below).
    assert corpus.ids("fine-tuning language model's") == corpus.ids('"fine tuning" language model')
    assert "2503.17657" in corpus.ids("karhunen-loeve")
    searcher, schema = corpus.index.searcher() or pytest.fail("no index")
    sentence = "fine-tuning of a model's state-of-the-art representations with adapters"  # 8 words: a sentence
    built = build_query(parse_query(sentence), schema, searcher)
    # Words only, at the top level: the shape tantivy ranks with block-max WAND (a phrase among them disables it).
    assert repr(built).startswith("Query(BooleanQuery") and "Phrase" not in repr(built)
    assert repr(built).count("TermQuery") == 7  # fine, tune, model, state, art, represent, adapt
    assert not fallbacks


def test_filters_narrow_results(own_corpus: Corpus) -> None:
    everything = own_corpus.ids("diffusion")
    assert len(everything) == 50
    cv = own_corpus.ids("diffusion cat:cs.CV")
    with own_corpus.db.read_session() as session:
        categories = [session.query(Paper.categories).filter_by(arxiv_id=a).scalar() for a in cv]
    assert cv and all("cs.CV" in c for c in categories)
    dated = own_corpus.ids("diffusion after:2025-04-01 before:2025-04-30")
    with own_corpus.db.read_session() as session:
        days = [session.query(Paper.announced_on).filter_by(arxiv_id=a).scalar() for a in dated]
    assert days and all(date(2025, 4, 1) <= d <= date(2025, 4, 30) for d in days)  # type: ignore[operator]
    with own_corpus.db.write_session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == everything[3]).values(code_url="https://x.org/y"))
        session.execute(update(Paper).where(Paper.arxiv_id == everything[0]).values(hidden=True))
    assert own_corpus.ids("diffusion has:code") == [everything[3]]
    assert everything[0] not in own_corpus.ids("diffusion")


def test_hostile_input_is_just_text(corpus: Corpus) -> None:
    for text in [
        "NEAR(a b",
        'title:* OR "unbalanced',
        "x" * 1_000,
        "🚀🚀 深度学习",
        "AND OR NOT",
        "\\",
        "^*:()",
        "a" * 90,
    ]:
        corpus.ids(text)  # no error
    assert corpus.ids("title:(diffusion OR model)") == corpus.ids("title:diffusion model")


@pytest.mark.parametrize(
    "text",
    ["bezier splatting", "fuxi", "gaussian splatting avatar", '"vector graphics"', "title:benchmark reasoning"],
)
def test_tantivy_and_fts5_agree_on_top_hits(corpus: Corpus, text: str) -> None:
    ours, fts5 = corpus.ids(text), corpus.ids(text, engine="fts5")
    assert ours and fts5
    # Different BM25s (one over title, authors and abstract together; FTS5's weighted columns): close, not equal.
    assert ours[0] == fts5[0] or ours[0] in fts5[:5], (text, ours[:5], fts5[:5])
    overlap = len(set(ours[:10]) & set(fts5[:10]))
    assert overlap >= min(5, len(ours[:10]), len(fts5[:10])) * 0.6, (text, ours[:10], fts5[:10])


@pytest.mark.parametrize(
    "text",
    ["learning", "diffusion OR transformer", '"language model"', "model -diffusion", "learn*", "model cat:cs.CV"],
)
def test_matching_is_every_paper_search_finds(corpus: Corpus, fallbacks: list[str], text: str) -> None:
    # What a trend counts (services/trends.py): every match, unranked, its filters met in the same query.
    query = parse_query(f"{text} after:2024-01-01")
    retriever = keyword_retriever(corpus.settings)
    with corpus.db.read_session() as session:
        where = filter_clause(query)
        found = {hit.paper_id for hit in retriever.search(session, query, where, WIDEST)}
        matched = set(session.execute(select(Paper.id).where(where, retriever.matching(session, query))).scalars())
    assert len(found) >= 3 and matched == found and not fallbacks, (len(found), len(matched))


@pytest.mark.parametrize("text", ["cat:cs.CV", "cat:cs.CV cat:cs.LG", "cat:cs.CL after:2025-03-20"])
def test_narrowing_finds_the_papers_the_filters_find(corpus: Corpus, text: str) -> None:
    # A trend of filters reads them through the index when it holds every paper (services/trends.py).
    query = parse_query(text)
    retriever = keyword_retriever(corpus.settings)
    with corpus.db.read_session() as session:
        where = filter_clause(query)
        filtered = set(session.execute(select(Paper.id).where(where)).scalars())
        narrowed = retriever.narrowing(session, query, len(filtered))
        assert narrowed is not None and len(filtered) >= 2
        assert set(session.execute(select(Paper.id).where(narrowed)).scalars()) >= filtered  # hidden ones aside
        assert set(session.execute(select(Paper.id).where(where, narrowed)).scalars()) == filtered
        assert retriever.narrowing(session, query, len(filtered) - 1) is None  # not fewer than asked: not worth it
        assert retriever.narrowing(session, parse_query("after:2025-03-20"), 10**6) is None  # no category to narrow


def test_narrowing_indexes_a_few_new_papers_first(own_corpus: Corpus) -> None:
    # A paper written a moment ago is in the trend at once: narrowing catches the index up, as search does.
    own_corpus.ids("pruning")  # the index holds every paper
    with own_corpus.db.write_session() as session:
        upsert_papers(session, [tyr_the_pruner()])
    retriever = keyword_retriever(own_corpus.settings)
    with own_corpus.db.read_session() as session:
        narrowed = retriever.narrowing(session, parse_query("cat:cs.CL"), 10**6)
        assert narrowed is not None
        found = set(session.execute(select(Paper.arxiv_id).where(narrowed)).scalars())
    assert "2503.09657" in found


def test_a_changed_title_is_caught_up_before_the_search(own_corpus: Corpus, fallbacks: list[str]) -> None:
    with own_corpus.db.write_session() as session:
        upsert_papers(session, [tyr_the_pruner()])
    assert own_corpus.ids("tyr pruner")[0] == "2503.09657"
    renamed = tyr_the_pruner("Týr-the-Pruner: Quokka Sparsity for Language Models")
    with own_corpus.db.write_session() as session:
        upsert_papers(session, [dataclasses.replace(renamed, version=2)])
    assert own_corpus.ids("quokka") == ["2503.09657"]
    assert "2503.09657" not in own_corpus.ids("title:unlocking")  # the old title is gone from the index
    assert not fallbacks


def test_a_lagging_index_answers_until_the_sync_brings_the_rest(
    own_corpus: Corpus, fallbacks: list[str], shared_data: Path, tmp_path: Path
) -> None:
    # An ingest in progress leaves the index more than CATCH_UP_LIMIT papers behind. The database's own full text
    # takes seconds a query at a million papers, so the index answers meanwhile, without the newest papers.
    more = snapshot_subset(shared_data, tmp_path / "more.jsonl", LINES + CATCH_UP_LIMIT + 50)
    ingest_snapshot(own_corpus.db, more)  # the first LINES are unchanged; the rest are new and not indexed
    with own_corpus.db.read_session() as session:
        newest = set(session.execute(select(Paper.arxiv_id).order_by(Paper.id.desc()).limit(150)).scalars())
    stale = own_corpus.ids("diffusion")
    assert stale and not newest & set(stale) and not fallbacks
    with own_corpus.db.read_session() as session:  # a trend of filters reads the database, which has them all
        assert keyword_retriever(own_corpus.settings).narrowing(session, parse_query("cat:cs.CV"), 10**6) is None
    assert sync_keyword_index(own_corpus.db, own_corpus.settings) == CATCH_UP_LIMIT + 50
    assert newest & set(own_corpus.ids("diffusion"))
    assert not fallbacks


def test_a_missing_or_damaged_index_is_rebuilt(own_corpus: Corpus, fallbacks: list[str]) -> None:
    before = own_corpus.ids("bezier splatting")
    path = own_corpus.settings.keyword_index_path
    assert path is not None
    (path / "meta.json").write_text("{ not json")
    assert own_corpus.ids("bezier splatting") == own_corpus.ids("bezier splatting", engine="fts5")  # FTS5 answered
    assert len(fallbacks) == 1
    assert sync_keyword_index(own_corpus.db, own_corpus.settings) == LINES
    assert own_corpus.ids("bezier splatting")[0] == before[0] and len(fallbacks) == 1
    shutil.rmtree(path)
    assert own_corpus.ids("bezier splatting")[0] == before[0] and len(fallbacks) == 2
    assert sync_keyword_index(own_corpus.db, own_corpus.settings) == LINES
    for segment in {file.stem for file in path.glob("*.idx")}:  # segment files lost, commit file intact
        for file in path.glob(f"{segment}.*"):
            file.unlink()
    assert own_corpus.ids("bezier splatting")[0] == before[0]  # this process still maps the files it opened
    assert sync_keyword_index(own_corpus.db, own_corpus.settings) == LINES  # a fresh open fails: rebuilt
    assert own_corpus.ids("bezier splatting")[0] == before[0] and len(fallbacks) == 2


def test_a_killed_sync_resumes_from_its_watermark(own_corpus: Corpus) -> None:
    path = own_corpus.settings.keyword_index_path
    assert path is not None
    shutil.rmtree(path)
    fresh = TantivyIndex(path)
    assert fresh.sync(own_corpus.db.read_session, limit=1_200) == 1_200  # stopped early, as a kill would
    with own_corpus.db.read_session() as session:
        assert fresh.pending(session, 5_000) is not None
        assert len(fresh.pending(session, 5_000) or []) == LINES - 1_200
    seen: list[tuple[int, int]] = []
    assert fresh.sync(own_corpus.db.read_session, progress=lambda done, total: seen.append((done, total))) == 1_800
    assert seen[-1] == (1_800, 1_800)
    opened = fresh.current()
    assert opened is not None and opened.index.searcher().num_docs == LINES + 1  # + the watermark document


def test_one_writer_at_a_time(own_corpus: Corpus, fallbacks: list[str]) -> None:
    path = own_corpus.settings.keyword_index_path
    assert path is not None
    with own_corpus.db.write_session() as session:
        upsert_papers(session, [tyr_the_pruner()])
    other = TantivyIndex(path)  # another process's object for the same directory
    with other.writing(wait=True):
        assert sync_keyword_index(own_corpus.db, own_corpus.settings, wait=False) == 0  # busy: returns at once
        # The search did not wait for the writer: the index answered, without the paper it could not catch up on.
        assert "2503.09657" not in own_corpus.ids("tyr pruner")
    # Two writers contending with waiting: both finish, one after the other, and the index holds each paper once.
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(TantivyIndex(path).sync(own_corpus.db.read_session)))
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    opened = TantivyIndex(path).current()
    assert opened is not None and opened.index.searcher().num_docs == LINES + 2
    assert own_corpus.ids("tyr pruner")[0] == "2503.09657" and not fallbacks


def test_papers_written_concurrently_on_postgresql_all_reach_the_index(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The index's watermark is the newest (modified_at, id) it holds. Were a paper stamped before another but
    # committed after it, a sync in between would move the mark past it and miss it for good: paper writes on
    # PostgreSQL take turns and stamp once it is their turn.
    with fresh_database(request, "postgresql", tmp_path) as url:
        settings = make_settings(url, tmp_path, keyword_engine="tantivy", semantic_search=False)
        db = connect(settings)
        sync_keyword_index(db, settings)
        later = dataclasses.replace(tyr_the_pruner("Quokka Pruning Written Second"), arxiv_id="2503.09658")
        second = threading.Thread(target=lambda: _upsert(db, later))
        with db.write_session() as first:
            upsert_papers(first, [tyr_the_pruner("Quokka Pruning Written First")])
            second.start()
            second.join(timeout=1)
            assert second.is_alive(), "the second writer did not wait for the first"
            assert sync_keyword_index(db, settings) == 0  # neither has committed
        second.join(timeout=30)
        assert sync_keyword_index(db, settings) == 2
        with db.read_session() as session:
            hits = SearchEngine.of(settings).search(session, parse_query("quokka"), SearchOptions())
        assert sorted(row.arxiv_id for row in hits.rows) == ["2503.09657", "2503.09658"]
        db.dispose()


def _upsert(db: Database, record: PaperRecord) -> None:
    with db.write_session() as session:
        upsert_papers(session, [record])
