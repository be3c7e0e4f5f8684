"""Citation metadata and the Cite control in Chromium: the ``<head>`` a citation manager's connector reads (one
``citation_author`` per author, in order; JSON-LD that parses; COinS on cards), no CSP violation, and Copy
BibTeX putting the paper's BibTeX on the clipboard through the static script."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from papertide.config import Settings
from papertide.db import Database
from papertide.records import AuthorRecord, VersionRecord
from papertide.services.papers import upsert_papers
from tests.helpers.factories import make_paper_record
from tests.helpers.settings import make_settings

TITLE = 'Schrödinger\'s {LSTM}: $\\alpha$-nets & "quotes" </script><b>'
AUTHORS = ["Jürgen Schmidhuber", "Ludwig van Beethoven", "Ørsted Ñúñez"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Without semantic search: no "similar papers" needed, and the model would take seconds to load."""
    return make_settings(database_url, tmp_path, semantic_search=False)


def test_paper_head_and_cite_control_in_chromium(page: Page, live_server: str, db: Database) -> None:
    submitted = datetime(2025, 3, 18, 15, 0, tzinfo=UTC)
    record = make_paper_record(
        arxiv_id="hep-th/9901001",
        title=TITLE,
        authors=tuple(AuthorRecord(name) for name in AUTHORS),
        submitted_at=submitted,
        versions=(VersionRecord(1, submitted),),
        announced_on=date(2025, 3, 19),
        doi="10.1000/xyz",
    )
    with db.write_session() as session:
        upsert_papers(session, [record])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(f"{live_server}/papers/hep-th/9901001")
    authors = page.eval_on_selector_all("meta[name=citation_author]", "tags => tags.map(t => t.content)")
    assert authors == ["Schmidhuber, Jürgen", "van Beethoven, Ludwig", "Ñúñez, Ørsted"]
    assert page.get_attribute("meta[name=citation_title]", "content") == TITLE
    assert page.get_attribute("meta[name=citation_doi]", "content") == "10.1000/xyz"
    article = json.loads(page.inner_text("script[type='application/ld+json']"))
    assert article["@type"] == "ScholarlyArticle" and "</script><b>" in article["name"]
    assert page.locator("h1 b").count() == 0  # the title's markup stayed text
    page.click("details.cite summary")
    copy = page.locator("button[data-copy-target]")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@misc{schmidhuber2025") and "eprint = {hep-th/9901001}" in copied
    page.goto(f"{live_server}/")
    expect(page.locator("article.card span.Z3988")).to_have_count(1)
