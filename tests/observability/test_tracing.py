"""``TRACING``: one OpenTelemetry span per operation on every transport, read from an in-memory exporter."""

from __future__ import annotations

import uuid

import pytest
from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.testing import GraphQLHTTPCommunicator, GraphQLWebsocketCommunicator
from tests import ws_schema
from tests.sse_support import StreamingRequest
from tests.ws_support import make_app

pytestmark = pytest.mark.usefixtures("clean_layer")

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _traced(_root, _info):
    with trace.get_tracer("tests").start_as_current_span("resolver work"):
        return "done"


traced_schema = GraphQLSchema(query=GraphQLObjectType("Query", {
    "traced": GraphQLField(GraphQLString, resolve=_traced),
    "hello": GraphQLField(GraphQLString, resolve=lambda *_: "world"),
}))


def finished(exporter, name: str):
    found = [span for span in exporter.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


async def test_an_http_operation_continues_the_requests_traceparent(observed):
    client = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=traced_schema),
                                     headers={"traceparent": TRACEPARENT})
    assert (await client.query("query Work { traced }")).data == {"traced": "done"}
    span = finished(observed, "query Work")
    assert dict(span.attributes) == {"graphql.operation.type": "query", "graphql.operation.name": "Work",
                                     "graphql.transport": "http"}
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.kind == SpanKind.SERVER
    assert span.status.status_code == StatusCode.UNSET
    # The resolver's own span is the operation's child.
    assert finished(observed, "resolver work").parent.span_id == span.context.span_id


async def test_without_traceparent_an_unnamed_operation_starts_a_trace_named_by_its_type(observed):
    client = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=traced_schema))
    await client.query("{ hello }")
    span = finished(observed, "query")
    assert span.parent is None
    assert "graphql.operation.name" not in span.attributes


async def test_errors_are_recorded_on_the_span(observed):
    client = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema))
    assert (await client.query("query Broken { channelName }")).errors
    span = finished(observed, "query Broken")
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    await client.query("{ nope }")  # refused by validation, before its type is read
    refused = finished(observed, "GraphQL Operation")
    assert refused.status.status_code == StatusCode.ERROR
    assert refused.attributes["graphql.transport"] == "http"


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_subscriptions_span_covers_its_lifetime_with_an_event_per_result(observed, protocol):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"traceparent", TRACEPARENT.encode())]
    async with GraphQLWebsocketCommunicator(make_app(), "/graphql", protocol=protocol, headers=headers) as client:
        results = [r.data async for r in client.subscribe("subscription Counting { count(to: 3) }")]
        assert len(results) == 3
        assert [r.data async for r in client.subscribe("query Hi { hello }")] == [{"hello": "world"}]
    span = finished(observed, "subscription Counting")
    assert span.attributes["graphql.transport"] == protocol
    assert span.attributes["graphql.subscription.events"] == 3
    assert [event.name for event in span.events] == ["graphql.subscription.event"] * 3
    # The handshake's traceparent is the parent of every operation on the socket.
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(finished(observed, "query Hi").parent.span_id, "016x") == PARENT_ID


async def test_a_failing_subscription_and_an_abrupt_disconnect_end_their_spans(observed):
    client = GraphQLWebsocketCommunicator(make_app(), "/graphql")
    await client.gql_init()
    failing = [r async for r in client.subscribe("subscription Failing { failAfter(n: 1) }")]
    assert failing[-1].errors
    listening = client.subscribe("subscription Listening ($g: String!) { guarded(group: $g) }",
                                 {"g": f"g{uuid.uuid4().hex}"})
    await listening.start()
    await client.disconnect(code=1006)
    span = finished(observed, "subscription Failing")
    assert span.status.status_code == StatusCode.ERROR
    assert "exception" in [event.name for event in span.events]
    ended = finished(observed, "subscription Listening")
    assert ended.status.status_code == StatusCode.UNSET
    assert ended.attributes["graphql.subscription.events"] == 1  # its confirming null


async def test_an_sse_subscription_has_its_span_with_the_requests_parent(observed):
    app = GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema)
    stream = await StreamingRequest(app, payload={"query": "subscription Two { count(to: 2) }"},
                                    headers=[("traceparent", TRACEPARENT)]).start()
    await stream.rest()
    span = finished(observed, "subscription Two")
    assert span.attributes["graphql.transport"] == "sse"
    assert span.attributes["graphql.subscription.events"] == 2
    assert format(span.parent.span_id, "016x") == PARENT_ID
