"""``SHARED_SUBSCRIPTION_RESULTS``: one execution per event for every subscriber of one operation.

Real consumers on the in-memory layer, raw ``graphql-transport-ws`` and
``graphql-ws`` frames: with the switch on, every socket gets byte for byte the
frames it gets with the switch off, while the selection set runs once per
event instead of once per subscriber.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncGenerator

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from django_gql_channels import GraphQLWSConsumer
from django_gql_channels.conf import gql_settings
from django_gql_channels.engine import Engine
from django_gql_channels.operations import shared_results

CALLS: Counter[str] = Counter()


def _text(event, _info):
    CALLS["text"] += 1
    return event["text"]


async def _slow_text(event, _info):
    CALLS["slow"] += 1
    await asyncio.sleep(0)
    return event["text"].upper()


def _viewer(_event, info):
    return info.context["connection_params"].get("name")


Event = GraphQLObjectType("Event", {
    "text": GraphQLField(GraphQLString, resolve=_text),
    "slow": GraphQLField(GraphQLString, resolve=_slow_text),
    "n": GraphQLField(GraphQLInt, resolve=lambda event, _info: event["n"]),
    "viewer": GraphQLField(GraphQLString, resolve=_viewer),
})


async def _listen(_root, info, group):
    async with info.context["ws"].listen_to_channel("test.event", groups=[group]) as messages:
        async for message in messages:
            yield message


async def _confirm_then_listen(_root, info, group):
    async with info.context["ws"].listen_to_channel("test.event", groups=[group]) as messages:
        yield None
        async for message in messages:
            yield message


async def _one_object_mutated(_root, info, group):
    """Yields the same dict each time, changed in between: each must be executed afresh."""
    state = {"text": "", "n": 0}
    async with info.context["ws"].listen_to_channel("test.event", groups=[group]) as messages:
        async for message in messages:
            state["text"], state["n"] = message["text"], message["n"]
            yield state


def _root(value, _info, **_):
    CALLS["root" if value is not None else "root-null"] += 1
    return value


def _field(subscribe, **extensions):
    return GraphQLField(Event, args={"group": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                        subscribe=subscribe, resolve=_root, extensions=extensions or None)


schema = GraphQLSchema(
    query=GraphQLObjectType("Query", {"ok": GraphQLField(GraphQLString, resolve=lambda *_: "ok")}),
    subscription=GraphQLObjectType("Subscription", {
        "events": _field(_listen),
        "confirmed": _field(_confirm_then_listen),
        "mutated": _field(_one_object_mutated),
        "personal": _field(_listen, shared_results=False),
    }),
)

EVENTS = "subscription ($group: String!) { events(group: $group) { text n } }"


@pytest.fixture(autouse=True)
async def fresh(clean_layer):
    CALLS.clear()
    yield clean_layer
    assert shared_results.shared_operations() == [], "every shared operation is released when its subscribers end"


def group_name() -> str:
    return f"g{uuid.uuid4().hex[:10]}"


def sharing(on: bool):
    return override_settings(GQL_CHANNELS={**gql_settings.user_settings, "SHARED_SUBSCRIPTION_RESULTS": on})


class Socket:
    def __init__(self, protocol: str, name: str) -> None:
        self.protocol = protocol
        self.name = name
        #: Frames that came before the pong (a confirming null).
        self.early: list[str] = []
        self.comm = WebsocketCommunicator(GraphQLWSConsumer.as_asgi(schema=schema), "/graphql",
                                          subprotocols=[protocol])

    async def open(self) -> None:
        connected, _ = await self.comm.connect()
        assert connected
        await self.comm.send_json_to({"type": "connection_init", "payload": {"name": self.name}})
        assert (await self.comm.receive_json_from(2))["type"] == "connection_ack"

    async def subscribe(self, query: str, variables: dict) -> None:
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.comm.send_json_to({"id": f"op-{self.name}", "type": kind,
                                      "payload": {"query": query, "variables": variables}})
        if self.protocol == "graphql-transport-ws":
            # Messages are handled in order, after the subscription started (a confirming
            # null is sent first): the pong says it listens.
            await self.comm.send_json_to({"type": "ping"})
            while (frame := await self.comm.receive_from(2)) != '{"type":"pong"}':
                self.early.append(frame)

    async def frames(self, count: int) -> list[str]:
        return [await self.comm.receive_from(2) for _ in range(count)]

    async def close(self) -> None:
        await self.comm.disconnect()


async def run_fanout(*, on: bool, protocol: str = "graphql-transport-ws", sockets: int = 4, messages: int = 3,
                     query: str = EVENTS, variables_for=None, settle: int = 0,
                     layer=None) -> dict[str, list[str]]:
    """Subscribe ``sockets`` sockets, send ``messages`` group messages; every socket's frames by name."""
    from channels.layers import get_channel_layer

    layer = layer or get_channel_layer()
    group = group_name()
    with sharing(on):
        clients = [Socket(protocol, f"s{i}") for i in range(sockets)]
        try:
            for i, client in enumerate(clients):
                await client.open()
                variables = variables_for(i) if variables_for else {}
                await client.subscribe(query, {"group": group, **variables})
            received = {client.name: client.early + (await client.frames(settle) if settle else [])
                        for client in clients}
            for n in range(messages):
                await layer.group_send(group, {"type": "test.event", "text": f"hello {n}", "n": n})
            for client in clients:
                received[client.name] = received.get(client.name, []) + await client.frames(messages)
        finally:
            for client in clients:
                await client.close()
    return received


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_the_same_frames_with_one_execution_per_event(protocol):
    unshared = await run_fanout(on=False, protocol=protocol)
    assert CALLS["text"] == 4 * 3
    CALLS.clear()
    shared = await run_fanout(on=True, protocol=protocol)
    assert CALLS["text"] == 3, "each event's selection set ran once for all four subscribers"
    assert shared == unshared
    kind = "next" if protocol == "graphql-transport-ws" else "data"
    first = json.loads(shared["s2"][0])
    assert first == {"id": "op-s2", "type": kind, "payload": {"data": {"events": {"text": "hello 0", "n": 0}}}}


