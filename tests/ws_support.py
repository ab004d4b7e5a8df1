"""What the in-process WebSocket test modules share: the app and clients (``clean_layer`` is in conftest)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from channels.auth import AuthMiddlewareStack

from django_gql_channels import GraphQLWSConsumer
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from tests import ws_schema


def make_app(consumer_class=GraphQLWSConsumer, **kwargs):
    kwargs.setdefault("schema", ws_schema.schema)
    return AuthMiddlewareStack(consumer_class.as_asgi(**kwargs))


def client_factory(protocol: str) -> Callable[..., GraphQLWebsocketCommunicator]:
    """``client_for(app=None, **kwargs)``: a communicator speaking ``protocol`` unless told otherwise."""

    def client_for(app=None, **kwargs) -> GraphQLWebsocketCommunicator:
        kwargs.setdefault("protocol", protocol)
        return GraphQLWebsocketCommunicator(app or make_app(), "/graphql", **kwargs)

    return client_for


async def group_inbox(layer, group: str) -> Callable[..., Any]:
    """Join ``group`` with a fresh layer channel; ``await inbox()`` is the next message it receives."""
    channel = await layer.new_channel()
    await layer.group_add(group, channel)

    async def next_message(timeout: float = 5.0) -> dict:
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return next_message


def nesting_reason(text: str) -> str:
    """What the server says of ``text``: this Python's JSON decoder gives up on deep nesting (a
    RecursionError before 3.13) or decodes it (3.13 takes 5,000 levels), and then it is no object."""
    try:
        json.loads(text)
    except RecursionError:
        return "nested too deeply"
    return "expected to be an object"
