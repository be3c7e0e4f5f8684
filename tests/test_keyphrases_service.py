"""papertide's own keyphrases and gist (issue 31, ``services/keyphrases.py``): made by the real MiniLM and yake on
real papers with and without an abstract, stored by the insights job, shown apart from hf.co's summary on the
paper page, in ``/api/v1`` and in feeds, and found by ``kw:``; a changed abstract is read again."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from papertide.db import Database
from papertide.models import Paper, PaperInsight, PaperKeyphrase, utcnow
from papertide.search.query import parse_query
from papertide.services.keyphrases import make_insights, pending_count, read_papers, sentences
from papertide.services.papers import upsert_papers
from tests.helpers.embedder import MemoEmbedder
from tests.helpers.factories import make_paper_record

ABSTRACT = (
    "Large language models are costly to serve. We propose sparse expert routing, which activates two of sixty-four "
    "experts per token (e.g. in each layer). Sparse expert routing cuts inference cost by 4x at equal quality on "
    "five benchmarks. Code is released."
)


def real_papers(shared_data: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` real papers with an abstract and the first one without, from the shared master file."""
    with_abstract: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    with gzip.open(shared_data / "papers.jsonl.gz", "rt") as lines:
        for line in lines:
            row = json.loads(line)
            (with_abstract if row["abstract"] else without).append(row)
            if len(with_abstract) >= count and without:
                return with_abstract[:count] + without[:1]
    raise AssertionError("the shared data holds too few papers")


def test_gist_is_an_abstract_sentence_and_a_title_only_paper_gets_keyphrases_only(embedder: MemoEmbedder) -> None:
    assert sentences(ABSTRACT)[1].endswith("(e.g. in each layer).")  # "e.g." ends no sentence
    with_abstract, title_only, one_sentence = read_papers(
        embedder,
        [
            ("Sparse Expert Routing for Cheap Inference", ABSTRACT),
            ("Optimal Transport for Online Incremental Learning", None),
            ("A Short Note", "We prove that every planar graph is four-colourable."),
        ],
    )
    assert with_abstract.gist in sentences(ABSTRACT)
    assert with_abstract.gist != "Code is released."  # the sentence nearest the whole, not any sentence
    assert any("sparse expert routing" in phrase.lower() for phrase in with_abstract.keyphrases)
    assert title_only.gist is None
    assert title_only.keyphrases
    assert all(
        phrase.lower() in "optimal transport for online incremental learning" for phrase in title_only.keyphrases
    )
    assert one_sentence.gist == "We prove that every planar graph is four-colourable."


def test_the_job_reads_papers_and_every_door_shows_its_reading(
    db: Database, client: TestClient, embedder: MemoEmbedder, shared_data: Path
) -> None:
    rows = real_papers(shared_data, 3)
    records = [
        make_paper_record(arxiv_id=row["arxiv_id"], title=row["title"], abstract=row["abstract"]) for row in rows
    ]
    with db.write_session() as session:
        upsert_papers(session, records)
        assert pending_count(session) == 4
    assert make_insights(db, embedder) == 4
    with db.read_session() as session:
        insights = {
            arxiv_id: insight
            for arxiv_id, insight in session.execute(
                select(Paper.arxiv_id, PaperInsight).join(PaperInsight, PaperInsight.paper_id == Paper.id)
            )
        }
        assert pending_count(session) == 0
    first, title_only = rows[0], rows[-1]
    assert insights[first["arxiv_id"]].gist in sentences(" ".join(first["abstract"].split()))
    assert insights[title_only["arxiv_id"]].gist is None and insights[title_only["arxiv_id"]].keyphrases
    phrase = insights[first["arxiv_id"]].keyphrases[0]

    found = client.get("/api/v1/search", params={"q": f'kw:"{phrase.upper()}"'}).json()  # case-folded
    assert first["arxiv_id"] in [paper["arxiv_id"] for paper in found["items"]]
    shown = client.get(f"/api/v1/papers/{first['arxiv_id']}").json()
    assert (shown["keyphrases"], shown["gist"]) == (
        insights[first["arxiv_id"]].keyphrases,
        insights[first["arxiv_id"]].gist,
    )
    page = client.get(f"/papers/{first['arxiv_id']}").text
    assert "papertide's gist:" in page and "papertide's keyphrases:" in page
    assert client.get(f"/api/v1/papers/{title_only['arxiv_id']}").json()["gist"] is None
    feed = feedparser.parse(client.get("/feeds/search.rss", params={"q": f'kw:"{phrase}"'}).text)
    entry = next(entry for entry in feed.entries if entry.link.endswith(first["arxiv_id"]))
    assert entry.summary.startswith("papertide's gist: ")
    assert phrase in [tag.term for tag in entry.tags]

    with db.write_session() as session:  # a new abstract is read again; an untouched paper only stamped
        session.execute(
            update(Paper)
            .where(Paper.arxiv_id == first["arxiv_id"])
            .values(
                title="Why zebras have stripes",
                abstract="We study zebra stripes. Zebra stripes deter biting flies.",
                modified_at=utcnow(),
            )
        )
    assert make_insights(db, embedder) == 1
    with db.read_session() as session:
        paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == first["arxiv_id"]))
        assert session.scalar(select(PaperInsight.gist).where(PaperInsight.paper_id == paper_id)) in (
            "We study zebra stripes.",
            "Zebra stripes deter biting flies.",
        )
        phrases = set(session.scalars(select(PaperKeyphrase.phrase).where(PaperKeyphrase.paper_id == paper_id)))
    assert any("zebra" in phrase for phrase in phrases) and phrase.lower() not in phrases


def test_kw_is_folded_and_an_empty_one_ignored() -> None:
    assert parse_query('kw:"Graph  Neural Networks" transformers').keyphrases == ("graph neural networks",)
    assert parse_query("kw:").keyphrases == ()
