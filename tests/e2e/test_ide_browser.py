"""The IDE pages in a real headless Chromium, against a live server.

Tests have no internet, so the IDEs' own code (from CDNs) does not load; what
is checked is what this project serves: the page a browser gets at /graphql,
and its endpoint wiring as the browser ran it (the HTTP endpoint and the
ws:// subscription endpoint worked out from the page's location). With
internet the page says ``data-ide-status="ready"``, without it the page
explains that the IDE could not load; both are accepted.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import require_binary

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

TITLES = {"graphiql": "GraphiQL", "apollo-sandbox": "Apollo Sandbox", "pathfinder": "Pathfinder"}


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        try:
            return require_binary(name)
        except pytest.skip.Exception:
            continue
    return require_binary("chromium")  # skips (or fails on CI) with the reason


def dump_dom(url: str, tmp_path) -> str:
    binary = chromium_binary()
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def html_attributes(dom: str) -> dict[str, str]:
    match = re.search(r"<html([^>]*)>", dom)
    assert match, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


@pytest.mark.parametrize("ide", list(TITLES))
def test_ide_page_in_a_browser(ide, live_server_factory, tmp_path):
    chromium_binary()  # skip before starting a server
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": ide})
    dom = dump_dom(f"{live.url}/graphql", tmp_path)
    attributes = html_attributes(dom)
    assert attributes["data-graphql-ide"] == ide
    assert f"<title>{TITLES[ide]}</title>" in dom
    # The page's own script ran in the browser and wired both endpoints.
    assert attributes["data-endpoint"] == f"{live.url}/graphql"
    assert attributes["data-subscription-endpoint"] == f"{live.ws_url}/graphql"
    assert attributes.get("data-ide-status") in (None, "ready", "unavailable")
    if attributes.get("data-ide-status") == "unavailable":
        assert f"{TITLES[ide]} could not be loaded" in dom
        assert f"subscribe over {live.ws_url}/graphql" in dom


def test_graphiql_subscriptions_use_graphql_ws_at_the_same_url(live_server_factory, tmp_path):
    chromium_binary()
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": "graphiql"})
    dom = dump_dom(f"{live.url}/graphql/", tmp_path)
    assert "https://unpkg.com/graphql-ws@" in dom
    assert "graphqlWs.createClient({ url: root.dataset.subscriptionEndpoint" in dom
    assert html_attributes(dom)["data-subscription-endpoint"] == f"{live.ws_url}/graphql/"


def test_ide_turned_off_gives_the_browser_a_404(live_server_factory, tmp_path):
    chromium_binary()
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": ""})
    dom = dump_dom(f"{live.url}/graphql", tmp_path)
    assert "GRAPHQL_IDE is None" in dom
    assert "data-graphql-ide" not in dom
