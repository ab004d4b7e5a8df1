"""GraphQL over Server-Sent Events (http/sse.py) in process: lifecycle, context, settings.

What a live server and the npm client must see is in tests/e2e/test_sse.py;
here the operations' clean-up, the context resolvers get, keep-alive and the
reservation's expiry are checked against the consumer directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest
from django.test import override_settings

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.http import sse
from django_gql_channels.routing import get_application
from tests import ws_schema
from tests.settings import GQL_CHANNELS
from tests.sse_support import StreamingRequest, request

pytestmark = pytest.mark.usefixtures("clean_layer")

TOKEN = "X-GraphQL-Event-Stream-Token"


def make_app(consumer_class=GraphQLHTTPConsumer, **kwargs):
    kwargs.setdefault("schema", ws_schema.schema)
    return consumer_class.as_asgi(**kwargs)


def group() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


async def subscribe(app, query: str, variables=None, **kwargs) -> StreamingRequest:
    return await StreamingRequest(app, payload={"query": query, "variables": variables}, **kwargs).start()


async def wait_until(condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never true: {what}")


# -- distinct connections mode ---------------------------------------------------------


async def test_confirmed_subscription_gets_group_messages_and_disconnect_stops_it(clean_layer):
    app = make_app()
    room = group()
    stream = await subscribe(app, "subscription ($g: String!) { guarded(group: $g) }", {"g": room})
    assert stream.status == 200
    assert await stream.next_event() == ("next", {"data": {"guarded": None}})  # the confirmation
    await clean_layer.group_send(room, {"type": "note", "text": "hi"})
    assert await stream.next_event() == ("next", {"data": {"guarded": "hi"}})
    await stream.disconnect()
    # The request returned only after the generator's clean-up ran: nothing is left.
    assert ws_schema.EVENTS == [("start", "guarded", room), ("end", "guarded", room)]
    assert clean_layer.groups == {}


async def test_tutorial_style_subscription_runs_unchanged(clean_layer):
    app = make_app()
    room = group()
    stream = await subscribe(app, "subscription ($g: String!) { tutorial(group: $g) }", {"g": room})
    assert await stream.next_event() == ("next", {"data": {"tutorial": None}})
    await clean_layer.group_send(room, {"type": "note", "text": "via ws.channel_name"})
    assert await stream.next_event() == ("next", {"data": {"tutorial": "via ws.channel_name"}})
    await stream.disconnect()
    assert ("end", "tutorial", room) in ws_schema.EVENTS
    assert clean_layer.groups == {}


async def test_context_is_the_http_one_plus_ws_with_headers():
    app = make_app()
    reply = await request(app, payload={"query": '{ contextKeys header(name: "x-who") channelName }'},
                          headers=[("X-Who", "ann")])
    assert b'"contextKeys":["request","response","ws"]' in reply.body
    assert b'"header":"ann"' in reply.body


async def test_get_context_override_and_root_value_apply():
    class Consumer(GraphQLHTTPConsumer):
        async def get_context(self, request, response):
            return {"request": request, "response": response, "extra": 1}

        async def get_root_value(self, request):
            return "the root"

    reply = await request(make_app(Consumer), payload={"query": "{ contextKeys fromRoot }"})
    assert b'"contextKeys":["extra","request","response","ws"]' in reply.body
    assert b'"fromRoot":"the root"' in reply.body


async def test_a_failing_generator_gets_its_error_then_complete(caplog):
    stream = await subscribe(make_app(), "subscription { failAfter(n: 1) }")
    assert await stream.next_event() == ("next", {"data": {"failAfter": 0}})
    with caplog.at_level(logging.ERROR, "django_gql_channels"):
        name, data = await stream.next_event()
    assert name == "next" and data["errors"]
    assert await stream.next_event() == ("complete", None)
    await stream.rest()
    assert stream.ended


async def test_a_subscription_that_cannot_start_streams_its_errors():
    stream = await subscribe(make_app(), "subscription { refused }")
    name, data = await stream.next_event()
    assert name == "next" and "cannot subscribe" in data["errors"][0]["message"]
    assert await stream.next_event() == ("complete", None)


async def test_idle_streams_get_keep_alive_comments():
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SSE_KEEP_ALIVE_INTERVAL": 0.01}):
        stream = await subscribe(make_app(), "subscription ($g: String!) { guarded(group: $g) }", {"g": group()})
        assert (await stream.next_event())[0] == "next"
        assert await stream.next_block() == ":"
        await stream.disconnect()


async def test_response_headers_set_by_resolvers_go_out_with_the_stream():
    from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString

    def login(_root, info):
        info.context["response"].headers["Set-Cookie"] = "session=1"
        return "ok"

    schema = GraphQLSchema(query=GraphQLObjectType("Query", {"login": GraphQLField(GraphQLString, resolve=login)}))
    reply = await request(make_app(schema=schema), payload={"query": "{ login }"})
    assert reply.headers["set-cookie"] == "session=1"


async def test_without_sse_event_stream_only_clients_get_406_and_put_405():
    app = make_app(sse_enabled=False)
    assert (await request(app, payload={"query": "{ hello }"})).status == 406
    assert (await request(app, "PUT", accept=None)).status == 405
    reply = await request(app, payload={"query": "subscription { count(to: 1) }"}, accept=None)
    assert b"Subscriptions are served over WebSocket" in reply.body
    assert b"text/event-stream" not in reply.body


# Without the auth middleware, whose user lookup needs the test database.
NO_AUTH = {**GQL_CHANNELS, "AUTH_MIDDLEWARE": False}


async def test_the_settings_built_application_serves_sse():
    with override_settings(GQL_CHANNELS=NO_AUTH):
        reply = await request(get_application(), payload={"query": "subscription { count(to: 2) }"})
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.body.count(b"event: next") == 2


async def test_sse_enabled_false_in_settings_turns_it_off():
    with override_settings(GQL_CHANNELS={**NO_AUTH, "SSE_ENABLED": False}):
        assert (await request(get_application(), payload={"query": "{ hello }"})).status == 406


# -- single connection mode ---------------------------------------------------------------


async def reserve(app) -> str:
    reply = await request(app, "PUT", accept=None)
    assert reply.status == 201
    return reply.body.decode()


async def post_operation(app, token: str, query: str, op_id: str, variables=None) -> StreamingRequest:
    return await request(app, payload={"query": query, "variables": variables, "extensions": {"operationId": op_id}},
                         accept=None, headers=[(TOKEN, token)])


async def test_the_stream_closing_stops_its_operations_and_leaves_their_groups(clean_layer):
    app = make_app()
    token = await reserve(app)
    stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
    rooms = [group(), group()]
    for i, room in enumerate(rooms):
        reply = await post_operation(app, token, "subscription ($g: String!) { guarded(group: $g) }", f"s{i}",
                                     {"g": room})
        assert reply.status == 202
        # 202 comes once the subscription listens: a message sent now reaches it.
        assert await stream.next_event() == ("next", {"id": f"s{i}", "payload": {"data": {"guarded": None}}})
    await clean_layer.group_send(rooms[1], {"type": "note", "text": "to s1"})
    assert await stream.next_event() == ("next", {"id": "s1", "payload": {"data": {"guarded": "to s1"}}})
    assert len(clean_layer.groups) == 2
    await stream.disconnect()
    assert sorted(e for e in ws_schema.EVENTS if e[0] == "end") == sorted(("end", "guarded", r) for r in rooms)
    assert clean_layer.groups == {}
    assert sse.Reservation.find(token) is None


async def test_operation_context_has_the_reserving_consumer_as_ws():
    app = make_app()
    token = await reserve(app)
    stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
    reply = await post_operation(app, token, '{ contextKeys header(name: "x-graphql-event-stream-token") }', "q")
    assert reply.status == 202
    name, data = await stream.next_event()
    assert data["payload"]["data"] == {"contextKeys": ["request", "response", "ws"], "header": None}
    await stream.disconnect()


async def test_operations_wait_for_the_stream_to_open():
    app = make_app()
    token = await reserve(app)
    assert (await post_operation(app, token, "subscription { count(to: 1) }", "early")).status == 202
    stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
    assert await stream.next_event() == ("next", {"id": "early", "payload": {"data": {"count": 1}}})
    assert await stream.next_event() == ("complete", {"id": "early"})
    await stream.disconnect()


async def test_a_reservation_never_opened_expires_and_stops_its_operations(clean_layer):
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SSE_RESERVATION_TIMEOUT": 0.05}):
        app = make_app()
        token = await reserve(app)
        room = group()
        reply = await post_operation(app, token, "subscription ($g: String!) { guarded(group: $g) }", "s", {"g": room})
        assert reply.status == 202
        await wait_until(lambda: sse.Reservation.find(token) is None, "the reservation expired")
        await wait_until(lambda: ("end", "guarded", room) in ws_schema.EVENTS, "the generator stopped")
        assert clean_layer.groups == {}
        reply = await request(app, "GET", headers=[(TOKEN, token)])
        assert reply.status == 404


async def test_too_many_operations_on_one_stream_get_429():
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "MAX_OPERATIONS_PER_CONNECTION": 1}):
        app = make_app()
        token = await reserve(app)
        stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
        query = "subscription ($g: String!) { guarded(group: $g) }"
        assert (await post_operation(app, token, query, "a", {"g": group()})).status == 202
        reply = await post_operation(app, token, query, "b", {"g": group()})
        assert reply.status == 429 and b"MAX_OPERATIONS_PER_CONNECTION" in reply.body
        await stream.disconnect()


def test_sse_settings_are_checked():
    from django_gql_channels.conf import validate_user_settings

    problems = validate_user_settings({"SCHEMA": "x.y", "SSE_ENABLED": "yes", "SSE_KEEP_ALIVE_INTERVAL": 0,
                                       "SSE_RESERVATION_TIMEOUT": None})
    assert sorted((p.id, p.key) for p in problems) == [("gql_channels.E007", "SSE_ENABLED"),
                                                      ("gql_channels.E007", "SSE_KEEP_ALIVE_INTERVAL"),
                                                      ("gql_channels.E007", "SSE_RESERVATION_TIMEOUT")]
    assert validate_user_settings({"SCHEMA": "x.y", "SSE_KEEP_ALIVE_INTERVAL": None}) == []


def test_accept_parsing():
    assert sse.accepts_event_stream(b"text/event-stream")
    assert sse.accepts_event_stream(b"application/json, Text/Event-Stream;q=0.5")
    assert not sse.accepts_event_stream(b"text/event-stream;q=0")
    assert not sse.accepts_event_stream(b"*/*")
    assert not sse.accepts_event_stream(None)
    assert sse.accepts_text_plain(None) and sse.accepts_text_plain(b"*/*") and sse.accepts_text_plain(b"text/*")
    assert not sse.accepts_text_plain(b"application/json")
    assert not sse.accepts_text_plain(b"text/plain;q=0")


def test_multi_line_data_gets_a_data_field_per_line():
    assert sse.format_event(b"next", '{\n"a": 1\n}') == b'event: next\ndata: {\ndata: "a": 1\ndata: }\n\n'


async def test_persisted_documents_run_over_sse_in_both_modes():
    from example_project.schema import schema as example_schema
    from tests.engine.test_persisted import COUNT_ID, MANIFEST

    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "PERSISTED_DOCUMENTS": str(MANIFEST)}):
        app = make_app(schema=example_schema)
        reply = await request(app, payload={"documentId": COUNT_ID, "variables": {"to": 2}})
        assert reply.body.count(b'event: next\ndata: {"data":{"count":') == 2
        token = await reserve(app)
        stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
        reply = await request(app, payload={"documentId": COUNT_ID, "variables": {"to": 1},
                                            "extensions": {"operationId": "p"}}, accept=None, headers=[(TOKEN, token)])
        assert reply.status == 202
        assert await stream.next_event() == ("next", {"id": "p", "payload": {"data": {"count": 1}}})
        await stream.disconnect()


async def test_streams_carry_cors_headers():
    with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
        reply = await request(make_app(), payload={"query": "subscription { count(to: 1) }"},
                              headers=[("Origin", "https://app.example.com")])
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.headers["access-control-allow-origin"] == "https://app.example.com"


async def test_only_persisted_mode_refuses_free_text_over_sse_in_both_modes():
    from example_project.schema import schema as example_schema
    from tests.engine.test_persisted import COUNT_ID, MANIFEST

    only = {**GQL_CHANNELS, "PERSISTED_DOCUMENTS": str(MANIFEST), "ONLY_PERSISTED_DOCUMENTS": True}
    refusal = {"message": "This server only runs persisted documents: send the document's 'documentId' instead of "
                          "its text.", "extensions": {"code": "PERSISTED_DOCUMENT_REQUIRED"}}
    with override_settings(GQL_CHANNELS=only):
        app = make_app(schema=example_schema)
        # Distinct connections: the stream carries the refusal, then completes.
        refused = await request(app, payload={"query": "subscription { count(to: 2) }"})
        assert refused.status == 200
        assert refused.body == (b"event: next\ndata: " + json.dumps({"errors": [refusal]}, separators=(",", ":"))
                                .encode() + b"\n\nevent: complete\ndata:\n\n")
        # Single connection: the operation's request is refused; a documentId still runs on the stream.
        token = await reserve(app)
        stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
        reply = await request(app, payload={"query": "subscription { count(to: 1) }",
                                            "extensions": {"operationId": "t"}}, accept=None, headers=[(TOKEN, token)])
        assert reply.status == 400 and json.loads(reply.body) == {"errors": [refusal]}
        reply = await request(app, payload={"documentId": COUNT_ID, "variables": {"to": 1},
                                            "extensions": {"operationId": "p"}}, accept=None, headers=[(TOKEN, token)])
        assert reply.status == 202
        assert await stream.next_event() == ("next", {"id": "p", "payload": {"data": {"count": 1}}})
        await stream.disconnect()
