"""``graphql-transport-ws`` through ``GraphQLWebsocketCommunicator``: every message type and close code."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.test import override_settings

from django_gql_channels import UNSET, ConnectionRejectionError, GraphQLWSConsumer
from django_gql_channels.conf import gql_settings
from django_gql_channels.routing import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator, WebSocketClosed
from tests import ws_schema
from tests.ws_support import client_factory, make_app, nesting_reason

pytestmark = pytest.mark.usefixtures("clean_layer")

PROTOCOL = "graphql-transport-ws"


client_for = client_factory(PROTOCOL)


async def expect_close(client: GraphQLWebsocketCommunicator, code: int) -> str:
    with pytest.raises(WebSocketClosed) as info:
        while True:
            await client.receive_json()
    assert info.value.code == code, info.value
    await client.disconnect()
    return info.value.reason


def group() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


# -- connection ----------------------------------------------------------------


async def test_connection_init_is_acknowledged_without_payload():
    client = client_for()
    accepted, subprotocol = await client.connect()
    assert (accepted, subprotocol) == (True, PROTOCOL)
    await client.send_json_to({"type": "connection_init"})
    assert await client.receive_json() == {"type": "connection_ack"}
    await client.disconnect()


async def test_ack_payload_comes_from_on_ws_connect():
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            return {"greeting": f"hi {context['connection_params'].get('name')}"}

    async with client_for(make_app(Consumer), connection_params={"name": "ann"}) as client:
        assert client.ack_payload == {"greeting": "hi ann"}


async def test_on_ws_connect_returning_unset_or_none_sends_no_payload():
    for value in (UNSET, None):
        class Consumer(GraphQLWSConsumer):
            async def on_ws_connect(self, context, value=value):
                return value

        client = client_for(make_app(Consumer))
        await client.connect()
        await client.send_json_to({"type": "connection_init", "payload": None})
        assert await client.receive_json() == {"type": "connection_ack"}
        await client.disconnect()


async def test_values_set_in_on_ws_connect_reach_resolvers():
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            context["user_from_token"] = context["connection_params"]["token"][::-1]

    async with client_for(make_app(Consumer), connection_params={"token": "nna"}) as client:
        result = await client.execute("{ contextKeys }")
        assert result == {"data": {"contextKeys": ["connection_params", "request", "user_from_token", "ws"]}}


async def test_ping_is_answered_with_pong_before_and_after_init():
    client = client_for()
    await client.connect()
    await client.send_json_to({"type": "ping"})
    assert await client.receive_json() == {"type": "pong"}
    await client.send_json_to({"type": "ping", "payload": {"n": 1}})
    assert await client.receive_json() == {"type": "pong", "payload": {"n": 1}}
    await client.gql_init()
    await client.send_json_to({"type": "pong", "payload": {"unsolicited": True}})
    await client.send_json_to({"type": "ping"})
    assert await client.receive_json() == {"type": "pong"}  # the pong got no answer
    await client.disconnect()


async def test_server_pings_when_keep_alive_is_on():
    client = client_for(make_app(keep_alive=True, keep_alive_interval=0.05))
    await client.gql_init()
    assert await client.receive_json() == {"type": "ping"}
    await client.send_json_to({"type": "pong"})
    assert await client.receive_json() == {"type": "ping"}
    await client.disconnect()


async def test_no_subprotocol_is_served_graphql_transport_ws():
    client = client_for(protocol=None)
    accepted, subprotocol = await client.connect()
    assert accepted and subprotocol is None
    await client.send_json_to({"type": "connection_init"})
    assert await client.receive_json() == {"type": "connection_ack"}
    await client.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}})
    assert await client.receive_json() == {"id": "1", "type": "next", "payload": {"data": {"hello": "world"}}}
    await client.disconnect()


async def test_the_servers_preference_picks_among_offered_subprotocols():
    client = client_for(subprotocols=["graphql-ws", PROTOCOL])
    assert await client.connect() == (True, PROTOCOL)
    await client.disconnect()
    client = client_for(make_app(subscription_protocols=["graphql-ws", PROTOCOL]),
                        subprotocols=[PROTOCOL, "graphql-ws"])
    assert await client.connect() == (True, "graphql-ws")
    await client.disconnect()


# -- operations ----------------------------------------------------------------


async def test_query_and_mutation_over_the_socket():
    async with client_for() as client:
        await client.send_json_to({"id": "q", "type": "subscribe", "payload": {"query": "{ hello }"}})
        assert await client.receive_json() == {"id": "q", "type": "next", "payload": {"data": {"hello": "world"}}}
        assert await client.receive_json() == {"id": "q", "type": "complete"}
        await client.send_json_to({"id": "m", "type": "subscribe", "payload": {
            "query": "mutation Echo($t: String!) { echo(text: $t) }", "variables": {"t": "hey"},
            "operationName": "Echo", "extensions": {"ignored": True}}})
        assert await client.receive_json() == {"id": "m", "type": "next", "payload": {"data": {"echo": "hey"}}}
        assert await client.receive_json() == {"id": "m", "type": "complete"}


async def test_subscription_streams_next_then_complete():
    async with client_for() as client:
        await client.send_json_to({"id": "s", "type": "subscribe",
                                   "payload": {"query": "subscription { count(to: 3) }"}})
        for i in (1, 2, 3):
            assert await client.receive_json() == {"id": "s", "type": "next", "payload": {"data": {"count": i}}}
        assert await client.receive_json() == {"id": "s", "type": "complete"}


async def test_validation_and_syntax_errors_are_error_messages_and_the_socket_stays_open():
    async with client_for() as client:
        await client.send_json_to({"id": "v", "type": "subscribe", "payload": {"query": "{ nope }"}})
        message = await client.receive_json()
        assert message["type"] == "error" and message["id"] == "v"
        assert "Cannot query field 'nope'" in message["payload"][0]["message"]
        await client.send_json_to({"id": "x", "type": "subscribe", "payload": {"query": "{"}})
        message = await client.receive_json()
        assert message["type"] == "error" and "Syntax Error" in message["payload"][0]["message"]
        await client.send_json_to({"id": "o", "type": "subscribe",
                                   "payload": {"query": "{ hello }", "operationName": "Missing"}})
        message = await client.receive_json()
        assert message["type"] == "error" and "Unknown operation named 'Missing'" in message["payload"][0]["message"]
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}


async def test_execution_errors_are_next_with_errors():
    async with client_for() as client:
        result = await client.execute("mutation($t: String!) { echo(text: $t) }", {"t": 5})
        assert result["data"] is None and "String cannot represent" in result["errors"][0]["message"]
        results = [r async for r in client.subscribe("subscription { refused }")]
        assert results == [{"data": None, "errors": [
            {"message": "cannot subscribe", "locations": [{"line": 1, "column": 16}], "path": ["refused"]}]}]


async def test_a_failing_generator_errors_its_operation_only():
    async with client_for() as client:
        survivor = client.subscribe(f'subscription {{ guarded(group: "{group()}") }}')
        await survivor.start()
        results = [r async for r in client.subscribe("subscription { failAfter(n: 2) }")]
        assert results[:2] == [{"data": {"failAfter": 0}}, {"data": {"failAfter": 1}}]
        assert results[2]["data"] is None
        assert results[2]["errors"][0]["message"] == "The subscription generator failed."
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
        assert ("end", "guarded") not in [e[:2] for e in ws_schema.EVENTS]


async def test_leading_none_is_sent_as_a_null_result_then_messages_arrive():
    room = group()
    async with client_for() as client:
        subscription = client.subscribe(f'subscription {{ guarded(group: "{room}") }}')
        await subscription.send()
        message = await client.receive_json()
        assert message == {"id": subscription.id, "type": "next", "payload": {"data": {"guarded": None}}}
        await client.execute(f'mutation {{ notify(group: "{room}", text: "first") }}')
        assert await subscription.__anext__() == {"data": {"guarded": "first"}}


async def test_the_confirming_null_comes_before_the_pong_to_a_ping_sent_after_subscribe():
    room = group()
    async with client_for() as client:
        for name in ("guarded", "slowJoin", "tutorial"):
            await client.send_json_to({"id": name, "type": "subscribe",
                                       "payload": {"query": f'subscription {{ {name}(group: "{room}") }}'}})
            await client.send_json_to({"type": "ping"})
            assert await client.receive_json() == {"id": name, "type": "next", "payload": {"data": {name: None}}}
            assert await client.receive_json() == {"type": "pong"}


async def test_a_mutation_sent_right_after_subscribe_is_seen_by_it():
    """Messages are handled in order: the subscription listens before the mutation runs."""
    room = group()
    async with client_for() as client:
        for name in ("guarded", "unconfirmed", "tutorial", "slowJoin"):
            subscription = client.subscribe(f'subscription {{ {name}(group: "{room}") }}')
            await subscription.send()
            await client.send_json_to({"id": f"m-{name}", "type": "subscribe", "payload": {
                "query": f'mutation {{ notify(group: "{room}", text: "{name}") }}'}})
            if name != "unconfirmed":  # the others confirm with a null first
                assert await subscription.__anext__() == {"data": {name: None}}
            assert await subscription.__anext__() == {"data": {name: name}}
            await subscription.complete()


async def test_client_complete_cancels_the_generator_and_leaves_its_groups(clean_layer):
    room = group()
    async with client_for() as client:
        subscription = await client.subscribe(f'subscription {{ guarded(group: "{room}") }}').start()
        assert room in clean_layer.groups
        await subscription.complete()
        await client.round_trip()
        assert ws_schema.EVENTS == [("start", "guarded", room), ("end", "guarded", room)]
        assert room not in clean_layer.groups
        # The id is free again.
        again = await client.subscribe(f'subscription {{ guarded(group: "{room}") }}').start()
        await again.complete()
        await client.send_json_to({"id": "never-started", "type": "complete"})
        await client.round_trip()


async def test_disconnect_cancels_generators_and_leaves_groups(clean_layer):
    rooms = [group(), group()]
    client = client_for()
    await client.gql_init()
    for room in rooms:
        await client.subscribe(f'subscription {{ guarded(group: "{room}") }}').start()
    await client.subscribe(f'subscription {{ tutorial(group: "{rooms[0]}") }}').start()
    assert set(rooms) <= set(clean_layer.groups)
    await client.disconnect()
    assert sorted(e for e in ws_schema.EVENTS if e[0] == "end") == sorted(
        [("end", "guarded", rooms[0]), ("end", "guarded", rooms[1]), ("end", "tutorial", rooms[0])])
    assert clean_layer.groups == {}
    assert clean_layer.channels == {}


async def test_tutorial_style_subscription_uses_ws_channel_name(clean_layer):
    room = group()
    async with client_for() as client:
        channel = (await client.execute("{ channelName }"))["data"]["channelName"]
        assert channel.startswith("specific.")
        subscription = await client.subscribe(f'subscription {{ tutorial(group: "{room}") }}').start()
        assert list(clean_layer.groups[room]) == [channel]
        await clean_layer.group_send(room, {"type": "note", "text": "from the layer"})
        assert await subscription.__anext__() == {"data": {"tutorial": None}}
        assert await subscription.__anext__() == {"data": {"tutorial": "from the layer"}}


async def test_a_slow_subscription_does_not_stall_the_socket_forever():
    class Consumer(GraphQLWSConsumer):
        confirm_timeout = 0.05

    async with client_for(make_app(Consumer)) as client:
        subscription = client.subscribe("subscription { sleepy(seconds: 30) }")
        await subscription.send()
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
        await subscription.complete()
        await client.round_trip()
        assert ws_schema.EVENTS == [("start", "sleepy", 30.0), ("end", "sleepy", 30.0)]


async def test_too_many_operations_are_refused_one_by_one():
    with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "MAX_OPERATIONS_PER_CONNECTION": 2}):
        async with client_for(make_app()) as client:
            first = await client.subscribe(f'subscription {{ guarded(group: "{group()}") }}').start()
            await client.subscribe(f'subscription {{ guarded(group: "{group()}") }}').start()
            refused = [r async for r in client.subscribe("{ hello }")]
            assert refused[0]["data"] is None
            assert "MAX_OPERATIONS_PER_CONNECTION" in refused[0]["errors"][0]["message"]
            await first.complete()
            await client.round_trip()
            assert await client.execute("{ hello }") == {"data": {"hello": "world"}}


async def test_context_scope_headers_and_root_value():
    class Consumer(GraphQLWSConsumer):
        async def get_root_value(self, request):
            return f"root of {request.scope['path']}"

    client = client_for(make_app(Consumer), connection_params={"lang": "fr"},
                        headers=[(b"origin", b"http://testserver"), (b"x-token", b"abc")])
    async with client:
        result = await client.execute('{ contextKeys connectionParam(key: "lang") header(name: "x-token") '
                                      "fromRoot me }")
        assert result == {"data": {"contextKeys": ["connection_params", "request", "ws"], "connectionParam": "fr",
                                   "header": "abc", "fromRoot": "root of /graphql", "me": None}}


async def test_the_consumer_exposes_the_handshake_headers_case_insensitively():
    from django.utils.datastructures import CaseInsensitiveMapping

    seen = {}

    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            seen["headers"] = context["ws"].headers
            return await super().on_ws_connect(context)

    client = client_for(make_app(Consumer), headers=[(b"origin", b"http://testserver"), (b"x-token", b"abc"),
                                                     (b"accept-language", b"fr"), (b"accept-language", b"en")])
    async with client:
        assert await client.execute('{ header(name: "X-Token") }') == {"data": {"header": "abc"}}
        headers = seen["headers"]
        assert isinstance(headers, CaseInsensitiveMapping)
        assert headers["ORIGIN"] == "http://testserver" and headers["Accept-Language"] == "fr, en"
        assert "x-missing" not in headers


@pytest.mark.django_db(transaction=True)
async def test_user_and_session_from_auth_middleware():
    from asgiref.sync import sync_to_async
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    def login() -> str:
        get_user_model().objects.create_user("ann", password="pw")
        http = Client()
        assert http.login(username="ann", password="pw")
        return http.cookies[settings.SESSION_COOKIE_NAME].value

    session_key = await sync_to_async(login)()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()
    client = client_for(headers=[(b"origin", b"http://testserver"), (b"cookie", cookie)])
    async with client:
        result = await client.execute("{ me sessionKey }")
        assert result == {"data": {"me": "ann", "sessionKey": session_key}}


async def test_the_settings_application_serves_the_example_schema():
    app = get_application()
    client = GraphQLWebsocketCommunicator(app, "/graphql", connection_params={"k": "v"})
    async with client:
        assert await client.execute('{ hello connectionParam(key: "k") }') == {
            "data": {"hello": "Hello, world!", "connectionParam": "v"}}


async def test_binary_frames_are_read_as_utf8_json():
    async with client_for() as client:
        await client.send_to(bytes_data=b'{"type": "subscribe", "id": "b", "payload": {"query": "{ hello }"}}')
        assert await client.receive_json() == {"id": "b", "type": "next", "payload": {"data": {"hello": "world"}}}


# -- close codes ---------------------------------------------------------------

INVALID_MESSAGES = [
    pytest.param("not json", "Invalid JSON", id="not-json"),
    pytest.param("[" * 5000 + "]" * 5000, nesting_reason("[" * 5000 + "]" * 5000), id="deeply-nested"),
    pytest.param('{"a":' * 100000 + "1" + "}" * 100000, "nested too deeply", id="deeply-nested-objects"),
    pytest.param("[]", "expected to be an object, but got array", id="array"),
    pytest.param("3", "but got number", id="number"),
    pytest.param('"text"', "but got string", id="string"),
    pytest.param("null", "but got null", id="null"),
    pytest.param("{}", "missing the 'type'", id="no-type"),
    pytest.param('{"type": "unknown"}', "Invalid message 'type' property 'unknown'", id="unknown-type"),
    pytest.param('{"type": 7}', "Invalid message 'type' property 7", id="type-not-string"),
    pytest.param('{"type": "next", "id": "1", "payload": {}}', "Unexpected message of type 'next'", id="next"),
    pytest.param('{"type": "connection_ack"}', "Unexpected message of type 'connection_ack'", id="ack"),
    pytest.param('{"type": "error", "id": "1", "payload": []}', "Unexpected message of type 'error'", id="error"),
    pytest.param('{"type": "subscribe", "payload": {"query": "{ hello }"}}', "'id' property to be a string",
                 id="subscribe-no-id"),
    pytest.param('{"type": "subscribe", "id": "", "payload": {"query": "{ hello }"}}', "non-empty 'id'",
                 id="subscribe-empty-id"),
    pytest.param('{"type": "subscribe", "id": 1, "payload": {"query": "{ hello }"}}', "but got number",
                 id="subscribe-numeric-id"),
    pytest.param('{"type": "subscribe", "id": "1"}', "'payload' property to be an object", id="no-payload"),
    pytest.param('{"type": "subscribe", "id": "1", "payload": {}}', "'query' to be a string", id="no-query"),
    pytest.param('{"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "variables": []}}',
                 "'variables' to be an object", id="variables-array"),
    pytest.param('{"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "operationName": 1}}',
                 "'operationName' to be a string", id="operation-name-number"),
    pytest.param('{"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "extensions": "x"}}',
                 "'extensions' to be an object", id="extensions-string"),
    pytest.param('{"type": "complete"}', "'id' property to be a string", id="complete-no-id"),
    pytest.param('{"type": "ping", "payload": 1}', "'ping' payload", id="ping-payload"),
    pytest.param('{"type": "pong", "payload": "x"}', "'pong' payload", id="pong-payload"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID_MESSAGES)
async def test_invalid_messages_close_with_4400_and_a_reason(text, reason):
    client = client_for()
    await client.gql_init()
    await client.send_to(text_data=text)
    assert reason in await expect_close(client, 4400)


async def test_invalid_connection_init_payload_closes_with_4400():
    client = client_for()
    await client.connect()
    await client.send_json_to({"type": "connection_init", "payload": "token"})
    assert "'connection_init' payload must be an object" in await expect_close(client, 4400)


async def test_non_utf8_binary_frame_closes_with_4400():
    client = client_for()
    await client.gql_init()
    await client.send_to(bytes_data=b"\xff\xfe")
    assert "UTF-8" in await expect_close(client, 4400)


async def test_subscribe_before_ack_closes_with_4401():
    client = client_for()
    await client.connect()
    await client.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}})
    assert await expect_close(client, 4401) == "Unauthorized"


@pytest.mark.parametrize(("payload", "reason"), [
    ({"message": "Invalid token"}, '{"message":"Invalid token"}'),
    ("Go away", "Go away"),
    (None, "Forbidden"),
])
async def test_rejection_closes_with_4403(payload, reason):
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            raise ConnectionRejectionError(payload)

    client = client_for(make_app(Consumer))
    with pytest.raises(ConnectionRejectionError) as info:
        await client.gql_init()
    assert info.value.payload == reason
    assert client.close_code == 4403
    await client.disconnect()


async def test_unacceptable_subprotocol_closes_with_4406():
    client = client_for(subprotocols=["mqtt", "wamp"])
    accepted, subprotocol = await client.connect()
    assert accepted and subprotocol is None
    assert await expect_close(client, 4406) == "Subprotocol not acceptable"
    client = client_for(make_app(subscription_protocols=["graphql-ws"]))
    await client.connect()
    await expect_close(client, 4406)


async def test_no_connection_init_in_time_closes_with_4408():
    client = client_for(make_app(connection_init_wait_timeout=0.05))
    await client.connect()
    assert await expect_close(client, 4408) == "Connection initialisation timeout"


async def test_init_in_time_is_not_closed_later():
    client = client_for(make_app(connection_init_wait_timeout=0.05))
    await client.gql_init()
    await asyncio.sleep(0.1)
    assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    await client.disconnect()


async def test_duplicate_operation_id_closes_with_4409():
    client = client_for()
    await client.gql_init()
    await client.subscribe(f'subscription {{ guarded(group: "{group()}") }}').start()  # id "1"... runs
    await client.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}})
    assert await expect_close(client, 4409) == "Subscriber for 1 already exists"
    assert ("end", "guarded") in [e[:2] for e in ws_schema.EVENTS]


async def test_second_connection_init_closes_with_4429():
    client = client_for()
    await client.gql_init()
    await client.send_json_to({"type": "connection_init"})
    assert await expect_close(client, 4429) == "Too many initialisation requests"


async def test_server_failure_closes_with_4500():
    class Consumer(GraphQLWSConsumer):
        async def get_context(self, request, connection_params):
            raise RuntimeError("secret detail")

    client = client_for(make_app(Consumer))
    await client.connect()
    await client.send_json_to({"type": "connection_init"})
    assert await expect_close(client, 4500) == "Internal server error"
    client = client_for(make_app(Consumer, debug=True))
    await client.connect()
    await client.send_json_to({"type": "connection_init"})
    assert "secret detail" in await expect_close(client, 4500)


async def test_close_reasons_are_cut_to_123_bytes_on_a_character_boundary():
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            raise ConnectionRejectionError("é" * 100)  # 200 bytes

    client = client_for(make_app(Consumer))
    with pytest.raises(ConnectionRejectionError) as info:
        await client.gql_init()
    reason = info.value.payload
    assert reason == "é" * 61 and len(reason.encode()) == 122
    await client.disconnect()


async def test_after_a_close_nothing_else_is_handled():
    client = client_for()
    await client.gql_init()
    await client.send_to(text_data="nonsense")
    await client.send_json_to({"id": "late", "type": "subscribe", "payload": {"query": "{ hello }"}})
    await expect_close(client, 4400)
    assert client.output_queue.empty()


async def test_a_generator_that_ignores_cancellation_cannot_hold_the_socket(caplog):
    release = asyncio.Event()

    async def stubborn(_root, _info):
        yield None
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass  # wrong, but users write it
        yield 1

    from graphql import GraphQLField, GraphQLInt, GraphQLObjectType, GraphQLSchema

    schema = GraphQLSchema(
        query=ws_schema.Query,
        subscription=GraphQLObjectType("Subscription", {"stubborn": GraphQLField(
            GraphQLInt, subscribe=stubborn, resolve=lambda value, _info: value)}),
    )

    class Consumer(GraphQLWSConsumer):
        cleanup_timeout = 0.05

    async with client_for(make_app(Consumer, schema=schema)) as client:
        subscription = await client.subscribe("subscription { stubborn }").start()
        await subscription.complete()
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    assert "did not finish within 0.05s of being cancelled" in caplog.text
    release.set()
    stragglers = [t for t in asyncio.all_tasks() if "_run_subscription" in repr(t)]
    for task in stragglers:
        task.cancel()
    await asyncio.gather(*stragglers, return_exceptions=True)
    assert all(task.done() for task in stragglers)
