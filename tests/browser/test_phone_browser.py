"""The site on a 390 × 844 phone in Chromium (issue 33): the header is one row (brand, search, menu), the menu opens
without JavaScript, at least four cards of a real daily page fit the first screen, and no page (the admin desk's
tables included) is wider than the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from papertide.db import Database
from tests.helpers.browser import SCREENSHOTS, screenshot
from tests.helpers.data import load_daily
from tests.helpers.factories import PASSWORD
from tests.helpers.web import make_admin

PHONE = {"width": 390, "height": 844}
DAY = "2025-06-10"  # 27 papers with authors, abstracts and hf.co figures


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """No JavaScript: the menu must open on <details> alone, and cards must fit without scripts' help."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, device_scale_factor=2)
    yield context.new_page()
    context.close()


def _first_screen(page: Page, name: str) -> None:
    """What a phone shows before any scrolling, which is what this module is about."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_phone_shows_four_cards_under_a_one_row_header(
    phone: Page, live_server: str, db: Database, shared_data: Path
) -> None:
    load_daily(db, shared_data / "hf-daily" / f"{DAY}.json")
    make_admin(db, "boss")
    phone.goto(f"{live_server}/papers/date/{DAY}")
    header = phone.locator("header.site-header").bounding_box()
    assert header is not None and header["height"] <= 64, header  # one row, not three
    search = phone.locator("header .header-search input").bounding_box()
    assert search is not None and search["width"] >= 150  # a field one can type into
    _first_screen(phone, "phone-daily")
    tops = phone.locator("article.card").evaluate_all("cards => cards.map(c => c.getBoundingClientRect().bottom)")
    assert sum(bottom <= PHONE["height"] for bottom in tops) >= 4, tops
    assert _overflow(phone) <= 0

    expect(phone.locator(".site-menu nav a[href='/papers/trending']")).to_be_hidden()
    phone.locator(".site-menu summary").click()
    expect(phone.locator(".site-menu nav a[href='/papers/trending']")).to_be_visible()
    expect(phone.locator(".site-menu nav a[href='/collections']")).to_be_visible()
    _first_screen(phone, "phone-menu")

    phone.goto(f"{live_server}/login")
    phone.fill("input[name=username]", "boss")
    phone.fill("input[name=password]", PASSWORD)
    phone.locator("main form button[type=submit]").click()
    phone.goto(f"{live_server}/admin")
    expect(phone.locator("h1")).to_have_text("Moderation desk")
    screenshot(phone, "phone-admin")
    assert _overflow(phone) <= 0  # the tables fold into one block per row
