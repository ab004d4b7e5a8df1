"""``METRICS``: Prometheus metrics after real operations on every transport, read from the default registry."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from django_gql_channels import ChannelsConsumer, GraphQLHTTPConsumer
from django_gql_channels.testing import GraphQLHTTPCommunicator, GraphQLWebsocketCommunicator
from tests import ws_schema
from tests.observability_support import Samples, connections, operations, sample
from tests.sse_support import StreamingRequest
from tests.ws_support import make_app

pytestmark = pytest.mark.usefixtures("clean_layer", "observed")

EVENTS: tuple[str, dict[str, str]] = ("gql_channels_subscription_events_total", {})
DROPPED: tuple[str, dict[str, str]] = ("gql_channels_dropped_messages_total", {})


def group() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


def http_app():
    return GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema)


async def wait_until(condition, what: str) -> None:
    for _ in range(500):  # bounded
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never true: {what}")


# -- HTTP ------------------------------------------------------------------------------


async def test_http_operations_are_counted_by_outcome_and_timed():
    client = GraphQLHTTPCommunicator(http_app())
    counts = Samples(operations("http", "query", "ok"), operations("http", "query", "error"),
                     operations("http", "unknown", "refused"), operations("http", "subscription", "refused"),
                     operations("http", "mutation", "ok"),
                     ("gql_channels_operation_duration_seconds_count",
                      {"transport": "http", "operation_type": "query"}))
    assert (await client.query("{ hello }")).data == {"hello": "world"}
    assert (await client.query("query Named { hello }")).data == {"hello": "world"}
    assert (await client.query("{ channelName }")).errors  # no "ws" in an HTTP context: a field error
    assert (await client.query("{ hello")).status_code in (200, 400)  # a syntax error
    assert (await client.query("subscription { count(to: 1) }")).errors  # refused over plain HTTP
    assert (await client.query('mutation { echo(text: "x") }')).data == {"echo": "x"}
    assert counts.added() == [2, 1, 1, 1, 1, 3]
    assert connections("http") == 0  # every request answered


async def test_each_element_of_a_batch_is_an_operation_of_its_own():
    client = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema, batching=True))
    counts = Samples(operations("http", "query", "ok"), operations("http", "unknown", "refused"),
                     operations("http", "subscription", "refused"), operations("http", "mutation", "ok"))
    batch = [{"query": "{ hello }"}, {"query": "{ nope }"}, {"query": "subscription { count(to: 1) }"},
             {"query": 'mutation { echo(text: "x") }'}, {"query": "{ hello }"}]
    reply = await client.post(json.dumps(batch).encode())
    assert reply.status_code == 200
    assert counts.added() == [2, 1, 1, 1]
    assert connections("http") == 0


# -- WebSockets ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_websocket_operations_connections_subscriptions_and_events(protocol):
    base_connections = connections(protocol)
    base_subscriptions = sample("gql_channels_subscriptions")
    counts = Samples(operations(protocol, "query", "ok"), operations(protocol, "unknown", "refused"),
                     operations(protocol, "subscription", "ok"), operations(protocol, "subscription", "error"),
                     EVENTS)
    client = GraphQLWebsocketCommunicator(make_app(), "/graphql", protocol=protocol)
    await client.gql_init()
    assert connections(protocol) == base_connections + 1
    assert [r.data async for r in client.subscribe("{ hello }")] == [{"hello": "world"}]
    assert [r.errors async for r in client.subscribe("{ nope }")][0]  # refused by validation
    assert [r.data async for r in client.subscribe("subscription { count(to: 3) }")] == [
        {"count": 1}, {"count": 2}, {"count": 3}]
    failing = [r async for r in client.subscribe("subscription { failAfter(n: 1) }")]
    assert failing[-1].errors
    room = group()
    listening = client.subscribe("subscription ($g: String!) { guarded(group: $g) }", {"g": room})
    assert (await listening.__anext__()).data == {"guarded": None}
    assert sample("gql_channels_subscriptions") == base_subscriptions + 1
    await listening.complete()
    await wait_until(lambda: sample("gql_channels_subscriptions") == base_subscriptions, "the subscription ended")
    await client.disconnect()
    assert connections(protocol) == base_connections
    # count: 3 events; failAfter: 1 and the error; guarded: its null.
    assert counts.added() == [1, 1, 2, 1, 5]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_an_abrupt_disconnect_brings_the_gauges_back_down(protocol):
    base_connections = connections(protocol)
    base_subscriptions = sample("gql_channels_subscriptions")
    ended = Samples(operations(protocol, "subscription", "ok"))
    client = GraphQLWebsocketCommunicator(make_app(), "/graphql", protocol=protocol)
    await client.gql_init()
    subscriptions = [client.subscribe("subscription ($g: String!) { guarded(group: $g) }", {"g": group()})
                     for _ in range(3)]
    for subscription in subscriptions:
        await subscription.start()
    assert sample("gql_channels_subscriptions") == base_subscriptions + 3
    assert connections(protocol) == base_connections + 1
    await client.disconnect(code=1006)  # no complete, no close frame: the client just went
    assert sample("gql_channels_subscriptions") == base_subscriptions
    assert connections(protocol) == base_connections
    assert ended.added() == [3]


async def test_messages_dropped_for_a_slow_subscriber_are_counted(clean_layer):
    """A subscriber that does not read: its queue (SUBSCRIPTION_QUEUE_SIZE) fills, the rest is dropped and counted."""
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "METRICS": True, "SUBSCRIPTION_QUEUE_SIZE": 2}):
        counts = Samples(DROPPED)
        consumer = ChannelsConsumer()
        consumer.scope = {"type": "websocket"}
        room = group()
        async with consumer.listen_to_channel("note", groups=[room]) as listener:
            for number in range(50):
                await clean_layer.group_send(room, {"type": "note", "text": str(number)})
            await wait_until(lambda: listener.dropped == 48, "the group's receiver handed every message over")
            assert counts.added() == [48]
        await consumer.close_channel_layer()


# -- Server-Sent Events --------------------------------------------------------------------


async def test_sse_streams_operations_connections_and_events(clean_layer):
    app = http_app()
    base_connections = connections("sse")
    base_subscriptions = sample("gql_channels_subscriptions")
    counts = Samples(operations("sse", "subscription", "ok"), operations("sse", "query", "ok"),
                     operations("sse", "unknown", "refused"), EVENTS)
    done = await StreamingRequest(app, payload={"query": "subscription { count(to: 2) }"}).start()
    await done.rest()
    query = await StreamingRequest(app, payload={"query": "{ hello }"}, accept="text/event-stream").start()
    await query.rest()
    refused = await StreamingRequest(app, payload={"query": "{ nope }"}, accept="text/event-stream").start()
    await refused.rest()

    room = group()
    stream = await StreamingRequest(app, payload={"query": "subscription ($g: String!) { guarded(group: $g) }",
                                                  "variables": {"g": room}}).start()
    assert await stream.next_event() == ("next", {"data": {"guarded": None}})
    assert connections("sse") == base_connections + 1
    assert connections("http") == 0  # the stream is counted as SSE only
    assert sample("gql_channels_subscriptions") == base_subscriptions + 1
    await clean_layer.group_send(room, {"type": "note", "text": "hi"})
    assert await stream.next_event() == ("next", {"data": {"guarded": "hi"}})
    await stream.disconnect()  # the client goes away
    assert connections("sse") == base_connections
    assert sample("gql_channels_subscriptions") == base_subscriptions
    # count: 2 events and ok; guarded (ended by the disconnect): its null and "hi", ok.
    assert counts.added() == [2, 1, 1, 4]


async def test_sse_single_connection_mode_counts_the_reserved_stream_and_its_operations(clean_layer):
    app = http_app()
    base_connections = connections("sse")
    counts = Samples(operations("sse", "subscription", "ok"), EVENTS)
    reserve = await StreamingRequest(app, "PUT", accept=None).start()
    token = (await reserve.rest()).decode()
    headers = [("X-GraphQL-Event-Stream-Token", token)]
    stream = await StreamingRequest(app, "GET", headers=headers).start()
    assert connections("sse") == base_connections + 1
    started = await StreamingRequest(app, payload={"query": "subscription { count(to: 2) }",
                                                   "extensions": {"operationId": "a"}},
                                     accept="application/json", headers=headers).start()
    await started.rest()
    assert started.status == 202
    for _ in range(3):  # two results and the completion
        await stream.next_event()
    await stream.disconnect()
    assert connections("sse") == base_connections
    assert counts.added() == [1, 2]


# -- opt-in: operation names --------------------------------------------------------------


async def test_operation_names_are_counted_only_when_opted_in():
    named = ("gql_channels_operations_by_name_total",
             {"transport": "http", "operation_type": "query", "operation_name": "Greeting", "outcome": "ok"})
    counts = Samples(named)
    client = GraphQLHTTPCommunicator(http_app())
    await client.query("query Greeting { hello }")
    assert counts.added() == [0]
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "METRICS": True, "METRICS_OPERATION_NAMES": True}):
        await client.query("query Greeting { hello }")
        await client.query("{ hello }")
    assert counts.added() == [1]
    assert sample("gql_channels_operations_by_name_total", transport="http", operation_type="query",
                  operation_name="", outcome="ok") >= 1


async def test_refusals_over_get_and_past_the_operations_limit_are_counted():
    counts = Samples(operations("http", "mutation", "refused"),
                     operations("graphql-transport-ws", "unknown", "refused"))
    refused = await StreamingRequest(http_app(), "GET", accept="application/json",
                                     query_string='query=mutation+%7B+echo%28text%3A+%22x%22%29+%7D').start()
    await refused.rest()
    assert refused.status == 405
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "METRICS": True,
                                         "MAX_OPERATIONS_PER_CONNECTION": 1}):
        async with GraphQLWebsocketCommunicator(make_app(), "/graphql") as client:
            await client.subscribe("subscription ($g: String!) { guarded(group: $g) }", {"g": group()}).start()
            over = [r async for r in client.subscribe("{ hello }")]
            assert "Too many operations" in over[0].errors[0].message
    assert counts.added() == [1, 1]
