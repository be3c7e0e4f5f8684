"""Importing a library: hand-written but real-format Zotero (BibTeX, RIS, CSL-JSON), Mendeley and hand-kept BibTeX
exports (tests/data/library), every arXiv id form, DOI-only and title-only entries, duplicates, broken entries and
refused files (nothing imported), unknown ids fetched from a real loopback server replaying arXiv, the CLI, and the
imported collection seeding "for you" with its name in the explanation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from lxml import html
from sqlalchemy import func, select

from papertide.app import create_app
from papertide.config import Settings
from papertide.db import Database, connect
from papertide.models import Collection, CollectionItem, Paper
from papertide.search.semantic import open_semantic
from papertide.services.accounts import create_user
from papertide.services.digests import send_digests
from papertide.services.library_files import LibraryFileError, read_library
from papertide.services.library_import import ImportRefused, ImportReport, import_library, normalised_title
from papertide.services.papers import upsert_papers
from papertide.services.submissions import set_paper_hidden
from papertide.services.subscriptions import Preferences, subscribe
from tests.helpers.cli import cli_env
from tests.helpers.factories import PASSWORD, make_paper_record, make_user
from tests.helpers.replay import ReplayServer, Reply
from tests.helpers.settings import mail_settings, make_settings
from tests.helpers.smtp import SmtpSink
from tests.helpers.web import log_in, sign_up

LIBRARY = Path(__file__).parent / "data" / "library"
KNOWN = {
    "1706.03762": ("Attention Is All You Need", None),
    "hep-th/9711200": ("The Large N Limit of Superconformal Field Theories and Supergravity", None),
    "hep-th/9802150": ("Anti de Sitter space and holography", None),
    "math/0211159": ("The entropy formula for the Ricci flow and its geometric applications", None),
    "1512.03385": ("Deep Residual Learning for Image Recognition", None),
    "2501.00002": ("Deep learning", "10.1038/Nature14539"),
}


def _owner(db: Database, username: str = "reader") -> int:
    with db.write_session() as session:
        return make_user(session, username=username).id


def _known(db: Database) -> None:
    records = [make_paper_record(arxiv_id=i, title=title, doi=doi) for i, (title, doi) in KNOWN.items()]
    with db.write_session() as session:
        upsert_papers(session, records)


def _import(db: Database, settings: Settings, owner: int, name: str, **options: str) -> ImportReport:
    path = LIBRARY / name
    return import_library(db, settings, owner_id=owner, data=path.read_bytes(), filename=name, **options)


def _outcomes(report: ImportReport) -> list[tuple[str, str | None, str]]:
    return [(line.outcome, line.arxiv_id, line.reason) for line in report.lines]


def _items(db: Database, slug: str) -> list[str]:
    with db.read_session() as session:
        return list(
            session.execute(
                select(Paper.arxiv_id)
                .join(CollectionItem, CollectionItem.paper_id == Paper.id)
                .join(Collection, Collection.id == CollectionItem.collection_id)
                .where(Collection.slug == slug)
                .order_by(CollectionItem.position)
            ).scalars()
        )


def test_zotero_bibtex_matches_by_arxiv_id_doi_and_title(db: Database, settings: Settings) -> None:
    _known(db)
    owner = _owner(db)
    report = _import(db, settings, owner, "zotero.bib")
    assert report.format == "bibtex" and report.collection_title == "zotero" and report.collection_slug == "zotero"
    assert _outcomes(report) == [
        ("matched", "1706.03762", "by arXiv id"),  # url, arXiv DOI and note: one id
        ("matched", "2501.00002", "by DOI"),  # a journal article known only by its DOI (case folded)
        ("matched", "1512.03385", "by title"),  # {Braced} {Title} {Case}, no id at all
        ("matched", "hep-th/9711200", "by arXiv id"),  # old-style id in the note
        ("unmatched", None, "no arXiv id or DOI, and no paper here has that title"),
    ]
    assert report.lines[4].label == "hastie_elements_2009 (line 54)"
    assert _items(db, "zotero") == ["1706.03762", "2501.00002", "1512.03385", "hep-th/9711200"]
    with db.read_session() as session:
        assert session.execute(select(Collection.is_public)).scalar_one() is False  # a library is private


def test_mendeley_export_fetches_unknown_ids_and_reports_the_rest(
    db: Database, settings: Settings, shared_data: Path
) -> None:
    _known(db)
    owner = _owner(db)
    fixtures = shared_data / "fixtures" / "arxiv_api"
    old_style = (fixtures / "api2026_idlist_astro-ph_0601001.xml").read_text()
    versioned = (fixtures / "api2026_idlist_2104.12255v1.xml").read_text()
    # One id_list request for every unknown id: arXiv's answer holds the two it has, built from two recordings.
    entry = re.search(r"<entry>.*</entry>", versioned, re.DOTALL)
    assert entry
    feed = old_style.replace("</feed>", entry.group(0) + "\n</feed>")
    with ReplayServer() as arxiv:
        arxiv.route(
            "/api/query",
            Reply(body=feed.encode()),
            params={"id_list": "astro-ph/0601001,2104.12255,2501.99999"},
        )
        configured = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query"})
        report = _import(db, configured, owner, "mendeley.bib", new_title="Thesis")
        assert len(arxiv.requests) == 1
    assert report.collection_slug == "thesis"
    assert _outcomes(report) == [
        ("fetched", "astro-ph/0601001", "from arXiv"),  # archivePrefix + eprint + arxivId, old style
        ("fetched", "2104.12255", "from arXiv"),
        ("matched", "1706.03762", "by arXiv id"),  # "arXiv preprint arXiv:…" in journal
        (
            "unmatched",
            None,
            "unreadable BibTeX: Unexpected block start: `@article`. Was still looking for field-value closing `}`",
        ),
        ("unmatched", "2501.99999", "arXiv has no such paper"),
    ]
    assert report.lines[3].label == "entry at line 32"
    assert _items(db, "thesis") == ["astro-ph/0601001", "2104.12255", "1706.03762"]
    with db.read_session() as session:
        title = session.execute(select(Paper.title).where(Paper.arxiv_id == "astro-ph/0601001")).scalar_one()
    assert title.startswith("Frequency of Hot Jupiters")


def test_ris_and_csl_json_into_an_existing_collection_without_repeats(db: Database, settings: Settings) -> None:
    _known(db)
    owner = _owner(db)
    first = _import(db, settings, owner, "zotero.ris", new_title="Reading list")
    assert first.format == "ris"
    assert _outcomes(first) == [
        ("matched", "1706.03762", "by arXiv id"),  # versioned abs URL
        ("matched", "hep-th/9802150", "by arXiv id"),  # arXiv's DOI of an old-style id
        ("matched", "2501.00002", "by DOI"),
        ("unmatched", None, "the record has no end (an 'ER  - ' line)"),
    ]
    second = _import(db, settings, owner, "zotero.json", collection_slug="reading-list")
    assert second.format == "csl" and second.collection_title == "Reading list"
    assert _outcomes(second) == [
        ("matched", "1706.03762", "by arXiv id"),  # already in the collection: kept once
        ("matched", "1512.03385", "by title"),
        ("matched", "hep-th/9711200", "by arXiv id"),  # a versioned PDF URL
        ("unmatched", None, "not a CSL-JSON item (an object)"),
    ]
    assert _items(db, "reading-list") == ["1706.03762", "hep-th/9802150", "2501.00002", "1512.03385", "hep-th/9711200"]
    hand = _import(db, settings, owner, "hand.bib", collection_slug="reading-list")
    assert _outcomes(hand) == [
        ("matched", "math/0211159", "by arXiv id"),  # math.DG/0211159 with an @string archivePrefix
        ("matched", "1512.03385", "by arXiv id"),  # \url{…/pdf/1512.03385v1.pdf}
        ("unmatched", None, "no arXiv id or DOI, and no paper here has that title"),  # an SSRN eprint is no arXiv id
    ]


def test_duplicates_and_hidden_papers_are_reported(db: Database, settings: Settings) -> None:
    _known(db)
    owner = _owner(db)
    with db.write_session() as session:
        set_paper_hidden(session, "hep-th/9711200", True)
    data = (LIBRARY / "zotero.bib").read_bytes()
    twice = data + b"\n@misc{again, eprint = {1706.03762v5}, archivePrefix = {arXiv}}\n"
    report = import_library(db, settings, owner_id=owner, data=twice, filename="twice.bib")
    assert report.lines[3].reason == "an administrator hid that paper here"
    assert _outcomes(report)[-1] == ("unmatched", "1706.03762", "the same paper as vaswani_attention_2023 (line 2)")
    assert _items(db, "twice") == ["1706.03762", "2501.00002", "1512.03385"]


REFUSED = [
    (b"x" * 2_000_001, "big.bib", "a library import takes at most 2,000,000"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "cover.png", "not UTF-8 text"),
    ("@misc{k, title={Caf\xe9}}".encode("latin-1"), "old.bib", "not UTF-8 text"),
    (b"Dear reader,\nthis is a letter.", "letter.txt", "not a BibTeX (.bib), RIS (.ris) or CSL-JSON"),
    (b'[{"title": "x",}]', "zotero.json", "not valid JSON"),
    (b'{"title": "one item, not a list"}', "item.json", "a list of items"),
    (b"@comment{nothing here}\n", "empty.bib", "has no entries"),
    (b"@misc{broken, title = {never closed\n", "broken.bib", "None of the 1 entries could be read"),
    (b"TY  - JOUR\nTI  - no end\n", "cut.ris", "None of the 1 entries could be read"),
    (b"[]", "empty.json", "has no entries"),
]


def test_refused_files_import_nothing(db: Database, settings: Settings) -> None:
    owner = _owner(db)
    for data, filename, message in REFUSED:
        with pytest.raises(ImportRefused, match=re.escape(message)):
            import_library(db, settings, owner_id=owner, data=data, filename=filename)
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Collection)).scalar_one() == 0


def test_a_collection_that_is_not_yours_is_refused(db: Database, settings: Settings) -> None:
    _known(db)
    owner, other = _owner(db), _owner(db, "other")
    _import(db, settings, owner, "zotero.bib")
    with pytest.raises(ImportRefused, match="You have no collection 'zotero'"):
        _import(db, settings, other, "zotero.ris", collection_slug="zotero")
    assert _items(db, "zotero") == ["1706.03762", "2501.00002", "1512.03385", "hep-th/9711200"]


def test_arxiv_down_leaves_unknown_ids_unmatched_and_imports_the_rest(db: Database, settings: Settings) -> None:
    _known(db)
    owner = _owner(db)
    with ReplayServer() as arxiv:
        arxiv.route("/api/query", Reply(status=503, body=b"busy"))
        configured = settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query", "http_max_retries": 1})
        report = _import(db, configured, owner, "mendeley.bib")
    reasons = {line.arxiv_id: line.reason for line in report.lines}
    assert (
        reasons["astro-ph/0601001"].startswith("arXiv did not answer (")
        and "import the file again" in reasons["astro-ph/0601001"]
    )
    assert _items(db, "mendeley") == ["1706.03762"]


def test_titles_normalise_latex_case_accents_and_punctuation() -> None:
    assert normalised_title("{BERT}: Pre-training of Deep\n Bidirectional {T}ransformers") == (
        "bert pre training of deep bidirectional transformers"
    )
    assert normalised_title("Schr\u00f6dinger's $\\mathcal{O}(n)$ café") == "schrodinger s o n cafe"


def test_the_cli_imports_and_reports(sqlite_template: Path, tmp_path: Path) -> None:
    """Once, on SQLite: the command only wires the verb tested above on both backends, and each run costs seconds."""
    shutil.copy(sqlite_template, tmp_path / "cli.db")
    settings = make_settings(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)
    database = connect(settings)
    _known(database)
    _owner(database)
    database.dispose()
    command = [sys.executable, "-m", "papertide", "collection", "import", "reader", str(LIBRARY / "zotero.bib")]
    done = subprocess.run(command, env=cli_env(settings), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert (
        "bibtex: 4 matched, 0 fetched, 1 unmatched; 4 entries imported into /users/reader/collections/zotero" in output
    )
    assert "hastie_elements_2009 (line 54): no arXiv id or DOI" in output
    ghost = [*command[:5], "ghost", str(LIBRARY / "zotero.ris")]
    refused = subprocess.run(ghost, env=cli_env(settings), capture_output=True, text=True, timeout=120, check=False)
    assert (
        refused.returncode == 1 and "Nothing imported: there is no account 'ghost'" in refused.stdout + refused.stderr
    )


def test_an_imported_library_seeds_for_you_and_the_digest(
    client: TestClient, embedded_corpus: Database, settings: Settings, smtp: SmtpSink, embedder: object
) -> None:
    db = embedded_corpus
    with db.write_session() as session:
        owner = create_user(session, username="reader", password=PASSWORD, email="reader@example.org").id
    report = _import(db, settings, owner, "thesis.bib")
    assert [line.outcome for line in report.lines] == ["matched"] * 3
    log_in(client, "reader")
    page = client.get("/for-you.json").json()["page"]
    assert page["positives"] == 3 and page["picks"]
    assert {pick["library"] for pick in page["picks"]} == {"thesis"}
    assert "like papers in your library “thesis”" in client.get("/for-you").text
    # The personal digest learns from the same collection, and says so.
    configured = mail_settings(settings, smtp)
    with db.write_session() as session:
        grasping = session.execute(select(Paper).where(Paper.arxiv_id == "2503.12549")).scalar_one()
        outcome = subscribe(session, "reader@example.org", "weekly", Preferences(trending=False, personal=True), owner)
        outcome.subscription.status = "active"
    week_after = grasping.announced_on + timedelta(days=7)
    sent = send_digests(db, configured, "weekly", week_after, open_semantic(configured, embedder))  # type: ignore[arg-type]
    assert sent.sent == 1, sent.summary()
    text = smtp.to("reader@example.org")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Picked for you" in text and "like papers in your library “thesis” (closest: “" in text


def test_the_upload_form_imports_and_shows_the_report(client: TestClient, db: Database) -> None:
    _known(db)
    assert client.get("/collections/import", follow_redirects=False).status_code in (303, 401)
    token = sign_up(client, "uploader")
    form = client.get("/collections/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

    def upload(name: str, data: bytes, **fields: str) -> Response:
        files = {"file": (name, data, "application/octet-stream")}
        return client.post("/collections/import", files=files, data=fields, follow_redirects=False)

    bib = (LIBRARY / "zotero.bib").read_bytes()
    assert upload("zotero.bib", bib).status_code == 403  # the token travels in the multipart body, or nothing goes
    done = upload("zotero.bib", bib, csrf_token=token, title="My thesis")
    assert done.status_code == 200, done.text
    report = html.fromstring(done.text).xpath('//section[@class="import-report"]')[0]
    assert "4 of 5 entries imported into My thesis" in report.text_content()
    rows = [[cell.text_content() for cell in row] for row in report.xpath(".//tbody/tr")]
    assert rows[1] == ["lecun_deep_2015 (line 16)", "matched", "2501.00002", "by DOI"]
    assert rows[4][1:] == ["unmatched", "", "no arXiv id or DOI, and no paper here has that title"]
    assert _items(db, "my-thesis") == ["1706.03762", "2501.00002", "1512.03385", "hep-th/9711200"]
    page = client.get("/users/uploader/collections/my-thesis").text
    assert 'data-copy-url="/users/uploader/collections/my-thesis.bib"' in page
    into = upload("zotero.ris", (LIBRARY / "zotero.ris").read_bytes(), csrf_token=token, collection="my-thesis")
    assert (
        into.status_code == 200
        and "3 of 4 entries imported into My thesis" in html.fromstring(into.text).text_content()
    )
    assert _items(db, "my-thesis")[4:] == ["hep-th/9802150"]  # the one paper new to the collection
    refused = upload("letter.txt", b"Dear reader", csrf_token=token)
    assert refused.status_code == 400 and "Nothing was imported: That file is not a BibTeX" in refused.text
    big = upload("huge.bib", b"@misc{k, title={x}}\n" + b"%" * 2_100_000, csrf_token=token)
    assert big.status_code == 413 and "That file is too large: this form takes at most 2 MB." in big.text
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Collection)).scalar_one() == 1


def test_a_library_of_too_many_entries_is_refused_before_any_matching() -> None:
    entries = "".join(f"@misc{{k{number}, eprint = {{2501.{number:05d}}}}}\n" for number in range(2_001))
    with pytest.raises(LibraryFileError, match="That file has 2,001 entries; import at most 2,000 at a time."):
        read_library(entries.encode(), "many.bib")


# -- hostile files: bounded work, a 400 that says what is wrong, nothing logged per entry (audit 2, findings 1-2) --

_NESTED_TITLE = b"@article{deep, title={" + b"\\textbf{" * 3_000 + b"x" + b"}" * 3_000 + b"}}\n"
_KNOWN_ENTRY = b"@misc{known, title={Attention}, eprint={1706.03762}}\n"


def test_blocks_are_counted_where_the_parser_finds_them_not_only_at_line_starts() -> None:
    with pytest.raises(LibraryFileError, match="That file has 3,000 entries; import at most 2,000 at a time."):
        read_library(b"@a{" * 3_000, "inline.bib")
    with pytest.raises(LibraryFileError, match="4,001 BibTeX blocks"):
        read_library(b"@misc{k, title={x}}\n" + b"@comment{x}" * 4_000 + b"\n", "comments.bib")
    with pytest.raises(LibraryFileError, match="looks generated, not exported"):
        read_library(b"@misc{k, title={" + b"," * 600_000 + b"}}\n", "commas.bib")


def test_a_title_too_long_or_too_deep_is_that_entrys_problem_and_the_rest_is_read() -> None:
    long_title = b"@article{long, title={" + b"\\textbf{x} " * 2_000 + b"}}\n"
    braces = b"@article{braces, title={\\'e" + b"{" * 40 + b"x" + b"}" * 40 + b"}}\n"
    _, entries = read_library(long_title + _NESTED_TITLE + braces + _KNOWN_ENTRY, "hostile.bib")
    assert [(entry.label, entry.problem) for entry in entries] == [
        ("long (line 1)", "its title is 22,000 characters long; a title has at most 1,000"),
        ("deep (line 2)", "its title is 27,001 characters long; a title has at most 1,000"),
        ("braces (line 3)", "its title nests braces or environments more than 32 deep"),
        ("known (line 4)", None),
    ]
    environments = b"@article{env, title={" + b"\\begin{x}" * 40 + b"y" + b"\\end{x}" * 40 + b"}}\n"
    _, (nested, _known) = read_library(environments + _KNOWN_ENTRY, "env.bib")
    assert nested.problem == "its title nests braces or environments more than 32 deep"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (_NESTED_TITLE, "deep.bib", "None of the 1 entries could be read: its title is 27,001 characters long"),
        (b"[" * 100_000 + b"]" * 100_000, "deep.json", "nests lists or objects more deeply"),
        (b'[{"title": "x", "number": ' + b"9" * 5_000 + b"}]", "digits.json", "holds a number too long to read"),
        (b'[{"title": "' + b"t" * 1_001 + b'"}]', "long.json", "its title is 1,001 characters long"),
        (b"TY  - JOUR\nTI  - " + b"t" * 1_001 + b"\nER  - \n", "long.ris", "its title is 1,001 characters long"),
    ],
)
def test_a_malformed_upload_is_a_400_that_says_why_and_imports_nothing(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture, data: bytes, filename: str, message: str
) -> None:
    token = sign_up(client, "uploader")
    files = {"file": (filename, data, "application/octet-stream")}
    answer = client.post("/collections/import", files=files, data={"csrf_token": token})
    assert answer.status_code == 400 and message in html.fromstring(answer.text).text_content()
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    with db.read_session() as session:
        assert session.execute(select(func.count()).select_from(Collection)).scalar_one() == 0


def test_failed_blocks_are_reported_not_logged_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    broken = b"".join(b"@misc{k%d, title={never closed\n" % number for number in range(1_500))
    _, entries = read_library(broken + _KNOWN_ENTRY, "broken.bib")
    assert len(entries) == 1_501 and sum(entry.problem is not None for entry in entries) == 1_500
    assert not [record for record in caplog.records if record.name.startswith("bibtexparser")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_imports_have_an_hourly_limit_of_their_own(settings: Settings, db: Database) -> None:
    configured = settings.model_copy(update={"rate_limit_imports_per_hour": 2})
    with TestClient(create_app(configured), base_url="http://testserver") as client:
        token = sign_up(client, "importer")
        files = {"file": ("letter.txt", b"Dear reader", "text/plain")}
        statuses = [
            client.post("/collections/import", files=files, data={"csrf_token": token}).status_code for _ in range(3)
        ]
    assert statuses == [400, 400, 429]
