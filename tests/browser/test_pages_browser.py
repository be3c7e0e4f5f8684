"""The site in a real browser: cards in order, upvotes in place, log in/out, submit, KaTeX, dark mode, phones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from papertide.config import Settings
from papertide.db import Database
from papertide.records import VersionRecord
from papertide.services.papers import upsert_papers
from tests.helpers.browser import log_in_page, make_account, screenshot
from tests.helpers.data import load_daily
from tests.helpers.factories import make_paper_record

DAY = "2025-03-20"
MATH_ABSTRACT = (
    r"We bound the rank of $A \in \mathbb{R}^{m\times n}$ in $\widetilde{O}(n)$ time with \texttt{FastRank}, "
    r"and show $$\sum_{i=1}^n x_i^2 \le 1.$$"
)


def test_daily_page_cards_in_order(page: Page, live_server: str, db: Database, shared_data: Path) -> None:
    items = load_daily(db, shared_data / "hf-daily" / f"{DAY}.json")
    page.goto(f"{live_server}/papers/date/{DAY}")
    cards = page.locator("article.card")
    expect(cards).to_have_count(len(items))
    # hf.co's upvotes stand beside this instance's own (none yet), and order the day.
    hf_counts = [int(text.split()[2]) for text in page.locator("article.card .hf-figures").all_inner_texts()]
    assert hf_counts == sorted(hf_counts, reverse=True) and len(hf_counts) == len(items)
    best = max(items, key=lambda i: i["paper"].get("upvotes", 0))  # type: ignore[union-attr,index]
    expect(cards.first).to_have_attribute("data-paper", best["paper"]["id"])  # type: ignore[index]
    upvotes = best["paper"]["upvotes"]  # type: ignore[index]
    expect(cards.first.locator(".hf-figures")).to_contain_text(f"on hf.co: {upvotes} upvotes")
    expect(cards.first.locator("[data-count]")).to_have_text("0")
    expect(cards.first.locator("[data-comments]")).to_have_text("0")
    screenshot(page, "daily-page")


def test_upvote_toggles_without_reload_and_persists(page: Page, live_server: str, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00020")])
    make_account(db)
    log_in_page(page, live_server)
    page.goto(f"{live_server}/papers/2501.00020")
    page.evaluate("window.__marker = 'no reload'")
    button = page.locator("form[data-vote] button")
    count = page.locator("form[data-vote] [data-count]")
    expect(count).to_have_text("0")
    button.click()
    expect(count).to_have_text("1")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__marker") == "no reload"
    page.reload()
    expect(page.locator("form[data-vote] [data-count]")).to_have_text("1")
    page.locator("form[data-vote] button").click()
    expect(page.locator("form[data-vote] [data-count]")).to_have_text("0")
    page.reload()
    expect(page.locator("form[data-vote] [data-count]")).to_have_text("0")


def test_log_in_and_out(page: Page, live_server: str, db: Database) -> None:
    make_account(db, "walker")
    log_in_page(page, live_server, "walker")
    page.click("nav.site-nav .account-menu summary")  # the account's pages are in its menu
    page.click("nav.site-nav button:has-text('Log out')")
    expect(page.locator("nav.site-nav")).to_contain_text("Log in")
    expect(page.locator("nav.site-nav")).not_to_contain_text("walker")


def test_submit_flow(page: Page, live_server: str, db: Database) -> None:
    submitted = datetime.now(UTC) - timedelta(days=1)
    with db.write_session() as session:
        upsert_papers(
            session,
            [make_paper_record(arxiv_id="2611.00020", submitted_at=submitted, versions=(VersionRecord(1, submitted),))],
        )
    make_account(db, "sender")
    log_in_page(page, live_server, "sender")
    page.click("nav.site-nav a:has-text('Submit')")
    page.fill("input[name=paper]", "https://arxiv.org/abs/2611.00020v1")
    page.click("form[action='/papers/submit'] button")
    page.wait_for_url(f"{live_server}/papers/2611.00020")
    expect(page.locator(".featured")).to_contain_text("sender")
    page.goto(f"{live_server}/papers/submit")
    page.fill("input[name=paper]", "2611.00020")
    page.click("form[action='/papers/submit'] button")
    expect(page.locator(".error")).to_contain_text("already submitted")


def test_katex_renders_math_on_a_paper_page(page: Page, live_server: str, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(
            session,
            [make_paper_record(arxiv_id="2501.00021", title=r"Rank in $\mathcal{O}(n)$", abstract=MATH_ABSTRACT)],
        )
    page.goto(f"{live_server}/papers/2501.00021")
    abstract = page.locator(".abstract")
    expect(abstract.locator(".katex").first).to_be_visible()
    assert abstract.locator(".katex").count() >= 3
    text = abstract.inner_text()
    assert "$" not in text.replace("\n", ""), text
    assert "\\texttt" not in text and abstract.locator("code").inner_text() == "FastRank"
    expect(page.locator("h1 .katex")).to_have_count(1)
    screenshot(page, "paper-page")


def test_dark_mode_and_phone_viewport(browser: Browser, live_server: str, db: Database, shared_data: Path) -> None:
    load_daily(db, shared_data / "hf-daily" / "2024-01-04.json")
    context = browser.new_context(color_scheme="dark", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.goto(f"{live_server}/")
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 19, 22)", background
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(phone, "daily-page-phone-dark")
    phone.click("[data-theme-toggle]")
    assert phone.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    phone.reload()
    assert phone.evaluate("document.documentElement.dataset.theme") == "light"
    context.close()
    assert not errors


def test_pages_work_without_javascript(browser: Browser, live_server: str, db: Database) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id="2501.00022")])
    make_account(db, "nojs")
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    log_in_page(plain, live_server, "nojs")
    plain.goto(f"{live_server}/papers/2501.00022")
    plain.click("form[data-vote] button")
    plain.wait_for_url(f"{live_server}/papers/2501.00022")
    expect(plain.locator("form[data-vote] [data-count]")).to_have_text("1")
    context.close()


def test_settings_stays_valid_json_in_twin(live_server: str, page: Page, settings: Settings) -> None:
    page.goto(f"{live_server}/index.json")
    assert json.loads(page.locator("body").inner_text())["kind"] == "recent"
