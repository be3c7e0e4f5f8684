"""Discovery in a real browser: similar papers on a paper page, "more like this", personal picks with
"not interested", and the subscribe box in every page's footer."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from papertide.db import Database
from tests.helpers.browser import log_in_page, make_account, screenshot

GRASPING = "2503.12549"


def test_similar_panel_and_more_like_this(page: Page, live_server: str, embedded_corpus: Database) -> None:
    page.goto(f"{live_server}/papers/{GRASPING}")
    panel = page.locator("section.similar")
    expect(panel.locator("li")).to_have_count(6)
    expect(panel).to_contain_text("VISO-Grasp")
    screenshot(page, "similar-panel")
    panel.locator("a:has-text('More like this')").click()
    expect(page.locator("label.example.positive")).to_contain_text("Grasping Partially Occluded")
    results = page.locator(".similar-result")
    expect(results).to_have_count(30)
    first = results.first.locator("h2.title a").inner_text()
    results.first.locator("a:has-text('less like this')").click()
    expect(page.locator("label.example.negative")).to_contain_text(first[:20])
    expect(page.locator(".similar-result h2.title a").first).not_to_have_text(first)


def test_for_you_picks_and_not_interested(page: Page, live_server: str, embedded_corpus: Database) -> None:
    make_account(embedded_corpus)
    log_in_page(page, live_server)
    for arxiv_id in (GRASPING, "2503.12609"):
        page.goto(f"{live_server}/papers/{arxiv_id}")
        page.locator("article.paper form.vote button").click()
        expect(page.locator("article.paper form.vote")).to_have_class(re.compile(r"\bvoted\b"))
    page.goto(f"{live_server}/for-you")
    picks = page.locator(".pick")
    expect(picks).to_have_count(30)
    expect(picks.first).to_contain_text("because you upvoted")
    dismissed = picks.first.locator("h2.title a").inner_text()
    screenshot(page, "for-you")
    picks.first.locator("button:has-text('Not interested')").click()
    expect(page.locator(".pick h2.title a").first).not_to_have_text(dismissed)


def test_footer_subscribe_box_leads_to_the_form(page: Page, live_server: str, embedded_corpus: Database) -> None:
    page.goto(f"{live_server}/search?q=grasping")
    page.fill("footer input[name=email]", "reader@example.org")
    page.click("footer button:has-text('Subscribe')")
    expect(page.locator("h1")).to_have_text("Get papers in your inbox")
    expect(page.locator("form.subscribe-form input[name=email]")).to_have_value("reader@example.org")
