"""The IDE pages in headless Chromium against a live uvicorn, used as a person would, offline.

The browser reaches 127.0.0.1 only (see ``browser.py``): GraphiQL must come
whole from the endpoint. The tests type into GraphiQL's editor, press its
run button and read its result pane; run a subscription in one tab and
publish to it from another; and play the example's chat demo between a
GraphiQL tab and the Channels room page. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import re

import pytest

from django_gql_channels.engine import INCREMENTAL_AVAILABLE
from tests.e2e.browser import csp_violations, screenshot


def containing(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESULT = ".result-window"


def open_graphiql(browser, live, path: str = "/graphql"):
    page = browser.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response) if "ide-asset=" in response.url else None)
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{live.url}{path}")
    page.wait_for_selector(f"html[data-ide-status=ready] {QUERY_EDITOR}")
    page.asset_responses = responses
    page.socket_urls = sockets
    return page


def type_operation(page, text: str) -> None:
    """Replace the editor's text by typing ``text`` key by key, as a person would."""
    page.locator(QUERY_EDITOR).click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # close the autocompletion list, if open
    # The editor closes brackets and quotes as they are typed; what it holds is what was meant.
    held = page.evaluate(f"document.querySelector({QUERY_EDITOR!r}).CodeMirror.getValue()")
    assert held == text
    # GraphiQL parses the text a moment after the last key (debounced); its run
    # button uses that parse to choose HTTP or the socket. A person pauses
    # anyway: wait until the parse is of this very text.
    page.wait_for_function(
        "([selector, text]) => { const cm = document.querySelector(selector).CodeMirror;"
        " return cm.documentAST && cm.documentAST.loc && cm.documentAST.loc.source.body === text; }",
        arg=[QUERY_EDITOR, text])


def run_operation(page) -> None:
    page.locator(".graphiql-execute-button").click()


def expect_result(page, *texts: str) -> None:
    from playwright.sync_api import expect

    for text in texts:
        expect(page.locator(RESULT)).to_contain_text(text)


def assert_clean(browser, page) -> None:
    """Nothing left the machine, nothing was refused by the page's CSP, no script failed."""
    assert browser.offline.blocked == []
    assert csp_violations(page) == []
    assert browser.errors == []


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_graphiql_runs_a_typed_query_offline(server, browser, live_server_factory):
    live = live_server_factory(server=server, settings="tests.e2e.ide_settings",
                               env={"TEST_GRAPHQL_IDE": "graphiql"})
    page = open_graphiql(browser, live)
    type_operation(page, "{ hello }")
    run_operation(page)
    expect_result(page, '"hello": "Hello, world!"')
    screenshot(page, f"graphiql-query-{server}")

    # The explorer plugin lists the schema's fields (it came from the endpoint too).
    page.get_by_role("button", name="Show GraphiQL Explorer").click()
    explorer = page.locator(".graphiql-explorer-root")
    # Ticking a field adds it to the operation, which then runs.
    explorer.get_by_text("me", exact=True).click()
    page.wait_for_function(
        f"/\\bme\\b/.test(document.querySelector({QUERY_EDITOR!r}).CodeMirror.getValue())")
    run_operation(page)
    expect_result(page, '"me": null')
    screenshot(page, f"graphiql-explorer-{server}")
    assert_clean(browser, page)

    # Every file came from the endpoint, compressed and cacheable for good.
    loaded = {response.url.split("ide-asset=")[1].split("&")[0]: response for response in page.asset_responses}
    assert any(name.endswith("/graphiql.min.js") for name in loaded)
    for name, response in loaded.items():
        headers = response.all_headers()
        assert response.status == 200, name
        assert headers["cache-control"] == "public, max-age=31536000, immutable", name
        if not name.startswith("page/"):
            assert headers["content-encoding"] == "gzip", name
    page_headers = page.request.get(f"{live.url}/graphql", headers={"Accept": "text/html"}).headers
    assert "script-src 'self' 'nonce-" in page_headers["content-security-policy"]
    assert "unsafe-inline" not in page_headers["content-security-policy"]


@pytest.mark.skipif(not INCREMENTAL_AVAILABLE, reason="@defer needs graphql-core 3.3")
def test_graphiql_shows_the_deferred_part_of_a_defer_query(browser, live_server_factory):
    live = live_server_factory(settings="tests.e2e.defer_settings")
    page = open_graphiql(browser, live)
    replies = []
    page.on("response", lambda response: replies.append(response.headers.get("content-type"))
            if response.request.method == "POST" else None)
    type_operation(page, '{ hello ... @defer(label: "late") { slow(ms: 1500) } }')
    run_operation(page)
    # The first part shows before the deferred one arrives; then both, merged.
    expect_result(page, '"hello": "world"')
    assert "finally" not in page.locator(RESULT).inner_text()
    expect_result(page, '"slow": "finally"')
    screenshot(page, "graphiql-defer")
    # GraphiQL's fetcher asked for multipart and got it (its introspection came as JSON).
    assert 'multipart/mixed; boundary="-"; deferSpec=20220824' in replies
    assert page.socket_urls == []
    assert_clean(browser, page)


