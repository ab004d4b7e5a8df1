"""``LAYER_TIMEOUT``: a layer that never answers fails each call the app makes in time (issue 18, item 5).

The layer here is the in-memory one with its calls replaced by ones that
never return: the live-server version, with a SIGSTOPped redis-server, is
tests/e2e/test_layer_faults.py.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer

from django_gql_channels.channel_layer import ChannelsConsumer
from django_gql_channels.channel_layer.groups import memberships
from django_gql_channels.channel_layer.outage import forget_outage
from django_gql_channels.exceptions import ChannelLayerUnavailable

TIMEOUT = 0.2


@pytest.fixture
def short_timeout(settings):
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "LAYER_TIMEOUT": TIMEOUT}


@pytest.fixture
def frozen(monkeypatch):
    layer = get_channel_layer()
    yield from _freezer(layer, monkeypatch)
    monkeypatch.undo()
    # No outage (nor its recent end, which quiets the next one's log) left for the next test.
    forget_outage(layer)


def _freezer(layer, monkeypatch):

    async def never(*args, **kwargs):
        await asyncio.Event().wait()

    def freeze(*names: str) -> None:
        for name in names:
            monkeypatch.setattr(layer, name, never)

    yield freeze


def consumer() -> ChannelsConsumer:
    made = ChannelsConsumer()
    made.scope = {"type": "websocket"}
    return made


async def bounded(awaitable):
    """The awaitable's outcome; the test fails if it takes far longer than the timeout."""
    return await asyncio.wait_for(awaitable, TIMEOUT * 10)


@pytest.mark.parametrize("call", ["group_send", "send"])
async def test_publishing_through_ws_channel_layer_fails_with_service_unavailable(short_timeout, frozen, call):
    frozen(call)
    ws = consumer()
    with pytest.raises(ChannelLayerUnavailable) as info:
        await bounded(getattr(ws.channel_layer, call)("room", {"type": "chat.message"}))
    assert info.value.extensions == {"code": "SERVICE_UNAVAILABLE"}
    assert info.value.message == "Publishing is temporarily unavailable: try again shortly."


async def test_joining_a_group_fails_in_time_and_leaves_nothing(short_timeout, frozen):
    frozen("group_add")
    ws = consumer()
    with pytest.raises(ChannelLayerUnavailable):
        await bounded(ws.listen_to_channel("chat.message", groups=[f"g-{uuid.uuid4().hex}"]).__aenter__())
    assert memberships() == [] and ws.channel_listeners == ()
    with pytest.raises(ChannelLayerUnavailable):
        await bounded(ws.channel_layer.group_add("room", "some.channel"))


async def test_a_channel_is_prepared_without_waiting_and_awaited_within_the_timeout(short_timeout, frozen):
    frozen("new_channel")
    ws = consumer()
    ws.prepare_channel_name()  # returns at once: a handshake never waits on the layer
    with pytest.raises(ChannelLayerUnavailable):
        await bounded(ws.ensure_channel_name())
    await ws.close_channel_layer()


async def test_leaving_a_group_is_bounded_too(short_timeout, frozen):
    ws = consumer()
    channel = await ws.ensure_channel_name()
    await ws.channel_layer.group_add("room", channel)
    frozen("group_discard")
    with pytest.raises(ChannelLayerUnavailable):
        await bounded(ws.channel_layer.group_discard("room", channel))
    assert ws.channel_layer.joined == set()
    await ws.close_channel_layer()
