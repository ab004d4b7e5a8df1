"""Live queries on every transport: SSE (both modes' distinct one), the legacy ``graphql-ws``
protocol, and the refusal over plain HTTP (the consumer and :class:`GraphQLView`)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from django_gql_channels import GraphQLHTTPConsumer, GraphQLWSConsumer
from django_gql_channels.channel_layer.groups import memberships
from django_gql_channels.engine import LIVE_OVER_HTTP
from django_gql_channels.testing import GraphQLHTTPCommunicator
from tests.live.test_live_queries import TODOS, live_on, live_settings  # noqa: F401  (the fixture)
from tests.sse_support import StreamingRequest
from tests.todos.models import Todo
from tests.todos.schema import schema

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_on")]

create = sync_to_async(Todo.objects.create)


async def test_over_sse_a_stream_of_results():
    await create(title="a")
    stream = await StreamingRequest(GraphQLHTTPConsumer.as_asgi(schema=schema), payload={"query": TODOS}).start()
    assert stream.status == 200
    event, data = await stream.next_event()
    assert event == "next" and [t["title"] for t in data["data"]["todos"]] == ["a"]
    await create(title="b")
    event, data = await stream.next_event()
    assert event == "next" and [t["title"] for t in data["data"]["todos"]] == ["a", "b"]
    await stream.disconnect()
    assert memberships() == []


async def test_over_the_legacy_protocol():
    ws = WebsocketCommunicator(GraphQLWSConsumer.as_asgi(schema=schema), "/graphql", subprotocols=["graphql-ws"])
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "connection_init", "payload": {}})
    assert (await ws.receive_json_from())["type"] == "connection_ack"
    await ws.send_json_to({"id": "1", "type": "start", "payload": {"query": TODOS}})
    assert await ws.receive_json_from() == {"id": "1", "type": "data", "payload": {"data": {"todos": []}}}
    await create(title="legacy")
    message = await ws.receive_json_from(timeout=3)
    assert message["type"] == "data" and message["payload"]["data"]["todos"][0]["title"] == "legacy"
    await ws.send_json_to({"id": "1", "type": "stop"})
    await ws.disconnect()
    assert memberships() == []


async def test_refused_over_plain_http_with_a_clear_error():
    result = await GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=schema)).query(TODOS)
    assert result.data is None
    assert [error.message for error in result.errors] == [LIVE_OVER_HTTP]


def test_refused_by_the_django_view():
    from django.urls import path

    from django_gql_channels.views import GraphQLView

    class Urls:
        urlpatterns = [path("graphql/", GraphQLView.as_view(schema=schema))]

    from django.test import override_settings

    with override_settings(ROOT_URLCONF=Urls):
        response = Client().post("/graphql/", json.dumps({"query": TODOS}), content_type="application/json")
    body = response.json()
    assert [error["message"] for error in body["errors"]] == [LIVE_OVER_HTTP]


async def test_the_schema_declares_live_for_clients():
    result = await GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=schema)).query(
        '{ __schema { directives { name locations args { name type { name } } } } }')
    live = [d for d in result.data["__schema"]["directives"] if d["name"] == "live"]
    assert live == [{"name": "live", "locations": ["QUERY"], "args": [{"name": "throttle", "type": {"name": "Int"}}]}]


async def test_a_strawberry_schema_runs_live_queries():
    import strawberry

    @strawberry.type
    class Query:
        @strawberry.field
        def titles(self) -> list[str]:
            return [todo.title for todo in Todo.objects.all()]

    strawberry_schema = strawberry.Schema(query=Query)
    ws = WebsocketCommunicator(GraphQLWSConsumer.as_asgi(schema=strawberry_schema), "/graphql",
                               subprotocols=["graphql-transport-ws"])
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "connection_init"})
    assert (await ws.receive_json_from())["type"] == "connection_ack"
    await ws.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": "query T @live { titles }"}})
    assert (await ws.receive_json_from())["payload"] == {"data": {"titles": []}}
    await create(title="berry")
    assert (await ws.receive_json_from(timeout=3))["payload"] == {"data": {"titles": ["berry"]}}
    await ws.disconnect()


async def test_a_strawberry_schema_with_extensions_runs_live_queries_through_strawberry():
    import strawberry
    from strawberry.extensions import SchemaExtension

    executions = []

    class Counting(SchemaExtension):
        def on_execute(self):
            executions.append(self.execution_context.query)
            yield

    @strawberry.type
    class Query:
        @strawberry.field
        async def titles(self) -> list[str]:  # Strawberry's execution stays on the loop: no SYNC_EXECUTION
            return await sync_to_async(lambda: [todo.title for todo in Todo.objects.all()])()

    strawberry_schema = strawberry.Schema(query=Query, extensions=[Counting])
    with live_settings(SYNC_EXECUTION=False):
        await run_titles(strawberry_schema)
    assert executions and all("@live" not in query for query in executions)


async def run_titles(strawberry_schema):
    ws = WebsocketCommunicator(GraphQLWSConsumer.as_asgi(schema=strawberry_schema), "/graphql",
                               subprotocols=["graphql-transport-ws"])
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "connection_init"})
    assert (await ws.receive_json_from())["type"] == "connection_ack"
    await ws.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": "query T @live { titles }"}})
    first = await ws.receive_json_from(timeout=5)
    assert first["payload"] == {"data": {"titles": []}}, first
    await create(title="with extensions")
    assert (await ws.receive_json_from(timeout=3))["payload"] == {"data": {"titles": ["with extensions"]}}
    await ws.disconnect()
