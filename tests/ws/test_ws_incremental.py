"""``@defer``/``@stream`` over both WebSocket protocols: successive ``next`` (``data``) messages, then ``complete``."""

from __future__ import annotations

import asyncio

import pytest

from tests import defer_schema
from tests.incremental_support import needs_incremental
from tests.ws_support import client_factory, make_app

pytestmark = [pytest.mark.usefixtures("clean_layer"), needs_incremental]

START = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
NEXT = {"graphql-transport-ws": "next", "graphql-ws": "data"}


async def run(protocol: str, query: str, variables: dict | None = None,
              before_second=None) -> list[dict]:
    client = client_factory(protocol)(make_app(schema=defer_schema.schema))
    await client.gql_init()
    await client.send_json_to({"id": "1", "type": START[protocol],
                               "payload": {"query": query, "variables": variables or {}}})
    messages = [await client.receive_json_from(timeout=5)]
    if before_second is not None:
        await before_second(client)
    while messages[-1]["type"] != "complete":
        messages.append(await client.receive_json_from(timeout=5))
    await client.disconnect()
    assert {message["id"] for message in messages} == {"1"}
    assert [message["type"] for message in messages[:-1]] == [NEXT[protocol]] * (len(messages) - 1)
    return [message["payload"] for message in messages[:-1]]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_defer_sends_the_first_payload_before_the_deferred_work_ends(protocol):
    gate = defer_schema.GATES[f"ws-{protocol}"] = asyncio.Event()

    async def nothing_more_until_the_gate_opens(client):
        assert await client.receive_nothing(timeout=0.1)
        gate.set()

    payloads = await run(protocol, 'query($g: String) { hello ... @defer(label: "d") { slow(gate: $g) } }',
                         {"g": f"ws-{protocol}"}, nothing_more_until_the_gate_opens)
    assert payloads == [
        {"data": {"hello": "world"}, "hasNext": True},
        {"incremental": [{"data": {"slow": "finally"}, "path": [], "label": "d"}], "hasNext": False},
    ]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_stream_sends_items_with_their_index(protocol):
    payloads = await run(protocol, "{ letters @stream(initialCount: 1) }")
    assert payloads[0] == {"data": {"letters": ["a"]}, "hasNext": True}
    letters = ["a"]
    for entry in (entry for payload in payloads[1:] for entry in payload.get("incremental", ())):
        assert entry["path"] == ["letters", len(letters)]
        letters.extend(entry["items"])
    assert letters == ["a", "b", "c"]
    assert payloads[-1]["hasNext"] is False


async def test_stopping_the_operation_stops_the_deferred_work():
    defer_schema.GATES["ws-stop"] = asyncio.Event()  # never set
    client = client_factory("graphql-transport-ws")(make_app(schema=defer_schema.schema))
    await client.gql_init()
    await client.send_json_to({"id": "1", "type": "subscribe", "payload": {
        "query": "{ hello ... @defer { slow(gate: \"ws-stop\") } }"}})
    assert (await client.receive_json_from(timeout=5))["payload"] == {"data": {"hello": "world"}, "hasNext": True}
    await client.send_json_to({"id": "1", "type": "complete"})
    await client.send_json_to({"id": "2", "type": "subscribe", "payload": {"query": "{ hello }"}})
    assert await client.receive_json_from(timeout=5) == {"id": "2", "type": "next",
                                                          "payload": {"data": {"hello": "world"}}}
    assert "ws-stop" in defer_schema.CANCELLED
    await client.disconnect()
