"""Take the screenshots in docs/screenshots/: the daily page, a paper, search, for-you, a collection, the admin desk
and a digest, each light and dark, desktop (1280 px) and phone (390 × 844).

Run from a checkout with the test extras (`make install-test`: Playwright and aiosmtpd) and Debian's Chromium:

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

It builds a throwaway instance from the demo's bundled sample (offline), embeds it, makes its keyphrases, gists and
topics, adds a reader with upvotes, a collection, a comment, follows and a daily digest subscription, serves it on a
free loopback port, and drives Chromium through it. Nothing outside the machine is asked for anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

CHROMIUM = os.environ.get("PAPERTIDE_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "a long demo password"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(data: Path, port: int, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PAPERTIDE_DATA_DIR": str(data),
        "PAPERTIDE_BASE_URL": f"http://127.0.0.1:{port}",
        "PAPERTIDE_SMTP_HOST": "127.0.0.1",
        "PAPERTIDE_SMTP_PORT": str(smtp_port),
        "PAPERTIDE_SMTP_SECURITY": "none",
        "PAPERTIDE_MAIL_FROM": "papertide <digest@papertide.test>",
        "PAPERTIDE_FOLLOW_CATEGORIES": "",
        "PAPERTIDE_HF_MIRROR": "false",
        "PAPERTIDE_NEW_PASSWORD": PASSWORD,
    }


def _papertide(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "papertide", *args], env=env, check=True)


def _seed(env: dict[str, str]) -> tuple[str, str]:
    """A reader with votes, a collection, a comment and follows; returns (a paper's id, the collection's path).
    papertide is imported here, after the environment names this instance, because settings are read once."""
    os.environ.update(env)
    from sqlalchemy import select

    from papertide.config import get_settings
    from papertide.db import connect
    from papertide.models import FeaturedPaper, Paper
    from papertide.services.accounts import create_user
    from papertide.services.collections import add_to_collection, create_collection
    from papertide.services.comments import add_comment
    from papertide.services.follows import follow
    from papertide.services.moderation import hide_paper
    from papertide.services.subscriptions import Preferences, subscribe
    from papertide.services.votes import set_vote

    database = connect(get_settings())
    with database.write_session() as session:
        reader = create_user(session, username="ada", password=PASSWORD, is_admin=True)
        top = session.execute(
            select(Paper.id, Paper.arxiv_id)
            .join(FeaturedPaper, FeaturedPaper.paper_id == Paper.id)
            .order_by(FeaturedPaper.featured_on.desc(), Paper.hf_upvotes.desc())
            .limit(6)
        ).all()
        for paper_id, _ in top[:3]:
            set_vote(session, reader.id, paper_id, up=True)
        shelf = create_collection(
            session,
            owner_id=reader.id,
            title="Reading group: efficient attention",
            description="Papers for Thursday's session; we start from the cost $O(n^2)$ of attention.",
        )
        for paper_id, _ in top[:4]:
            add_to_collection(session, collection_id=shelf.id, owner_id=reader.id, paper_id=paper_id, note="Read §3")
        remark = "The ablation in Table 2 is worth a look: $\\alpha = 0.1$ beats the default."
        add_comment(session, user_id=reader.id, paper_id=top[0][0], body=remark)
        follow(session, reader.id, "search", "diffusion")
        hide_paper(session, reader.id, str(top[5][1]), True)  # so the desk has something hidden and a log line
        preferences = Preferences(trending=True, personal=True, searches=("diffusion",))
        subscribe(session, "ada@example.org", "daily", preferences, user_id=reader.id).subscription.status = "active"
    database.dispose()
    return str(top[0][1]), f"/users/ada/collections/{shelf.slug}"


def _digest(env: dict[str, str], out: Path) -> Path:
    """Send the reader's daily digest to a loopback SMTP sink and keep its HTML part as a page to photograph."""
    from aiosmtpd.controller import Controller

    from papertide.config import get_settings
    from papertide.db import connect
    from papertide.queries.listings import query_latest_featured_day
    from papertide.search.semantic import open_semantic
    from papertide.services.digests import send_digests

    received: list[EmailMessage] = []

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            import email
            from email import policy

            received.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined, arg-type]
            return "250 OK"

    settings = get_settings()
    controller = Controller(Keep(), hostname="127.0.0.1", port=settings.smtp_port)
    controller.start()
    try:
        database = connect(settings)
        with database.read_session() as session:
            last = query_latest_featured_day(session) or date.today()
        send_digests(database, settings, "daily", last + timedelta(days=1), open_semantic(settings))
        database.dispose()
    finally:
        controller.stop()
    html = received[-1].get_body(("html",)).get_content()  # type: ignore[union-attr]
    page = out / "digest.html"
    page.write_text(html)
    return page


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"papertide did not come up at {url}")


def _photograph(url: str, pages: dict[str, str], digest: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for size, viewport in SIZES.items():
            for theme in ("light", "dark"):
                context = browser.new_context(viewport=viewport, color_scheme=theme, device_scale_factor=1)  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(f"{url}/login")
                page.fill("input[name=username]", "ada")
                page.fill("input[name=password]", PASSWORD)
                page.locator("main form button[type=submit]").click()
                page.wait_for_load_state()
                for name, path in {**pages, "digest": digest.as_uri()}.items():
                    page.goto(path if path.startswith("file:") else url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{name}-{theme}-{size}.png"))
                context.close()
        browser.close()


def _build(env: dict[str, str], folder: Path, keep: Path | None) -> None:
    """The demo's sample, loaded and embedded (minutes), or a copy of the one ``--keep`` built before."""
    from papertide.demo import SAMPLE_DAILY, SAMPLE_SNAPSHOT

    if keep is not None and keep.exists():
        shutil.copytree(keep, folder, dirs_exist_ok=True)
        _papertide(env, "db", "upgrade")
        return
    for sample in (SAMPLE_SNAPSHOT, SAMPLE_DAILY):
        _papertide(env, "demo", "--from", str(sample), "--no-serve")
    _papertide(env, "embed")
    _papertide(env, "topics", "insights")  # papertide's keyphrases and gist, which cards show
    _papertide(env, "topics", "build")
    if keep is not None:
        shutil.copytree(folder, keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--keep", type=Path, help="Build the instance here and keep it (a copy is used each run).")
    arguments = parser.parse_args()
    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        port, smtp_port = _free_port(), _free_port()
        env = _environment(Path(folder), port, smtp_port)
        _build(env, Path(folder), arguments.keep)
        paper, collection = _seed(env)
        digest = _digest(env, Path(folder))
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "papertide", "serve", "--port", str(port)], env=env)
        try:
            _wait(url)
            pages = {
                "daily": "/",
                "paper": f"/papers/{paper}",
                "search": "/search?q=diffusion+transformer",
                "for-you": "/for-you",
                "collection": collection,
                "admin": "/admin",
            }
            _photograph(url, pages, digest, out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"Screenshots in {out}")


if __name__ == "__main__":
    main()
