"""Headless Debian Chromium driven by Playwright (no browser download), against a live papertide server.

Screenshots go to ``test-output/screenshots/``; console errors fail the test that caused them, and so does any
request a page makes to another host than the server under test (nothing is asked of a third party).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

CHROMIUM = os.environ.get("PAPERTIDE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


# Module, not session: Playwright's sync API runs an event loop in the main thread for as long as it is open, and
# a later test in the same worker that runs one of its own (anyio.run, the mcp client) would fail on it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install chromium (or set PAPERTIDE_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: _keep_errors(message, errors))
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("response", lambda response: _keep_failed_subresources(response, errors))
    opened.on("request", lambda request: _keep_foreign_requests(request, errors))
    yield opened
    context.close()
    assert not errors, f"console errors: {errors}"


def _keep_errors(message: ConsoleMessage, errors: list[str]) -> None:
    # A page answering 4xx on purpose (a duplicate submission is a 409) logs "Failed to load resource";
    # failed subresources are caught with their URL by _keep_failed_subresources instead.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


def _keep_failed_subresources(response: Response, errors: list[str]) -> None:
    if response.status >= 400 and response.request.resource_type != "document":
        errors.append(f"{response.status} {response.request.resource_type} {response.url}")


def _keep_foreign_requests(request: Request, errors: list[str]) -> None:
    """Every server under test listens on 127.0.0.1: a request anywhere else asks a third party for something."""
    host = urlsplit(request.url).hostname
    if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost"):
        errors.append(f"a request to another host: {request.method} {request.url}")
