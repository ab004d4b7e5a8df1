"""Persisted documents and APQ against a live uvicorn, driven by Apollo Client's persisted-queries link."""

from __future__ import annotations

import json

from django_gql_channels.engine import sha256_id
from tests.e2e.browser import screenshot
from tests.e2e.conftest import run_node

HELLO_HEX = sha256_id("query Hello {\n  hello\n}\n").split(":", 1)[1]
NOT_FOUND = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def test_apollo_persisted_queries_link(live_server_factory, node_modules):
    server = live_server_factory(settings="tests.e2e.persisted_settings")
    result = run_node("apollo_persisted_client.mjs", f"{server.url}/graphql", HELLO_HEX)
    out = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    assert result.returncode == 0, (result.stdout, result.stderr, server.log())

    # Miss (hash only, over GET), register (text + hash, over POST), hit (hash only, over GET).
    assert out["first"] == out["second"] == {"data": {"hello": "Hello, apollo!"}}
    miss, register, hit = out["apq"]
    assert (miss["method"], miss["sent"]["hasQuery"], miss["status"], miss["body"]) == ("GET", False, 200, NOT_FOUND)
    assert miss["cacheControl"] == "private, no-cache, must-revalidate"
    assert miss["sent"]["extensions"]["persistedQuery"]["version"] == 1
    assert (register["method"], register["sent"]["hasQuery"], register["status"]) == ("POST", True, 200)
    assert (hit["method"], hit["sent"]["hasQuery"], hit["status"]) == ("GET", False, 200)
    assert hit["body"] == {"data": {"hello": "Hello, apollo!"}}

    # A hash that is not the text's: refused, nothing registered.
    assert "status code 400" in out["mismatch"]["error"]
    assert [(e["method"], e["status"]) for e in out["mismatchExchanges"]] == [("GET", 200), ("POST", 400)]
    [error] = out["mismatchExchanges"][1]["body"]["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH" and "does not match" in error["message"]

    # A manifest document by its id: one GET, no text ever sent.
    assert out["manifest"] == {"data": {"hello": "Hello, world!"}}
    assert [(e["method"], e["sent"]["hasQuery"]) for e in out["manifestExchanges"]] == [("GET", False)]


def test_only_persisted_mode_under_a_live_server_and_in_a_browser(live_server_factory, browser):
    import http.client

    server = live_server_factory(settings="tests.e2e.persisted_settings", env={"TEST_ONLY_PERSISTED": "1"})
    host, port = server.url.removeprefix("http://").split(":")

    def post(payload: dict) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("POST", "/graphql", json.dumps(payload), {"content-type": "application/json"})
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    status, body = post({"query": "{ hello }"})
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"
    assert post({"documentId": "sha256:" + HELLO_HEX}) == (200, {"data": {"hello": "Hello, world!"}})

    # The IDE page still loads, and tells the person at it why typed queries fail.
    page = browser.new_page()
    page.goto(f"{server.url}/graphql")
    assert page.locator("html").get_attribute("data-graphql-ide") == "graphiql"
    notice = page.locator("[data-only-persisted-documents]")
    notice.wait_for()
    assert "only runs persisted documents" in notice.inner_text()
    # GraphiQL still renders below the notice.
    page.wait_for_selector("html[data-ide-status=ready] .graphiql-container")
    screenshot(page, "graphiql-only-persisted-documents")
    assert browser.offline.blocked == []
