"""Apollo's multipart HTTP subscriptions (http/multipart_subscriptions.py) in process.

The framing (delimiters, part headers, heartbeats, the close delimiter), what
each kind of request gets with that ``Accept``, the shared lifecycle's
clean-up on disconnect and the settings. Apollo Client itself, against live
servers, is in tests/e2e/test_multipart_subscriptions.py.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from django.test import override_settings

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.conf import validate_user_settings
from django_gql_channels.http.multipart_subscriptions import MultipartSink, accepts_multipart_subscriptions
from django_gql_channels.routing import get_application
from tests import ws_schema
from tests.multipart_support import CONTENT_TYPE, END, ONLY_MULTIPART, MultipartRequest, split_parts
from tests.settings import GQL_CHANNELS
from tests.sse_support import request

pytestmark = pytest.mark.usefixtures("clean_layer")

GUARDED = "subscription ($g: String!) { guarded(group: $g) }"


def make_app(**kwargs):
    kwargs.setdefault("schema", ws_schema.schema)
    return GraphQLHTTPConsumer.as_asgi(**kwargs)


def group() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


async def subscribe(app, query: str, variables=None, **kwargs) -> MultipartRequest:
    return await MultipartRequest(app, payload={"query": query, "variables": variables}, **kwargs).start()


@pytest.mark.parametrize(("accept", "accepted"), [
    ("multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json", True),  # Apollo Client
    ('multipart/mixed;subscriptionSpec="1.0", application/json', True),  # Apollo's docs
    ('multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"', True),
    ("application/json, MULTIPART/MIXED;SUBSCRIPTIONSPEC=1.0", True),
    ("multipart/mixed;subscriptionSpec=1.0;q=0", False),
    ("multipart/mixed;subscriptionSpec=2.0", False),
    ("multipart/mixed;deferSpec=20220824,application/json", False),
    ("multipart/mixed", False),
    ("text/plain;subscriptionSpec=1.0", False),
    (None, False),
])
def test_accept_values(accept, accepted):
    assert accepts_multipart_subscriptions(accept.encode() if accept else None) is accepted


async def test_a_subscription_streams_payload_parts_and_disconnect_stops_it(clean_layer):
    room = group()
    stream = await subscribe(make_app(), GUARDED, {"g": room})
    assert stream.status == 200
    assert stream.headers["content-type"] == CONTENT_TYPE
    assert stream.headers["cache-control"] == "no-cache"
    assert await stream.next_part() == {"payload": {"data": {"guarded": None}}}  # the confirmation
    await clean_layer.group_send(room, {"type": "note", "text": "hi"})
    assert await stream.next_part() == {"payload": {"data": {"guarded": "hi"}}}
    await stream.disconnect()
    assert ("end", "guarded", room) in ws_schema.EVENTS  # the generator's finally ran before the request ended
    assert clean_layer.groups.get(room, {}) == {}


async def test_each_part_is_sent_with_the_delimiter_that_ends_it(clean_layer):
    # A client splits on delimiters: a part whose delimiter waited for the next part would be read late.
    room = group()
    stream = await subscribe(make_app(), GUARDED, {"g": room})
    await stream.next_part()
    await clean_layer.group_send(room, {"type": "note", "text": "now"})
    await stream.next_part()
    assert stream.body.endswith(b'{"payload":{"data":{"guarded":"now"}}}\r\n--graphql')
    await stream.disconnect()


async def test_a_subscription_that_ends_closes_with_the_close_delimiter():
    reply = await request(make_app(), payload={"query": "subscription { count(to: 3) }"},
                          accept=ONLY_MULTIPART)
    assert reply.headers["content-type"] == CONTENT_TYPE
    assert split_parts(reply.body) == [{"payload": {"data": {"count": n}}} for n in (1, 2, 3)] + [END]
    assert reply.body == (b'\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n'
                          b'{"payload":{"data":{"count":1}}}\r\n--graphql\r\n'
                          b'content-type: application/json; charset=utf-8\r\n\r\n'
                          b'{"payload":{"data":{"count":2}}}\r\n--graphql\r\n'
                          b'content-type: application/json; charset=utf-8\r\n\r\n'
                          b'{"payload":{"data":{"count":3}}}\r\n--graphql--\r\n')


async def test_idle_subscriptions_get_heartbeats():
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "MULTIPART_HEARTBEAT_INTERVAL": 0.01}):
        stream = await subscribe(make_app(), GUARDED, {"g": group()})
        assert await stream.next_part() == {"payload": {"data": {"guarded": None}}}
        assert await stream.next_part() == {}
        assert await stream.next_part() == {}
        await stream.disconnect()


async def test_a_failing_generator_ends_with_a_transport_level_error(caplog):
    stream = await subscribe(make_app(), "subscription { failAfter(n: 1) }")
    assert await stream.next_part() == {"payload": {"data": {"failAfter": 0}}}
    with caplog.at_level(logging.ERROR, "django_gql_channels"):
        failed = await stream.next_part()
    assert failed["payload"] is None and failed["errors"][0]["message"]
    assert await stream.next_part() == END


async def test_a_subscription_that_cannot_start_gets_its_errors_as_a_payload():
    stream = await subscribe(make_app(), "subscription { refused }")
    part = await stream.next_part()
    assert "cannot subscribe" in part["payload"]["errors"][0]["message"]
    assert await stream.next_part() == END


async def test_queries_and_request_errors_are_plain_json_when_json_is_acceptable():
    # Apollo Client reads a JSON reply to any request, multipart or not.
    app = make_app()
    for payload, expected in (({"query": "{ hello }"}, b'{"data":{"hello":"world"}}'),
                              ({"query": "mutation { echo(text: \"x\") }"}, b'{"data":{"echo":"x"}}')):
        reply = await request(app, payload=payload, accept="multipart/mixed;subscriptionSpec=1.0,application/json")
        assert reply.headers["content-type"] == "application/json; charset=utf-8"
        assert reply.body == expected
    reply = await request(app, payload={"query": "subscription { nope }"},
                          accept="multipart/mixed;subscriptionSpec=1.0,application/json")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json; charset=utf-8"
    assert b"Cannot query field 'nope'" in reply.body


async def test_with_only_multipart_acceptable_everything_is_one_part():
    app = make_app()
    reply = await request(app, payload={"query": "{ hello }"}, accept=ONLY_MULTIPART)
    assert reply.status == 200
    assert split_parts(reply.body) == [{"payload": {"data": {"hello": "world"}}}, END]
    reply = await request(app, payload={"query": "{ nope }"}, accept=ONLY_MULTIPART)
    assert reply.status == 200
    [part, end] = split_parts(reply.body)
    assert part["payload"]["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert "data" not in part["payload"] and end == END


async def test_subscriptions_over_get():
    reply = await request(make_app(), "GET", query_string="query=subscription%7Bcount(to%3A1)%7D",
                          accept=ONLY_MULTIPART)
    assert split_parts(reply.body) == [{"payload": {"data": {"count": 1}}}, END]


async def test_a_subscription_without_subscription_spec_is_told_where_subscriptions_are():
    reply = await request(make_app(), payload={"query": "subscription { count(to: 1) }"},
                          accept="multipart/mixed, application/json")
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    message = reply.body.decode()
    assert "Subscriptions are served over WebSocket" in message
    assert "subscriptionSpec" in message


async def test_turned_off_multipart_subscriptions_are_refused_as_before():
    app = make_app(multipart_subscriptions_enabled=False)
    reply = await request(app, payload={"query": "subscription { count(to: 1) }"},
                          accept="multipart/mixed;subscriptionSpec=1.0,application/json")
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert b"Subscriptions are served over WebSocket" in reply.body and b"subscriptionSpec" not in reply.body
    assert (await request(app, payload={"query": "{ hello }"}, accept=ONLY_MULTIPART)).status == 406


async def test_the_settings_switch():
    settings = {**GQL_CHANNELS, "AUTH_MIDDLEWARE": False}
    payload = {"query": "subscription { count(to: 2) }"}
    with override_settings(GQL_CHANNELS=settings):
        reply = await request(get_application(), payload=payload, accept=ONLY_MULTIPART)
    assert reply.headers["content-type"] == CONTENT_TYPE
    with override_settings(GQL_CHANNELS={**settings, "MULTIPART_SUBSCRIPTIONS_ENABLED": False}):
        assert (await request(get_application(), payload=payload, accept=ONLY_MULTIPART)).status == 406


async def test_the_context_has_ws_as_over_sse():
    reply = await request(make_app(), payload={"query": "{ contextKeys }"}, accept=ONLY_MULTIPART)
    assert split_parts(reply.body)[0] == {"payload": {"data": {"contextKeys": ["request", "response", "ws"]}}}


def test_settings_are_validated():
    problems = validate_user_settings({"SCHEMA": "x.y", "MULTIPART_SUBSCRIPTIONS_ENABLED": "yes",
                                       "MULTIPART_HEARTBEAT_INTERVAL": 0})
    assert sorted(p.key for p in problems) == ["MULTIPART_HEARTBEAT_INTERVAL", "MULTIPART_SUBSCRIPTIONS_ENABLED"]
    assert validate_user_settings({"SCHEMA": "x.y", "MULTIPART_HEARTBEAT_INTERVAL": None}) == []


async def test_shared_results_send_the_same_part_bytes(clean_layer, monkeypatch):
    room = group()
    shared_sends = []
    send_shared = MultipartSink.send_next_shared

    async def counting(self, op_id, result):
        shared_sends.append(result)
        await send_shared(self, op_id, result)

    monkeypatch.setattr(MultipartSink, "send_next_shared", counting)
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SHARED_SUBSCRIPTION_RESULTS": True}):
        app = make_app()
        first, second = [await subscribe(app, GUARDED, {"g": room}) for _ in range(2)]
        for stream in (first, second):
            assert await stream.next_part() == {"payload": {"data": {"guarded": None}}}
        await clean_layer.group_send(room, {"type": "note", "text": "shared"})
        for stream in (first, second):
            assert await stream.next_part() == {"payload": {"data": {"guarded": "shared"}}}
        assert first.body == second.body
        assert len(shared_sends) == 4 and shared_sends[2] is shared_sends[3]  # one result, encoded once
        await first.disconnect()
        await second.disconnect()


async def test_cors_headers_and_resolver_headers_go_out_with_the_stream():
    from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString

    async def ticks(_root, info):
        info.context["response"].headers["X-Stream"] = "1"
        yield "tick"

    schema = GraphQLSchema(
        query=GraphQLObjectType("Query", {"hello": GraphQLField(GraphQLString)}),
        subscription=GraphQLObjectType("Subscription", {
            "tick": GraphQLField(GraphQLString, subscribe=ticks, resolve=lambda value, _info: value)}))
    with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example"]):
        reply = await request(make_app(schema=schema), payload={"query": "subscription { tick }"},
                              headers=[("Origin", "https://app.example")], accept=ONLY_MULTIPART)
    assert reply.headers["access-control-allow-origin"] == "https://app.example"
    assert reply.headers["x-stream"] == "1"
    assert split_parts(reply.body) == [{"payload": {"data": {"tick": "tick"}}}, END]
