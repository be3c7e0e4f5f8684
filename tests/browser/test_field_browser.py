"""The trend chart and the topic map (issue 31) in headless Chromium: without JavaScript both are drawn by the
server and readable (light and dark); with it, the map zooms and finds topics by label under the site's CSP (the
``page`` fixture fails on any console error, a refused script or style included). Screenshots of each go to
``test-output/screenshots/`` (``field-*.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Topic, TopicPaper
from papertide.services.papers import feature_papers
from tests.helpers.browser import screenshot
from tests.helpers.databases import fresh_database
from tests.helpers.factories import make_featured_record, make_paper_record
from tests.helpers.settings import make_settings

MONDAY = date(2026, 6, 1)
LABELS = ("retrieval · dense passages", "robot learning · policies", "diffusion · video", "speech · asr")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, semantic_search=False)  # no model: the pages are the subject


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def field(db: Database) -> None:
    """Papers over eight weeks (diffusion growing), and four topics on the map."""
    records = [
        make_featured_record(
            paper=make_paper_record(title=f"{word} paper {n}", announced_on=MONDAY + timedelta(weeks=week, days=n % 5)),
            featured_on=MONDAY + timedelta(weeks=week, days=n % 5),
            upvotes=3 * n,
        )
        for week in range(8)
        for word, count in (("Diffusion", 1 + week), ("Retrieval", 3))
        for n in range(count)
    ]
    with db.write_session() as session:
        feature_papers(session, records)
        for index, label in enumerate(LABELS):
            vector = np.eye(384, dtype=np.float32)[index]
            topic = Topic(
                slug=label.split(" ")[0],
                label=label,
                words=label.split(" · "),
                size=40 - 9 * index,
                growth=4.0 if index == 2 else 0.5,
                x=0.15 + 0.23 * index,
                y=0.3 + 0.12 * (index % 2),
                centroid=vector.tobytes(),
            )
            session.add(topic)
            session.flush()
        session.add(TopicPaper(paper_id=1, topic_id=topic.id, x=0.8, y=0.4))


TREND = "/trends?q=diffusion&q=retrieval&weeks=8&until=2026-W30"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_without_javascript_the_server_draws_both(browser: Browser, live_server: str, field: None, scheme: str) -> None:
    context = browser.new_context(
        java_script_enabled=False, color_scheme=scheme, viewport={"width": 1100, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{live_server}{TREND}")
    chart = page.locator("svg.trend-chart").first
    expect(chart).to_be_visible()
    assert page.locator("polyline.series-0").first.bounding_box()["width"] > 400  # type: ignore[index]
    expect(page.locator("table.trend-table tbody tr")).to_have_count(8)
    screenshot(page, f"field-trends-{scheme}")
    page.goto(f"{live_server}/topics")
    expect(page.locator("svg.topic-map a.bubble")).to_have_count(4)
    expect(page.locator(".map-search")).to_be_hidden()  # the controls need the script
    screenshot(page, f"field-topics-{scheme}")
    context.close()


def test_with_javascript_the_map_zooms_and_finds(page: Page, live_server: str, field: None) -> None:
    page.goto(f"{live_server}/topics")
    find = page.locator("[data-map-find]")
    expect(find).to_be_visible()
    find.fill("robot")
    expect(page.locator("a.bubble.found")).to_have_count(1)
    expect(page.locator("svg.topic-map")).to_have_class("topic-map finding")
    page.get_by_role("button", name="Zoom in").click()
    assert page.locator("svg.topic-map").get_attribute("viewBox") == "150 150 700 700"
    screenshot(page, "field-topics-found")
    page.locator("a.bubble.found").click()
    expect(page.locator("h1")).to_have_text("robot learning · policies")
