"""Headless Chromium driven by Playwright, offline: the system browser, never a downloaded one.

Every page opened here reaches 127.0.0.1 only. Chromium's host resolver maps
every other name to nowhere, and a route refuses (and records) any request
for another host, so a page that tried to reach a CDN is caught, not merely
slower. Each test saves screenshots under ``tests/artifacts/`` (git-ignored)
to look at when it fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import require_binary

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WAIT_MS = 20_000

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    # Offline below the page: no name but loopback resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

# Collects what the Content-Security-Policy blocked, for the test to assert on.
_CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        try:
            return require_binary(name)
        except pytest.skip.Exception:
            continue
    return require_binary("chromium")  # skips (or fails on CI) with the reason


@dataclass
class Offline:
    """What a browser context tried to fetch from anywhere but loopback."""

    blocked: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")


class Browser:
    """One Chromium for a test module; ``new_page()`` gives an offline tab in a fresh profile."""

    def __init__(self, playwright) -> None:
        # Playwright gives each launch a fresh temporary profile.
        self.browser = playwright.chromium.launch(
            executable_path=chromium_binary(), headless=True, args=CHROMIUM_ARGS,
        )
        self.offline = Offline()
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 860})
        self.context.set_default_timeout(WAIT_MS)
        self.context.add_init_script(_CSP_PROBE)
        self.context.route(re.compile(r"^(https?|wss?)://"), self.offline.route)
        self.errors: list[str] = []

    def new_page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def close(self) -> None:
        self.context.close()
        self.browser.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium_binary()  # skip (locally) before anything starts
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is missing on CI: `make install` installs the test extras")
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = Browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")
