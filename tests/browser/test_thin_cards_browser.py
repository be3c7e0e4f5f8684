"""A thin day in Chromium: cards of papers known only by id and title (a sparse Daily Papers day) say what is
known, never "0 authors", and hf.co's figures stand apart from this instance's votes."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from papertide.db import Database
from tests.helpers.browser import screenshot
from tests.helpers.data import load_daily

THIN_DAY = "2026-08-22"  # the newest recorded day: titles and ids only


def test_cards_of_a_thin_day_never_say_zero_authors(
    page: Page, live_server: str, db: Database, shared_data: Path
) -> None:
    items = load_daily(db, shared_data / "hf-daily" / f"{THIN_DAY}.json")
    page.goto(f"{live_server}/papers/date/{THIN_DAY}")
    cards = page.locator("article.card")
    expect(cards).to_have_count(len(items))
    text = page.locator("main").inner_text()
    assert "0 authors" not in text and "· 0 author" not in text
    expect(cards.first.locator(".authors-unknown")).to_have_text("authors unknown")
    expect(page.locator("article.card .authors-count")).to_have_count(0)
    expect(page.locator("article.card .hf-figures")).to_have_count(0)  # this day carries no hf.co counts
    screenshot(page, "thin-day")
