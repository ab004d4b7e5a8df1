"""The legacy ``graphql-ws`` (subscriptions-transport-ws) protocol through the communicator."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from django_gql_channels import ConnectionRejectionError, GraphQLWSConsumer
from django_gql_channels.conf import gql_settings
from django_gql_channels.testing import GraphQLWebsocketCommunicator, WebSocketClosed
from tests import ws_schema
from tests.ws_support import client_factory, make_app, nesting_reason

pytestmark = pytest.mark.usefixtures("clean_layer")

PROTOCOL = "graphql-ws"


client_for = client_factory(PROTOCOL)


async def expect_close(client, code: int) -> str:
    with pytest.raises(WebSocketClosed) as info:
        while True:
            await client.receive_json()
    assert info.value.code == code, info.value
    await client.disconnect()
    return info.value.reason


def group() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


async def started_client(**kwargs) -> GraphQLWebsocketCommunicator:
    client = client_for(**kwargs)
    assert await client.connect() == (True, PROTOCOL)
    await client.send_json_to({"type": "connection_init", "payload": {}})
    assert await client.receive_json() == {"type": "connection_ack"}
    return client


async def test_connection_init_ack_and_keep_alive():
    client = client_for(make_app(keep_alive=True, keep_alive_interval=0.05))
    await client.connect()
    await client.send_json_to({"type": "connection_init"})
    assert await client.receive_json() == {"type": "connection_ack"}
    assert await client.receive_json() == {"type": "ka"}  # at once
    assert await client.receive_json() == {"type": "ka"}  # then every interval
    await client.disconnect()


async def test_no_keep_alive_by_default():
    client = await started_client()
    await client.send_json_to({"id": "1", "type": "start", "payload": {"query": "{ hello }"}})
    assert (await client.receive_json())["type"] == "data"
    await client.disconnect()


async def test_ack_payload_from_on_ws_connect():
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            return {"server": "legacy"}

    async with client_for(make_app(Consumer)) as client:
        assert client.ack_payload == {"server": "legacy"}


async def test_query_and_mutation_give_data_then_complete():
    client = await started_client()
    await client.send_json_to({"id": "q", "type": "start", "payload": {"query": "{ hello }"}})
    assert await client.receive_json() == {"type": "data", "id": "q", "payload": {"data": {"hello": "world"}}}
    assert await client.receive_json() == {"type": "complete", "id": "q"}
    await client.send_json_to({"id": "m", "type": "start", "payload": {
        "query": "mutation M($t: String!) { echo(text: $t) }", "variables": {"t": "x"}, "operationName": "M"}})
    assert await client.receive_json() == {"type": "data", "id": "m", "payload": {"data": {"echo": "x"}}}
    assert await client.receive_json() == {"type": "complete", "id": "m"}
    await client.disconnect()


async def test_subscription_data_then_complete():
    async with client_for() as client:
        assert [r async for r in client.subscribe("subscription { count(to: 3) }")] == [
            {"data": {"count": i}} for i in (1, 2, 3)]


async def test_stop_is_answered_by_complete_and_cancels_the_generator(clean_layer):
    room = group()
    client = await started_client()
    await client.send_json_to({"id": "s", "type": "start",
                               "payload": {"query": f'subscription {{ guarded(group: "{room}") }}'}})
    await client.round_trip()
    assert room in clean_layer.groups
    await client.send_json_to({"id": "s", "type": "stop"})
    assert await client.receive_json() == {"type": "complete", "id": "s"}
    assert ws_schema.EVENTS == [("start", "guarded", room), ("end", "guarded", room)]
    assert room not in clean_layer.groups
    await client.send_json_to({"id": "unknown", "type": "stop"})  # nothing to stop: no answer
    await client.round_trip()
    assert client.output_queue.empty()
    await client.disconnect()


async def test_the_leading_none_is_a_null_data_message_then_messages_arrive():
    room = group()
    async with client_for() as client:
        subscription = client.subscribe(f'subscription {{ guarded(group: "{room}") }}')
        await subscription.send()
        message = await client.receive_json()
        assert message == {"id": subscription.id, "type": "data", "payload": {"data": {"guarded": None}}}
        await client.execute(f'mutation {{ notify(group: "{room}", text: "hello") }}')
        assert await subscription.__anext__() == {"data": {"guarded": "hello"}}
        await subscription.complete()


async def test_validation_errors_are_error_messages():
    client = await started_client()
    await client.send_json_to({"id": "v", "type": "start", "payload": {"query": "{ nope }"}})
    message = await client.receive_json()
    assert message["type"] == "error" and message["id"] == "v"
    assert "Cannot query field 'nope'" in message["payload"]["message"]
    assert message["payload"]["errors"][0]["message"] == message["payload"]["message"]
    await client.disconnect()


async def test_execution_errors_are_data_with_errors():
    async with client_for() as client:
        result = await client.execute("mutation($t: String!) { echo(text: $t) }", {"t": 1})
        assert result["data"] is None and result["errors"]


async def test_a_failing_generator_errors_its_operation_only():
    async with client_for() as client:
        results = [r async for r in client.subscribe("subscription { failAfter(n: 1) }")]
        assert results[0] == {"data": {"failAfter": 0}}
        assert results[1]["errors"][0]["message"] == "The subscription generator failed."
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}


async def test_start_with_a_running_id_replaces_the_operation():
    room = group()
    client = await started_client()
    await client.send_json_to({"id": "1", "type": "start",
                               "payload": {"query": f'subscription {{ guarded(group: "{room}") }}'}})
    # The subscription has started (its confirming null is sent) before the second start is read.
    assert await client.receive_json() == {"type": "data", "id": "1", "payload": {"data": {"guarded": None}}}
    await client.send_json_to({"id": "1", "type": "start", "payload": {"query": "{ hello }"}})
    assert await client.receive_json() == {"type": "data", "id": "1", "payload": {"data": {"hello": "world"}}}
    assert await client.receive_json() == {"type": "complete", "id": "1"}
    assert ("end", "guarded", room) in ws_schema.EVENTS
    await client.disconnect()


async def test_start_before_init_is_an_error_for_that_operation():
    client = client_for()
    await client.connect()
    await client.send_json_to({"id": "early", "type": "start", "payload": {"query": "{ hello }"}})
    message = await client.receive_json()
    assert message["type"] == "error" and message["id"] == "early"
    assert "connection_init" in message["payload"]["message"]
    await client.gql_init()
    assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    await client.disconnect()


CONNECTION_ERRORS = [
    pytest.param("not json", "Invalid JSON", id="not-json"),
    pytest.param("[" * 5000 + "]" * 5000, nesting_reason("[" * 5000 + "]" * 5000), id="deeply-nested"),
    pytest.param('{"a":' * 100000 + "1" + "}" * 100000, "nested too deeply", id="deeply-nested-objects"),
    pytest.param("[1]", "but got array", id="array"),
    pytest.param("null", "but got null", id="null"),
    pytest.param('{"type": "bogus"}', "Invalid message type 'bogus'", id="unknown-type-no-id"),
    pytest.param('{"type": "start", "payload": {"query": "{ hello }"}}', "needs an 'id'", id="start-no-id"),
    pytest.param('{"type": "stop"}', "needs an 'id'", id="stop-no-id"),
]


@pytest.mark.parametrize(("text", "message"), CONNECTION_ERRORS)
async def test_malformed_messages_get_connection_error_and_the_socket_lives_on(text, message):
    client = await started_client()
    await client.send_to(text_data=text)
    reply = await client.receive_json()
    assert reply["type"] == "connection_error" and message in reply["payload"]["message"]
    assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    await client.disconnect()


OPERATION_ERRORS = [
    pytest.param({"type": "start", "id": "1"}, "'payload' property to be an object", id="start-no-payload"),
    pytest.param({"type": "start", "id": "1", "payload": {}}, "'query' to be a string", id="no-query"),
    pytest.param({"type": "start", "id": "1", "payload": {"query": "{ hello }", "variables": [1]}},
                 "'variables' to be an object", id="variables-array"),
    pytest.param({"type": "start", "id": "1", "payload": {"query": "{ hello }", "operationName": 3}},
                 "'operationName' to be a string", id="operation-name-number"),
    pytest.param({"type": "subscribe", "id": "1"}, "Invalid message type 'subscribe'", id="unknown-type"),
]


@pytest.mark.parametrize(("message", "error"), OPERATION_ERRORS)
async def test_malformed_operation_messages_get_error_for_that_id(message, error):
    client = await started_client()
    await client.send_json_to(message)
    reply = await client.receive_json()
    assert reply["type"] == "error" and reply["id"] == "1" and error in reply["payload"]["message"]
    assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    await client.disconnect()


async def test_invalid_connection_init_payload_gets_connection_error():
    client = client_for()
    await client.connect()
    await client.send_json_to({"type": "connection_init", "payload": 5})
    reply = await client.receive_json()
    assert reply["type"] == "connection_error" and "'connection_init' payload" in reply["payload"]["message"]
    await client.gql_init()  # a good one is still welcome
    await client.disconnect()


async def test_second_connection_init_gets_connection_error():
    client = await started_client()
    await client.send_json_to({"type": "connection_init"})
    reply = await client.receive_json()
    assert reply == {"type": "connection_error", "payload": {"message": "Too many initialisation requests"}}
    assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    await client.disconnect()


async def test_rejection_sends_connection_error_with_the_payload_then_closes():
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            raise ConnectionRejectionError({"message": "Bad token", "code": "AUTH"})

    client = client_for(make_app(Consumer))
    await client.connect()
    await client.send_json_to({"type": "connection_init", "payload": {"token": "x"}})
    assert await client.receive_json() == {"type": "connection_error",
                                           "payload": {"message": "Bad token", "code": "AUTH"}}
    await expect_close(client, 4403)
    client = client_for(make_app(Consumer))
    with pytest.raises(ConnectionRejectionError) as info:
        await client.gql_init()
    assert info.value.payload == {"message": "Bad token", "code": "AUTH"}
    await client.disconnect()


async def test_connection_terminate_closes_and_stops_everything(clean_layer):
    room = group()
    client = await started_client()
    await client.send_json_to({"id": "s", "type": "start",
                               "payload": {"query": f'subscription {{ guarded(group: "{room}") }}'}})
    await client.round_trip()
    await client.send_json_to({"type": "connection_terminate"})
    await expect_close(client, 1000)
    assert ("end", "guarded", room) in ws_schema.EVENTS
    assert clean_layer.groups == {}


async def test_no_connection_init_in_time_closes_with_4408():
    client = client_for(make_app(connection_init_wait_timeout=0.05))
    await client.connect()
    await expect_close(client, 4408)


async def test_server_failure_sends_connection_error_and_closes_with_1011():
    class Consumer(GraphQLWSConsumer):
        async def get_context(self, request, connection_params):
            raise RuntimeError("hidden")

    client = client_for(make_app(Consumer))
    await client.connect()
    await client.send_json_to({"type": "connection_init"})
    assert await client.receive_json() == {"type": "connection_error",
                                           "payload": {"message": "Internal server error"}}
    await expect_close(client, 1011)


async def test_disconnect_cancels_generators_and_leaves_groups(clean_layer):
    rooms = [group(), group()]
    client = await started_client()
    for room in rooms:
        await client.subscribe(f'subscription {{ guarded(group: "{room}") }}').start()
    await client.disconnect()
    assert sorted(e for e in ws_schema.EVENTS if e[0] == "end") == [("end", "guarded", r) for r in sorted(rooms)]
    assert clean_layer.groups == {} and clean_layer.channels == {}


async def test_too_many_operations_are_refused_with_error():
    with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "MAX_OPERATIONS_PER_CONNECTION": 1}):
        client = client_for(make_app())
        await client.gql_init()
        await client.subscribe(f'subscription {{ guarded(group: "{group()}") }}').start()
        await client.send_json_to({"id": "x", "type": "start", "payload": {"query": "{ hello }"}})
        reply = await client.receive_json()
        assert reply["type"] == "error" and "MAX_OPERATIONS_PER_CONNECTION" in reply["payload"]["message"]
        await client.disconnect()


async def test_connection_params_reach_the_context():
    async with client_for(connection_params={"lang": "de"}) as client:
        assert await client.execute('{ connectionParam(key: "lang") }') == {"data": {"connectionParam": "de"}}
