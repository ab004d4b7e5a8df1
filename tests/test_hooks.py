"""Overriding the consumers' hooks with ``async def`` or a plain ``def``, either calling ``super()``."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLField, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString

from django_gql_channels import UNSET, ChannelsResponse, GraphQLHTTPConsumer, GraphQLWSConsumer
from django_gql_channels.testing import GraphQLHTTPCommunicator, GraphQLWebsocketCommunicator

pytestmark = pytest.mark.usefixtures("clean_layer")

schema = GraphQLSchema(GraphQLObjectType("Query", {
    "contextKeys": GraphQLField(GraphQLList(GraphQLString), resolve=lambda _root, info: sorted(info.context)),
    "root": GraphQLField(GraphQLString, resolve=lambda root, _info: repr(root)),
}))

QUERY = "{ contextKeys root }"


class AsyncHTTP(GraphQLHTTPConsumer):
    async def get_context(self, request, response):
        context = await super().get_context(request, response)
        context["extra"] = 1
        return context

    async def get_root_value(self, request):
        return f"root:{await super().get_root_value(request)!r}"

    async def process_result(self, request, result):
        data = await super().process_result(request, result)
        data["extensions"] = {"hook": "async"}
        return data

    async def render_graphql_ide(self, request):
        page = await super().render_graphql_ide(request)
        assert isinstance(page, ChannelsResponse)
        return page


class SyncHTTP(GraphQLHTTPConsumer):
    def get_context(self, request, response):
        context = super().get_context(request, response)
        context["extra"] = 1
        return context

    def get_root_value(self, request):
        return f"root:{super().get_root_value(request) or None!r}"

    def process_result(self, request, result):
        data = super().process_result(request, result)
        data["extensions"] = {"hook": "sync"}
        return data

    def render_graphql_ide(self, request):
        page = super().render_graphql_ide(request)
        assert isinstance(page, ChannelsResponse)
        return page


@pytest.mark.parametrize(("consumer", "kind"), [(AsyncHTTP, "async"), (SyncHTTP, "sync")])
async def test_http_hooks_may_call_super_from_either_kind(consumer, kind):
    client = GraphQLHTTPCommunicator(consumer.as_asgi(schema=schema), "/graphql")
    result = await client.query(QUERY)
    assert result.status_code == 200
    assert result.data == {"contextKeys": ["extra", "request", "response"], "root": "'root:None'"}
    assert result.extensions == {"hook": kind}


class AsyncWS(GraphQLWSConsumer):
    async def get_context(self, request, connection_params):
        context = await super().get_context(request, connection_params)
        context["extra"] = 1
        return context

    async def get_root_value(self, request):
        return f"root:{await super().get_root_value(request)!r}"

    async def on_ws_connect(self, context):
        assert await super().on_ws_connect(context) is UNSET
        return {"hook": "async"}


class SyncWS(GraphQLWSConsumer):
    def get_context(self, request, connection_params):
        context = super().get_context(request, connection_params)
        context["extra"] = 1
        return context

    def get_root_value(self, request):
        return f"root:{super().get_root_value(request) or None!r}"

    def on_ws_connect(self, context):
        assert super().on_ws_connect(context) is UNSET
        return {"hook": "sync"}


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
@pytest.mark.parametrize(("consumer", "kind"), [(AsyncWS, "async"), (SyncWS, "sync")])
async def test_ws_hooks_may_call_super_from_either_kind(consumer, kind, protocol):
    client = GraphQLWebsocketCommunicator(consumer.as_asgi(schema=schema), "/graphql", protocol=protocol)
    async with client:
        result = await client.execute(QUERY)
    assert result.data == {"contextKeys": ["connection_params", "extra", "request", "ws"], "root": "'root:None'"}
    if protocol == "graphql-transport-ws":
        assert client.ack_payload == {"hook": kind}


def test_defaults_are_values_that_may_be_awaited() -> None:
    consumer: Any = GraphQLWSConsumer()
    consumer.request_attributes = False
    context = consumer.get_context(consumer, {})
    assert context == {"request": consumer, "ws": consumer, "connection_params": {}}
    assert not consumer.get_root_value(consumer)
