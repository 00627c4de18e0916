"""Browser tests in a real Chromium (Debian's /usr/bin/chromium driven by Playwright's Python package).

``live_server`` serves the test app (same database as the test) on 127.0.0.1 in a thread; ``page`` is a
fresh browser page; ``browser_login`` logs in through the real login form; ``screenshot`` saves a PNG under
``test-artifacts/screenshots/``. Chromium is installed by ``make test`` (scripts/system-deps.sh --browser,
as root); where it is missing and cannot be installed, these tests skip with a message saying so.
`playwright install` is never needed: it would download a browser, which this project does not do.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("PORTICO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("PORTICO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _chromium_available() -> str | None:
    """None when Chromium can be used, else the reason it cannot."""
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        script = Path(__file__).resolve().parents[2] / "scripts" / "system-deps.sh"
        subprocess.run([str(script), "--browser"], check=False, capture_output=True, timeout=600)
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package (make test does, as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (make venv-dev installs it)"
    return None


@pytest.fixture(scope="session")
def _browser():
    reason = _chromium_available()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _server(app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture()
def live_server(_server, db):
    """The base URL. Commit the test's data (``db.session.commit()``) before the browser asks for it."""
    db.session.commit()
    return _server


@pytest.fixture()
def page(_browser):
    context = _browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    refused = []  # what the Content-Security-Policy blocked: a script Portico meant to run did not
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not refused, refused


@pytest.fixture()
def browser_login(live_server):
    """``browser_login(page, username, password)`` through FAB's login form."""

    def _login(page, username: str, password: str = PASSWORD):
        page.goto(f"{live_server}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return _login


@pytest.fixture()
def screenshot():
    """``screenshot(page, name)`` saves test-artifacts/screenshots/<name>.png and returns its path."""

    def _shot(page, name: str) -> Path:
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
