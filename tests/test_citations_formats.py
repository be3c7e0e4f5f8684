"""Citation formats and page metadata: every export read back by a reader other than its writer (pybtex for the
BibTeX bibtexparser writes, citeproc-py rendering the CSL-JSON, rispy and a line grammar for RIS), papers with
old-style ids, accents, braces and LaTeX titles, content negotiation, collection and search exports, and the
Highwire/Open Graph/JSON-LD/COinS metadata read back from the served HTML with lxml."""

from __future__ import annotations

import codecs
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
import pybtex.database
import pytest
import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, User
from papertide.queries.collections import query_collection, query_collection_items
from papertide.records import AuthorRecord, VersionRecord
from papertide.services.citations import Citable, citation_keys, to_bibtex, to_csl_json, to_ris
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.library_import import import_library
from papertide.services.papers import upsert_papers
from papertide.services.submissions import set_paper_hidden
from tests.helpers.factories import make_paper_record
from tests.helpers.settings import make_settings
from tests.helpers.web import sign_up


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Without semantic search: these pages need no "similar papers", and loading the model takes seconds."""
    return make_settings(database_url, tmp_path, semantic_search=False)


HOSTILE_TITLE = 'Schrödinger\'s {LSTM}: $\\alpha$-nets & "100%" </script><b> {unpaired'
AUTHORS = ("Jürgen Schmidhuber", "Ludwig van Beethoven", "Ørsted Ñúñez", "ATLAS Collaboration")


def _citable(**overrides: object) -> Citable:
    values: dict[str, object] = {
        "arxiv_id": "hep-th/9901001",
        "title": HOSTILE_TITLE,
        "authors": AUTHORS,
        "abstract": "We study $O(n^2)$ things.",
        "primary_category": "hep-th",
        "categories": ("hep-th", "math.GT"),
        "first_version": date(1999, 1, 4),
        "doi": "10.1103/PhysRevD.59.012345",
        "journal_ref": "Phys. Rev. D 59 (1999) 012345",
    }
    values.update(overrides)
    return Citable(**values)  # type: ignore[arg-type]


def _decoded(value: str) -> str:
    """A BibTeX value as text: LaTeX decoded by latexcodec, grouping braces dropped."""
    return codecs.decode(value, "ulatex").replace("{", "").replace("}", "")


def test_bibtex_reads_back_with_pybtex_as_arxiv_writes_it() -> None:
    old, new = (
        _citable(),
        _citable(arxiv_id="2503.24322", title="Attention Is All You Need", doi=None, journal_ref=None),
    )
    text = to_bibtex([old, new, new])
    entries = pybtex.database.parse_string(text, "bibtex").entries
    assert list(entries) == [
        "schmidhuber1999schrodingerslstm",
        "schmidhuber1999attentionneed",
        "schmidhuber1999attentionneed-2",
    ]
    first = entries["schmidhuber1999schrodingerslstm"]
    assert first.type == "misc"
    assert first.fields["eprint"] == "hep-th/9901001" and first.fields["archivePrefix"] == "arXiv"
    assert first.fields["eprinttype"] == "arXiv"  # BibLaTeX's name for archivePrefix, which Zotero's import reads
    assert first.fields["primaryClass"] == "hep-th" and first.fields["year"] == "1999"
    assert first.fields["doi"] == "10.1103/PhysRevD.59.012345" and first.fields["url"].endswith("/abs/hep-th/9901001")
    assert first.fields["journal"] == "Phys. Rev. D 59 (1999) 012345"
    # The LaTeX stays LaTeX, accents become braced LaTeX, the special characters are escaped, the stray brace gone.
    assert "$\\alpha$" in first.fields["title"] and 'Schr{\\"o}dinger' in first.fields["title"]
    assert "\\&" in first.fields["title"] and "\\%" in first.fields["title"]
    assert _decoded(first.fields["title"]).replace("α", "$\\alpha$") == HOSTILE_TITLE.replace("{", "").replace("}", "")
    names = [str(person) for person in first.persons["author"]]
    assert names == [
        'Schmidhuber, J{\\"u}rgen',
        "van Beethoven, Ludwig",
        "{\\~N}{\\'u}{\\~n}ez, {\\O}rsted",
        "{ATLAS Collaboration}",
    ]
    assert [_decoded(name) for name in names[:3]] == ["Schmidhuber, Jürgen", "van Beethoven, Ludwig", "Ñúñez, Ørsted"]
    assert "journal" not in entries["schmidhuber1999attentionneed"].fields


def test_keys_are_stable_and_unique_within_an_export() -> None:
    paper = _citable(title="Attention Is All You Need", authors=("Ashish Vaswani",), first_version=date(2017, 6, 12))
    assert citation_keys([paper]) == ["vaswani2017attentionneed"]
    assert citation_keys([paper, paper, paper]) == [
        "vaswani2017attentionneed",
        "vaswani2017attentionneed-2",
        "vaswani2017attentionneed-3",
    ]
    nameless = _citable(authors=(), title="$\\mathcal{O}$", first_version=None)
    assert citation_keys([nameless]) == ["anonymouso"]


def test_ris_reads_back_with_rispy_and_keeps_the_line_grammar() -> None:
    text = to_ris([_citable(), _citable(arxiv_id="2503.24322", doi=None, journal_ref=None)])
    for line in text.splitlines():
        assert line == "" or re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) or line == "ER  - ", line
    first, second = rispy.loads(text)
    assert first["type_of_reference"] == "JOUR" and second["type_of_reference"] == "UNPB"
    assert first["title"] == HOSTILE_TITLE
    assert first["authors"] == ["Schmidhuber, Jürgen", "van Beethoven, Ludwig", "Ñúñez, Ørsted", "ATLAS Collaboration"]
    assert first["doi"] == "10.1103/PhysRevD.59.012345" and first["year"] == "1999" and first["date"] == "1999/01/04"
    # One UR (a second makes readers build a list no style prints), the PDF in L1 as RIS defines.
    assert first["urls"] == ["https://arxiv.org/abs/hep-th/9901001"]
    assert first["file_attachments1"] == "https://arxiv.org/pdf/hep-th/9901001"
    assert first["notes"] == ["arXiv:hep-th/9901001 [hep-th]"] and second["notes"] == ["arXiv:2503.24322 [hep-th]"]


def test_csl_json_renders_a_bibliography_with_citeproc() -> None:
    items = json.loads(to_csl_json([_citable(), _citable(arxiv_id="2503.24322", doi=None, journal_ref=None)]))
    assert items[0]["author"][1] == {"given": "Ludwig", "non-dropping-particle": "van", "family": "Beethoven"}
    assert items[0]["author"][3] == {"literal": "ATLAS Collaboration"}
    assert items[1]["type"] == "article" and items[1]["number"] == "arXiv:2503.24322"
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(entry) for entry in bibliography.bibliography()]
    assert len(rendered) == 2
    assert rendered[0].startswith("Schmidhuber, J. et al. (1999) “Schrödinger's {LSTM}: $\\alpha$-nets")
    assert "https://doi.org/10.1103/PhysRevD.59.012345" in rendered[0]
    assert "arXiv" in rendered[1] and "https://arxiv.org/abs/2503.24322" in rendered[1]


def _paper(db: Database, arxiv_id: str, title: str, **overrides: object) -> None:
    submitted = datetime(2025, 3, 18, 15, 0, tzinfo=UTC)
    record = make_paper_record(
        arxiv_id=arxiv_id,
        title=title,
        authors=tuple(AuthorRecord(name) for name in AUTHORS),
        categories=("hep-th", "math.GT"),
        submitted_at=submitted,
        versions=(VersionRecord(1, submitted),),
        **overrides,
    )
    with db.write_session() as session:
        upsert_papers(session, [record])


def test_paper_files_and_content_negotiation(client: TestClient, db: Database) -> None:
    _paper(db, "hep-th/9901001", HOSTILE_TITLE, doi="10.1103/PhysRevD.59.012345")
    bib = client.get("/papers/hep-th/9901001.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    assert 'filename="hep-th-9901001.bib"' in bib.headers["content-disposition"]
    assert pybtex.database.parse_string(bib.text, "bibtex").entries["schmidhuber2025schrodingerslstm"]
    assert rispy.loads(client.get("/papers/hep-th/9901001.ris").text)[0]["doi"] == "10.1103/PhysRevD.59.012345"
    assert client.get("/papers/hep-th/9901001.csl.json").json()[0]["number"] == "arXiv:hep-th/9901001"
    for accept, expected in [
        ("application/x-bibtex", "application/x-bibtex"),
        ("application/x-research-info-systems", "application/x-research-info-systems"),
        ("application/vnd.citationstyles.csl+json", "application/vnd.citationstyles.csl+json"),
        ("text/markdown", "text/markdown"),
        ("text/html;q=0.5, application/x-bibtex;q=0.9", "application/x-bibtex"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),  # a browser
        ("*/*", "text/html"),
        ("application/x-bibtex;q=0, image/png", "text/html"),  # nothing offered is acceptable: the page
        ("text/*;q=0.1, garbage;;q=x", "text/html"),
    ]:
        response = client.get("/papers/hep-th/9901001", headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(expected), accept
        assert "Accept" in response.headers["vary"]
    markdown = client.get("/papers/hep-th/9901001", headers={"Accept": "text/markdown"}).text
    assert markdown == client.get("/papers/hep-th/9901001.md").text
    assert client.get("/papers/2501.99999.bib").status_code == 404
    assert client.get("/papers/not-an-id.ris").status_code == 404
    with db.write_session() as session:
        set_paper_hidden(session, "hep-th/9901001", True)
    assert client.get("/papers/hep-th/9901001.bib").status_code == 404
    assert client.get("/papers/hep-th/9901001", headers={"Accept": "application/x-bibtex"}).status_code == 404


def test_collection_exports_keep_private_collections_private(client: TestClient, db: Database) -> None:
    for number in range(3):
        _paper(db, f"2503.1000{number}", f"Paper number {number} on {{Ørsted}} fields")
    sign_up(client, "thesis_owner")
    with db.write_session() as session:
        owner = session.execute(select(User.id).where(User.username == "thesis_owner")).scalar_one()
        ids = session.execute(select(Paper.id).order_by(Paper.arxiv_id)).scalars().all()
        public = create_collection(session, owner_id=owner, title="Thesis", is_public=True)
        private = create_collection(session, owner_id=owner, title="Secret", is_public=False)
        for paper_id in ids:
            add_to_collection(session, collection_id=public.id, owner_id=owner, paper_id=paper_id)
        add_to_collection(session, collection_id=private.id, owner_id=owner, paper_id=ids[0])
    text = client.get("/users/thesis_owner/collections/thesis.bib").text
    entries = pybtex.database.parse_string(text, "bibtex").entries
    assert [entry.fields["eprint"] for entry in entries.values()] == ["2503.10000", "2503.10001", "2503.10002"]
    assert len(set(entries)) == 3
    assert len(rispy.loads(client.get("/users/thesis_owner/collections/thesis.ris").text)) == 3
    assert client.get("/users/thesis_owner/collections/secret.bib").status_code == 200  # its owner
    client.cookies.clear()
    for suffix in (".bib", ".ris", ".csl.json"):
        assert client.get(f"/users/thesis_owner/collections/secret{suffix}").status_code == 404
    assert client.get("/users/thesis_owner/collections/thesis.csl.json").json()[2]["number"] == "arXiv:2503.10002"
    assert client.get("/users/nobody/collections/thesis.bib").status_code == 404


def test_search_export_is_capped_and_paged(client: TestClient, db: Database) -> None:
    records = [
        make_paper_record(arxiv_id=f"2504.{number:05d}", title=f"Speculative decoding study {number}")
        for number in range(105)
    ]
    with db.write_session() as session:
        upsert_papers(session, records)
    first = client.get("/search.bib", params={"q": "speculative decoding"})
    assert first.status_code == 200
    assert len(pybtex.database.parse_string(first.text, "bibtex").entries) == 100
    assert first.headers["link"] == '</search.bib?q=speculative+decoding&page=2>; rel="next"'
    second = client.get("/search.ris", params={"q": "speculative decoding", "page": 2})
    assert len(rispy.loads(second.text)) == 5 and "link" not in second.headers
    assert client.get("/search.csl.json", params={"q": "nothing-matches-this"}).json() == []
    assert client.get("/search.bib").status_code == 400
    (only,) = rispy.loads(client.get("/search.ris", params={"q": "arXiv:2504.00007v2"}).text)
    assert only["title"] == "Speculative decoding study 7"
    assert client.get("/search.csl.json", params={"q": "2504.99999"}).json() == []
    assert client.get("/search.bib", params={"q": "x", "page": 11}).status_code == 422


def _meta(page: str) -> list[tuple[str, str]]:
    tree = html.fromstring(page)
    return [(m.get("name") or m.get("property"), m.get("content")) for m in tree.xpath("//head/meta[@content]")]


def test_paper_page_carries_metadata_for_machines(client: TestClient, db: Database) -> None:
    _paper(db, "hep-th/9901001", HOSTILE_TITLE, abstract='An "abstract" with <tags> & $x^2$.', doi="10.1000/x")
    page = client.get("/papers/hep-th/9901001")
    tags = _meta(page.text)
    values = dict(tags)
    assert values["citation_title"] == HOSTILE_TITLE
    assert [content for name, content in tags if name == "citation_author"] == [
        "Schmidhuber, Jürgen",
        "van Beethoven, Ludwig",
        "Ñúñez, Ørsted",
        "ATLAS Collaboration",
    ]
    assert values["citation_date"] == values["citation_publication_date"] == "2025/03/18"
    assert values["citation_arxiv_id"] == "hep-th/9901001" and values["citation_doi"] == "10.1000/x"
    assert values["citation_pdf_url"] == "https://arxiv.org/pdf/hep-th/9901001"
    assert values["citation_abstract_html_url"].endswith("/papers/hep-th/9901001")
    assert values["og:type"] == "article" and values["twitter:card"] == "summary"
    assert values["og:title"] == values["twitter:title"] and "</script>" in values["og:title"]
    assert values["og:description"].startswith('An "abstract" with <tags> &')
    tree = html.fromstring(page.text)
    (block,) = tree.xpath('//script[@type="application/ld+json"]')
    assert "</" not in page.text.split('type="application/ld+json">')[1].split("</script>")[0]
    article = json.loads(block.text)
    assert article["@type"] == "ScholarlyArticle" and "</script><b>" in article["name"]
    assert [author["name"] for author in article["author"]] == list(AUTHORS)
    assert tree.xpath('//pre[@id="bibtex"]')[0].text.startswith("@misc{schmidhuber2025")
    downloads = tree.xpath('//details[@class="cite"]//a[@download]/@href')
    assert downloads == ["/papers/hep-th/9901001.bib", "/papers/hep-th/9901001.ris", "/papers/hep-th/9901001.csl.json"]


def test_listing_cards_carry_coins(client: TestClient, db: Database) -> None:
    _paper(db, "2503.24322", 'A "quoted" <title> & more', announced_on=date(2025, 3, 19))
    page = client.get("/")
    (span,) = html.fromstring(page.text).xpath('//span[@class="Z3988"]')
    context = parse_qs(span.get("title"))
    assert context["ctx_ver"] == ["Z39.88-2004"] and context["rft.atitle"] == ['A "quoted" <title> & more']
    assert context["rft_id"] == ["info:arxiv/2503.24322", "https://arxiv.org/abs/2503.24322"]
    assert context["rft.au"] == list(AUTHORS)  # every author, though the card shows three


def test_the_page_cache_keys_on_accept(settings: Settings, db: Database) -> None:
    _paper(db, "2503.24322", "Cached once, served twice")
    with TestClient(create_app(settings.model_copy(update={"page_cache_seconds": 60.0}))) as cached:
        assert cached.get("/papers/2503.24322").headers["content-type"].startswith("text/html")
        bib = cached.get("/papers/2503.24322", headers={"Accept": "application/x-bibtex"})
        assert bib.headers["content-type"].startswith("application/x-bibtex") and "@misc{" in bib.text
        assert cached.get("/papers/2503.24322").text.startswith("<!doctype html>")


def test_exports_round_trip_through_the_library_import(client: TestClient, db: Database, settings: Settings) -> None:
    """A collection exported in each format and imported again holds the same papers, in the same order:
    old-style ids, accents, braces and LaTeX titles included."""
    titles = {
        "hep-th/9901001": HOSTILE_TITLE,
        "math/0309136": "On {\\it knots} with $\\mathbb{Z}_2$ symmetry — Poincaré's {conjecture}",
        "2503.24322": "Ørsted: naïve {Bayes} at 100% & more",
    }
    for arxiv_id, title in titles.items():
        _paper(db, arxiv_id, title)
    sign_up(client, "roundtrip")
    with db.write_session() as session:
        owner = session.execute(select(User.id).where(User.username == "roundtrip")).scalar_one()
        ids = dict(session.execute(select(Paper.arxiv_id, Paper.id)).all())
        source = create_collection(session, owner_id=owner, title="Source", is_public=True)
        for arxiv_id in titles:
            add_to_collection(session, collection_id=source.id, owner_id=owner, paper_id=ids[arxiv_id])
    for suffix in (".bib", ".ris", ".csl.json"):
        exported = client.get(f"/users/roundtrip/collections/source{suffix}").content
        report = import_library(db, settings, owner_id=owner, data=exported, filename=f"back{suffix}")
        assert [(line.outcome, line.arxiv_id) for line in report.lines] == [("matched", i) for i in titles], suffix
        with db.read_session() as session:
            items = query_collection_items(session, query_collection(session, "roundtrip", report.collection_slug).id)
        assert [row.arxiv_id for row, _ in items] == list(titles), suffix