def test_graphiql_subscription_receives_a_mutation_sent_from_another_tab(browser, live_server_factory):
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": "graphiql"})
    subscriber = open_graphiql(browser, live)
    type_operation(subscriber, 'subscription { joinChatRooms(rooms: [{roomName: "ide"}], user: "ada") { message } }')
    run_operation(subscriber)
    # The subscription greets the room once it listens: the socket is up.
    expect_result(subscriber, "Hello, my name is ada!")

    publisher = open_graphiql(browser, live)
    type_operation(publisher, 'mutation { sendChatMessage(room: {roomName: "ide"}, message: "sent from tab two") }')
    run_operation(publisher)
    expect_result(publisher, '"sendChatMessage": true')
    screenshot(publisher, "graphiql-mutation-tab")

    subscriber.bring_to_front()
    expect_result(subscriber, "sent from tab two")
    # The subscription ran over a WebSocket to the page's own URL; the mutation over HTTP.
    assert subscriber.socket_urls == [f"{live.ws_url}/graphql"]
    assert publisher.socket_urls == []
    screenshot(subscriber, "graphiql-subscription-tab")
    assert_clean(browser, subscriber)


def test_chat_demo_between_graphiql_and_the_room_page(browser, live_server_factory):
    """The seed page's "Running our example": a subscription in one tab, the chat room in another."""
    from playwright.sync_api import expect

    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": "graphiql"})

    # A person starts on the example's landing page and follows its links.
    landing = browser.new_page()
    landing.goto(f"{live.url}/")
    screenshot(landing, "example-landing")
    with browser.context.expect_page() as opened:
        landing.get_by_role("link", name="chat room").click(modifiers=["Control"])  # a new tab
    room = opened.value
    expect(room.locator("body[data-connected=true]")).to_have_count(1)
    assert room.url.endswith("/chat/lobby/")

    graphiql = open_graphiql(browser, live)
    type_operation(graphiql, 'subscription { joinChatRooms(rooms: [{roomName: "lobby"}], user: "ada") '
                             '{ roomName currentUser message } }')
    run_operation(graphiql)
    expect_result(graphiql, "Hello, my name is ada!")
    # The greeting reaches the room page too.
    expect(room.locator("#chat-log")).to_have_value(containing("Hello, my name is ada!"))

    # Typed in the room page -> arrives in GraphiQL's subscription.
    room.bring_to_front()
    room.locator("#chat-message-input").fill("")
    room.locator("#chat-message-input").type("hello from the room")
    room.keyboard.press("Enter")
    graphiql.bring_to_front()
    expect_result(graphiql, "hello from the room")
    screenshot(graphiql, "chat-demo-graphiql")

    # And back: a mutation from a second GraphiQL tab appears in the room page.
    sender = open_graphiql(browser, live)
    type_operation(sender, 'mutation { sendChatMessage(room: {roomName: "lobby"}, message: "hello from GraphQL") }')
    run_operation(sender)
    expect_result(sender, '"sendChatMessage": true')
    room.bring_to_front()
    expect(room.locator("#chat-log")).to_have_value(containing("hello from GraphQL"))
    screenshot(room, "chat-demo-room")
    graphiql.bring_to_front()
    expect_result(graphiql, "hello from GraphQL")
    assert_clean(browser, graphiql)


def test_landing_page_links_the_ide(browser, live_server_factory):
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": "graphiql"})
    page = browser.new_page()
    page.goto(f"{live.url}/")
    page.get_by_role("link", name="GraphiQL").click()
    page.wait_for_selector(f"html[data-ide-status=ready] {QUERY_EDITOR}")
    assert page.url == f"{live.url}/graphql"
    screenshot(page, "landing-to-graphiql")
    assert_clean(browser, page)


@pytest.mark.parametrize(("ide", "title", "host"), [
    ("apollo-sandbox", "Apollo Sandbox", "embeddable-sandbox.cdn.apollographql.com"),
    ("pathfinder", "Pathfinder", "esm.sh"),
])
def test_online_only_ides_say_they_need_internet(ide, title, host, browser, live_server_factory):
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": ide})
    page = browser.new_page()
    page.goto(f"{live.url}/graphql/")
    page.wait_for_selector("html[data-ide-status=unavailable]")
    text = page.locator("#ide").inner_text()
    assert f"{title} could not be loaded" in text
    assert "needs internet access" in text and 'GRAPHQL_IDE = "graphiql" works offline' in text
    # The endpoint wiring the page worked out from its own location.
    assert f"POST queries to {live.url}/graphql/ and subscribe over {live.ws_url}/graphql/" in text
    # It did try the pinned CDN, which the offline browser refused.
    assert any(host in url for url in browser.offline.blocked)
    assert not any("_latest" in url for url in browser.offline.blocked)
    screenshot(page, f"{ide}-offline")


def test_ide_turned_off_gives_the_browser_a_404(browser, live_server_factory):
    live = live_server_factory(settings="tests.e2e.ide_settings", env={"TEST_GRAPHQL_IDE": ""})
    page = browser.new_page()
    response = page.goto(f"{live.url}/graphql")
    assert response.status == 404
    assert "GRAPHQL_IDE is None" in page.content()
