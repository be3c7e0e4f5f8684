"""papertide's citations as clients nobody on this project wrote read them: citation-js 0.8 (npm, ``tests/js``)
parses every format of papers with hostile titles and renders them in APA with citeproc-js, in one Node process;
Zotero's Embedded Metadata translator reads a paper page's tags (``tests/zotero_embedded.py`` reproduces its
rules); the plain-text titles of the page and its cards keep what the title says."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from lxml import html

from papertide.config import Settings
from papertide.db import Database
from papertide.records import AuthorRecord, VersionRecord
from papertide.services.citations import Citable, to_bibtex, to_csl_json, to_ris
from papertide.services.papers import upsert_papers
from tests.helpers.factories import make_paper_record
from tests.helpers.zotero import zotero_item

READER = Path(__file__).resolve().parent / "js" / "read_citations.mjs"
DOLLARS = "Pretraining for $60"
GREEK = 'π-nets and $α$-nets: Schrödinger\'s {LSTM} & "100%" </script><b> {unpaired'
ABSTRACT = "We pretrain a $10^9$-parameter model " + "on one GPU for a day, " * 20 + "and it works."


def citation_js(inputs: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """What citation-js makes of each input ({name, format, text}), by name: its CSL items and APA text, or its
    error. Missing Node or packages fail the test: ``make install-test`` installs them."""
    node = shutil.which("node")
    if node is None or not (READER.parent / "node_modules" / "@citation-js" / "core").is_dir():
        pytest.fail("citation-js is not installed: run `make install-test` (Node 20+, then npm ci in tests/js)")
    done = subprocess.run([node, str(READER)], input=json.dumps(inputs), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {result["name"]: result for result in json.loads(done.stdout)}


def _citable(arxiv_id: str, title: str, authors: tuple[str, ...], **overrides: object) -> Citable:
    values: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "title": title,
        "authors": authors,
        "abstract": ABSTRACT,
        "primary_category": "cs.CL",
        "categories": ("cs.CL", "cs.LG"),
        "first_version": date(2025, 6, 10),
        "doi": None,
        "journal_ref": None,
    }
    values.update(overrides)
    return Citable(**values)  # type: ignore[arg-type]


def test_citation_js_reads_every_format_of_hostile_papers() -> None:
    """A lone ``$``, Greek letters in and out of math, braces that do not pair, a first name that starts with a
    LaTeX command ({\\L}ukasz), a name particle, a group and a paper whose authors are unknown, all in one export:
    citation-js refuses none of them, reads the titles and names as written and prints each paper's URL in APA."""
    papers = [
        _citable("2506.10000", DOLLARS, ("Łukasz Borchmann", "Ludwig van Beethoven", "ATLAS Collaboration")),
        _citable("2506.10001", GREEK, ()),
        _citable("hep-th/9901001", "Naïve {Bayes} πα", ("Jürgen Schmidhuber",), doi="10.1103/PhysRevD.59.012345"),
    ]
    read = citation_js(
        [
            {"name": "bibtex", "format": "bibtex", "text": to_bibtex(papers)},
            {"name": "ris", "format": "ris", "text": to_ris(papers)},
            {"name": "csl", "format": "csl", "text": to_csl_json(papers)},
        ]
    )
    assert all("error" not in result for result in read.values()), read
    bibtex = read["bibtex"]["items"]
    assert [item["title"] for item in bibtex] == [
        DOLLARS,
        'π-nets and α-nets: Schrödinger\'s LSTM & "100%" </script><b> unpaired',
        "Naïve Bayes πα",
    ]
    assert bibtex[0]["author"] == [
        {"given": "Łukasz", "family": "Borchmann"},
        {"given": "Ludwig", "family": "Beethoven", "non-dropping-particle": "van"},
        {"family": "ATLAS Collaboration"},
    ]
    assert "author" not in bibtex[1]  # unknown, not "Anonymous"
    for name, result in read.items():
        apa = result["apa"]
        assert "Anonymous" not in apa and "ensuremath" not in apa, (name, apa)
        for paper in papers:  # one URL each, the abs page (or the DOI where there is one)
            url = f"https://doi.org/{paper.doi}" if paper.doi else f"https://arxiv.org/abs/{paper.arxiv_id}"
            assert url in apa, (name, apa)
    assert [item["URL"] for item in read["ris"]["items"]] == [f"https://arxiv.org/abs/{p.arxiv_id}" for p in papers]
    assert "Pretraining for $60 (arXiv:2506.10000). arXiv." in read["csl"]["apa"]


def _stored(db: Database, arxiv_id: str, title: str, **overrides: object) -> None:
    submitted = datetime(2025, 6, 9, 15, 0, tzinfo=UTC)
    record = make_paper_record(
        arxiv_id=arxiv_id,
        title=title,
        abstract=ABSTRACT,
        authors=(AuthorRecord("Łukasz Borchmann"), AuthorRecord("Ada Lovelace")),
        submitted_at=submitted,
        versions=(VersionRecord(1, submitted),),
        announced_on=date(2025, 6, 10),
        **overrides,
    )
    with db.write_session() as session:
        upsert_papers(session, [record])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # reading tags, not the database
def test_zotero_saves_a_paper_page_whole(client: TestClient, db: Database, settings: Settings) -> None:
    """Zotero's Connector saves a preprint with its whole abstract (the page's og:description stays short), the
    arXiv id as its Archive ID and arXiv's DOI; a paper with a journal reference as a journal article."""
    _stored(db, "2506.10000", DOLLARS)
    _stored(db, "2506.10002", "Published later", journal_ref="Nature 1 (2025) 2", doi="10.1038/x")
    page = client.get("/papers/2506.10000").text
    assert zotero_item(page) == {
        "itemType": "preprint",
        "title": DOLLARS,
        "creators": [
            {"firstName": "Łukasz", "lastName": "Borchmann"},
            {"firstName": "Ada", "lastName": "Lovelace"},
        ],
        "date": "2025/06/09",
        "abstractNote": ABSTRACT,
        "archiveID": "arXiv:2506.10000",
        "repository": "arXiv",
        "DOI": "10.48550/arXiv.2506.10000",
        "url": f"{settings.base_url}/papers/2506.10000",
        "attachments": [{"title": "Full Text PDF", "url": "https://arxiv.org/pdf/2506.10000"}],
    }
    description = html.fromstring(page).xpath('//meta[@property="og:description"]/@content')[0]
    assert len(description) < 310 and description.endswith("…")
    published = zotero_item(client.get("/papers/2506.10002").text)
    assert published["itemType"] == "journalArticle" and published["publicationTitle"] == "Nature 1 (2025) 2"
    assert published["DOI"] == "10.1038/x" and published["abstractNote"] == ABSTRACT


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_plain_text_titles_keep_a_lone_dollar(client: TestClient, db: Database) -> None:
    """``$60`` is no math: the page's <title>, og:title, JSON-LD and the card's COinS keep the dollar; a real
    formula is still made plain."""
    _stored(db, "2506.10000", DOLLARS + " with $\\alpha$-nets")
    tree = html.fromstring(client.get("/papers/2506.10000").text)
    plain = "Pretraining for $60 with α-nets"
    assert tree.findtext(".//title") == f"{plain} · papertide"
    assert tree.xpath('//meta[@property="og:title"]/@content') == [plain]
    assert json.loads(tree.xpath('//script[@type="application/ld+json"]')[0].text)["name"] == plain
    (span,) = html.fromstring(client.get("/").text).xpath('//span[@class="Z3988"]')
    assert parse_qs(span.get("title"))["rft.atitle"] == [plain]