async def test_different_variables_do_not_share():
    received = await run_fanout(on=True, query="subscription ($group: String!, $x: Boolean!) "
                                              "{ events(group: $group) { text n @include(if: $x) } }",
                                variables_for=lambda i: {"x": i % 2 == 0})
    assert CALLS["text"] == 2 * 3, "two distinct variable sets: two executions per event"
    assert json.loads(received["s0"][0])["payload"]["data"]["events"] == {"text": "hello 0", "n": 0}
    assert json.loads(received["s1"][0])["payload"]["data"]["events"] == {"text": "hello 0"}


async def test_async_resolvers_run_once_while_others_wait():
    query = "subscription ($group: String!) { events(group: $group) { slow } }"
    unshared = await run_fanout(on=False, query=query)
    CALLS.clear()
    shared = await run_fanout(on=True, query=query)
    assert CALLS["slow"] == 3
    assert shared == unshared


async def test_the_confirming_null_is_executed_per_subscriber():
    query = "subscription ($group: String!) { confirmed(group: $group) { text } }"
    unshared = await run_fanout(on=False, query=query)
    nulls = CALLS["root-null"]
    CALLS.clear()
    shared = await run_fanout(on=True, query=query)
    assert shared == unshared
    assert CALLS["root-null"] == nulls, "a None event is never shared"
    assert CALLS["text"] == 3


async def test_a_mutated_object_yielded_again_is_executed_again():
    query = "subscription ($group: String!) { mutated(group: $group) { text n } }"
    unshared = await run_fanout(on=False, query=query, sockets=2)
    shared = await run_fanout(on=True, query=query, sockets=2)
    assert shared == unshared
    assert [json.loads(f)["payload"]["data"]["mutated"]["n"] for f in shared["s0"]] == [0, 1, 2]


async def test_a_field_marked_shared_results_false_is_executed_per_subscriber():
    query = "subscription ($group: String!) { personal(group: $group) { text viewer } }"
    received = await run_fanout(on=True, query=query)
    assert CALLS["text"] == 4 * 3
    for name, frames in received.items():
        assert all(json.loads(f)["payload"]["data"]["personal"]["viewer"] == name for f in frames)


# -- the shared operation on its own -----------------------------------------------------


async def test_a_cancelled_execution_lets_the_waiting_subscriber_execute_itself():
    from django_gql_channels.engine import Operation  # noqa: F401 - documents what prepare returns

    engine = Engine(schema)
    operation = engine.prepare(EVENTS)
    shared = shared_results.join_shared(engine, operation, {"group": "g"})
    assert shared is not None
    first, second = shared.subscriber(), shared.subscriber()
    event = {"text": "x", "n": 1}
    gate = asyncio.Event()
    runs = []

    async def blocked(payload):
        runs.append("blocked")
        await gate.wait()
        raise AssertionError("never gets here")

    async def direct(payload):
        from graphql import ExecutionResult

        runs.append("direct")
        return ExecutionResult({"events": {"text": payload["text"], "n": payload["n"]}}, None)

    one = asyncio.ensure_future(first(event, blocked))
    await asyncio.sleep(0)
    two = asyncio.ensure_future(second(event, direct))
    await asyncio.sleep(0)
    one.cancel()
    result = await asyncio.wait_for(two, 2)
    assert result.payload == {"data": {"events": {"text": "x", "n": 1}}}
    assert runs == ["blocked", "direct"]
    with pytest.raises(asyncio.CancelledError):
        await one
    shared.leave()
    shared.leave()
    assert shared_results.shared_operations() == []


async def test_the_encoding_is_made_once_per_encoder():
    result = shared_results.SharedResult({"data": {"a": 1}})
    calls = []

    def encode(payload):
        calls.append(1)
        return json.dumps(payload)

    assert result.encoded("k", encode) == result.encoded("k", encode) == '{"data": {"a": 1}}'
    assert len(calls) == 1


async def test_variables_that_are_not_json_are_not_shared():
    engine = Engine(schema)
    operation = engine.prepare(EVENTS)
    assert shared_results.join_shared(engine, operation, {"group": object()}) is None
    assert shared_results.join_shared(engine, engine.prepare("{ ok }"), None) is None


async def test_a_strawberry_field_opts_out_through_its_metadata():
    import strawberry

    @strawberry.type
    class Query:
        ok: str = "ok"

    @strawberry.type
    class Subscription:
        @strawberry.subscription(metadata={"shared_results": False})
        async def inbox(self) -> AsyncGenerator[str, None]:
            yield "x"

        @strawberry.subscription
        async def news(self) -> AsyncGenerator[str, None]:
            yield "x"

    engine = Engine(strawberry.Schema(query=Query, subscription=Subscription))
    assert shared_results.opted_out(engine, engine.prepare("subscription { inbox }"))
    assert shared_results.opted_out(engine, engine.prepare("subscription { ... on Subscription { inbox } }"))
    assert not shared_results.opted_out(engine, engine.prepare("subscription { news }"))
    assert shared_results.join_shared(engine, engine.prepare("subscription { inbox }"), None) is None
