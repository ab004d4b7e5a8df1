"""``MAX_MESSAGE_SIZE``: a larger WebSocket frame closes the socket with 1009 before any JSON parsing."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.test import override_settings

from django_gql_channels.conf import DEFAULTS
from django_gql_channels.testing import WebSocketClosed
from tests.ws_support import client_factory

pytestmark = pytest.mark.usefixtures("clean_layer")


def test_the_default_is_one_mebibyte():
    assert DEFAULTS["MAX_MESSAGE_SIZE"] == 1048576


def subscribe_frame(size: int, char: str = "a") -> str:
    """A valid ``subscribe`` frame of exactly ``size`` UTF-8 bytes."""
    frame = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }", "pad": ""}})
    padding = size - len(frame.encode())
    count, rest = divmod(padding, len(char.encode()))
    return frame.replace('"pad": ""', f'"pad": "{char * count}{"b" * rest}"')


async def closed_code(client) -> int:
    with pytest.raises(WebSocketClosed) as info:
        while True:
            await client.receive_json()
    await client.disconnect()
    return info.value.code


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_one_byte_over_the_default_closes_1009_without_parsing(protocol):
    async with client_factory(protocol)() as client:
        with mock.patch("json.loads", side_effect=AssertionError("parsed")) as loads:
            await client.send_to(text_data=subscribe_frame(1048577))
            assert await closed_code(client) == 1009
        assert not loads.called


@override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "MAX_MESSAGE_SIZE": 1000})
@pytest.mark.parametrize("char", ["a", "é", "😀"])
async def test_the_limit_counts_utf8_bytes_of_text_and_binary_frames(char):
    client_for = client_factory("graphql-transport-ws")
    async with client_for() as client:
        await client.send_to(text_data=subscribe_frame(1000, char))  # exactly the limit: served
        assert (await client.receive_json())["type"] == "next"
        assert (await client.receive_json())["type"] == "complete"
        await client.send_to(bytes_data=subscribe_frame(1000, char).encode())
        assert (await client.receive_json())["type"] == "next"
        assert (await client.receive_json())["type"] == "complete"
        await client.send_to(text_data=subscribe_frame(1001, char))
        assert await closed_code(client) == 1009
    async with client_for() as client:
        await client.send_to(bytes_data=subscribe_frame(1001, char).encode())
        assert await closed_code(client) == 1009


@override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "MAX_MESSAGE_SIZE": None})
async def test_none_turns_the_limit_off():
    async with client_factory("graphql-transport-ws")() as client:
        await client.send_to(text_data=subscribe_frame(2 * 1048576))
        assert (await client.receive_json())["type"] == "next"
