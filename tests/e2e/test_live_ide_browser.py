"""A live query in GraphiQL (headless Chromium, offline): the example's chat history, updated from the room page."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.e2e.browser import screenshot
from tests.e2e.test_ide_browser import (
    assert_clean,
    containing,
    expect_result,
    open_graphiql,
    run_operation,
    type_operation,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_chat_history_as_a_live_query_updates_when_the_room_page_posts(browser, live_server_factory,
                                                                        transactional_db):
    from playwright.sync_api import expect

    live = live_server_factory(settings="tests.e2e.live_ide_settings",
                               env={"TEST_GRAPHQL_IDE": "graphiql",
                                    "GQL_TEST_DATABASE": connection.settings_dict["NAME"]})
    room = browser.new_page()
    room.goto(f"{live.url}/chat/lobby/")
    expect(room.locator("body[data-connected=true]")).to_have_count(1)

    graphiql = open_graphiql(browser, live)
    type_operation(graphiql, 'query History @live { chatHistory(room: {roomName: "lobby"}) { user message } }')
    run_operation(graphiql)
    expect_result(graphiql, '"chatHistory": []')
    assert any(url.endswith("/graphql") for url in graphiql.socket_urls)  # over the socket, not HTTP

    room.bring_to_front()
    room.locator("#chat-message-input").fill("")
    room.locator("#chat-message-input").type("posted from the room")
    room.keyboard.press("Enter")
    expect(room.locator("#chat-log")).to_have_value(containing("posted from the room"))

    graphiql.bring_to_front()
    expect_result(graphiql, '"message": "posted from the room"', '"user": "room page"')
    screenshot(graphiql, "live-query-graphiql")
    assert_clean(browser, graphiql)
