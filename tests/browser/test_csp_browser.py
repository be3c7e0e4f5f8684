"""The Content-Security-Policy in a real browser: the pages work under it, KaTeX included, and nothing is refused.

Every page is checked for ``securitypolicyviolation`` events and console errors (Chromium logs each refusal as
one); the ``page`` fixture fails the test on console errors as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.models import Paper, User
from papertide.services.accounts import add_member, create_organization, create_user
from papertide.services.collections import add_to_collection, create_collection
from papertide.services.papers import upsert_papers
from papertide.web.middleware.headers import SecurityHeadersMiddleware
from papertide.web.rendering.policy import CONTENT_SECURITY_POLICY, DOCS_POLICY
from tests.helpers.factories import PASSWORD, make_paper_record
from tests.helpers.servers import serving
from tests.helpers.settings import make_settings

PAPER = "2501.00031"
TITLE = r"Low-rank updates in $\mathcal{O}(n \log n)$ for $\pmb{x}$"
ABSTRACT = (
    r"We bound the rank of $A \in \mathbb{R}^{m\times n}$ and show $$\sum_{i=1}^n \frac{x_i^2}{\sqrt{2}} \le 1,$$ "
    r"while $\frac{1}$ does not parse and stays as written."
)
FONT_LOADED = """document.fonts.ready.then(
  () => [...document.fonts].some((font) => font.family === "KaTeX_Main" && font.status === "loaded"))"""
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} refused ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No embedding model: loading it makes the first paper page take half a minute, and the policy is the subject.
    return make_settings(database_url, tmp_path, semantic_search=False)


@pytest.fixture
def secured_server(app: FastAPI) -> Iterator[str]:
    """The app with its security headers, under a real server. (The middleware is installed here until
    ``create_app`` installs it itself; then this only checks that it did.)"""
    if not any(entry.cls is SecurityHeadersMiddleware for entry in app.user_middleware):
        app.add_middleware(SecurityHeadersMiddleware, docs_prefix="/api/docs")
    with serving(app) as url:
        yield url


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """``page`` recording CSP violations and console errors; any at the end fails the test."""
    refusals: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on("console", lambda message: _keep_refusals(message, refusals))
    yield page
    assert not refusals, f"refused under the Content-Security-Policy: {refusals}"


def _keep_refusals(message: ConsoleMessage, refusals: list[str]) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        refusals.append(message.text)


def _visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
    page.wait_for_load_state("load")


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__cspViolations"))


def _sign_up_and_log_in(page: Page, server: str, db: Database, *, create: bool = True) -> None:
    if create:
        with db.write_session() as session:
            create_user(session, username="voter", password=PASSWORD)
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "voter")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("nav.site-nav")).to_contain_text("voter")


def test_pages_keep_to_the_policy_with_math_search_voting_and_the_theme(
    watched: Page, secured_server: str, db: Database
) -> None:
    with db.write_session() as session:
        upsert_papers(session, [make_paper_record(arxiv_id=PAPER, title=TITLE, abstract=ABSTRACT)])

    _visit(watched, f"{secured_server}/")
    assert _violations(watched) == []

    _visit(watched, f"{secured_server}/papers/{PAPER}")
    expect(watched.locator("h1 .katex").first).to_be_visible()
    assert watched.locator(".abstract .katex").count() >= 2
    # The fonts are this site's own: they load under default-src 'self'.
    assert watched.evaluate(FONT_LOADED)
    expect(watched.locator(".abstract")).to_contain_text(r"$\frac{1}$")  # unparsed math stays as its source
    assert _violations(watched) == []

    _visit(watched, f"{secured_server}/search?q=rank")
    expect(watched.locator(f"[data-paper='{PAPER}']").first).to_be_visible()
    assert _violations(watched) == []

    _sign_up_and_log_in(watched, secured_server, db)
    _visit(watched, f"{secured_server}/papers/{PAPER}")
    count = watched.locator("form[data-vote] [data-count]")
    expect(count).to_have_text("0")
    watched.locator("form[data-vote] button").click()
    expect(count).to_have_text("1")  # updated in place by papertide.js's fetch (connect-src via default-src)
    assert _violations(watched) == []

    # The remembered theme comes from static/theme.js, no longer an inline script.
    watched.evaluate("localStorage.setItem('papertide-theme', 'dark')")
    watched.reload()
    assert watched.evaluate("document.documentElement.dataset.theme") == "dark"
    assert _violations(watched) == []


def test_an_injected_script_is_refused(browser: Browser, secured_server: str) -> None:
    # The policy bites: a script that got into a page does not run, and the browser reports the refusal.
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    _visit(page, f"{secured_server}/")
    ran = page.evaluate(
        """() => { const script = document.createElement("script"); script.textContent = "window.__ran = true";
        document.body.append(script); return window.__ran === true; }"""
    )
    violations = _violations(page)
    context.close()
    assert ran is False
    assert [v for v in violations if v.startswith("script-src")], violations


def test_no_page_type_asks_another_host_for_anything(watched: Page, secured_server: str, db: Database) -> None:
    """Each kind of page, signed in as an administrator, the API reference included: the ``page`` fixture fails
    the test on any request to a host other than this server (no CDN, no avatar host, no badge)."""
    record = make_paper_record(arxiv_id=PAPER, title=TITLE, abstract=ABSTRACT)
    with db.write_session() as session:
        upsert_papers(session, [record])
        create_user(session, username="voter", password=PASSWORD, is_admin=True)
        create_organization(session, "lab", "The Lab")
        add_member(session, "lab", "voter")
    with db.write_session() as session:
        owner = session.execute(select(User.id).where(User.username == "voter")).scalar_one()
        paper_id = session.execute(select(Paper.id).where(Paper.arxiv_id == PAPER)).scalar_one()
        collection = create_collection(session, owner_id=owner, title="Reading list")
        add_to_collection(session, collection_id=collection.id, owner_id=owner, paper_id=paper_id)
    _sign_up_and_log_in(watched, secured_server, db, create=False)
    author = record.authors[0].name
    for path in (
        "/",
        "/papers/week",
        "/papers/month",
        "/papers/trending",
        f"/papers/{PAPER}",
        "/search?q=rank",
        "/similar",
        f"/authors/{author}",
        "/orgs/lab",
        "/users/voter",
        "/users/voter/collections/reading-list",
        "/collections/new",
        "/collections/import",
        "/following",
        "/papers/submit",
        "/settings",
        "/subscribe",
        "/admin",
        "/login",
        "/signup",
        "/reset",
    ):
        _visit(watched, f"{secured_server}{path}")
    response = watched.goto(f"{secured_server}/api/docs")
    assert response is not None and response.headers["content-security-policy"] == DOCS_POLICY
    expect(watched.locator(".opblock").first).to_be_visible()
    assert watched.locator(".opblock").count() > 50
    assert _violations(watched) == []
