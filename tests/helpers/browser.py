"""Helpers for tests/browser/: a screenshot kept under test-output/, and an account to log in with through the
real form. tests/browser/conftest.py starts Chromium and gives each test a page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from papertide.db import Database
from tests.helpers.factories import PASSWORD, make_user

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def make_account(db: Database, username: str = "reader") -> None:
    with db.write_session() as session:
        make_user(session, username=username, password=PASSWORD)


def log_in_page(page: Page, server: str, username: str = "reader") -> None:
    """Log ``page`` in through the form, as a person would, and wait for the navigation to name the account."""
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("nav.site-nav")).to_contain_text(username)
