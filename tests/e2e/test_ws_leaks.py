"""No leaks: what subscriptions leave behind once sockets close or clients complete them.

In-process, through the real ASGI application (router, auth and origin
middleware, consumer) with the in-memory layer, so the layer's groups and
channels and the event loop's tasks can be inspected directly.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from channels.layers import get_channel_layer

from django_gql_channels.channel_layer.groups import memberships
from django_gql_channels.routing import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from django_gql_channels.ws import GraphQLWSConsumer

SOCKETS = 500
SUBSCRIPTIONS = 500
BATCH = 50

SUBSCRIPTION = "subscription ($g: String!) { onGroupMessage(group: $g) { text n } }"
CHAT = ('subscription ($rooms: [ChatRoom!]!) { joinChatRooms(rooms: $rooms, user: "leak") '
        "{ roomName message } }")


@pytest.fixture
async def layer():
    layer = get_channel_layer()
    await layer.flush()
    yield layer
    await layer.flush()


def consumers_alive() -> int:
    gc.collect()
    # type(), not isinstance(): isinstance() would set up lazy objects (a GIS one needs GEOS)
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), GraphQLWSConsumer))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def assert_nothing_left(layer, tasks_before) -> None:
    leftover = [task for task in asyncio.all_tasks() - tasks_before if not task.done()]
    assert leftover == [], f"{len(leftover)} tasks left, e.g. {leftover[:3]}"
    assert layer.groups == {}, f"{len(layer.groups)} groups still have members"
    assert layer.channels == {}, f"{len(layer.channels)} channels still hold messages"
    assert memberships() == [], "the process still holds group memberships"


async def test_sockets_that_subscribe_and_disconnect_leave_nothing(layer):
    app = get_application()
    tasks_before = asyncio.all_tasks()
    alive_before = consumers_alive()
    delivered = 0

    async def one_socket(i: int) -> None:
        nonlocal delivered
        client = GraphQLWebsocketCommunicator(app, "/graphql", timeout=10,
                                              protocol="graphql-ws" if i % 4 == 3 else "graphql-transport-ws")
        await client.gql_init()
        group = f"leak{i % 7}"
        subscription = await client.subscribe(SUBSCRIPTION, {"g": group}).start()
        assert (await subscription.__anext__())["data"] == {"onGroupMessage": None}  # it confirms
        if i % 2:
            await client.subscribe(CHAT, {"rooms": [{"roomName": f"r{i % 5}"}, {"roomName": "all"}]}).start()
        await layer.group_send(group, {"type": "group.message", "text": "hi", "n": i})
        result = await subscription.__anext__()  # delivered...
        assert result["data"]["onGroupMessage"]["text"] in ("hi", "unread")  # groups are shared
        delivered += 1
        # ...and more left queued in the listener when the socket goes.
        await layer.group_send(group, {"type": "group.message", "text": "unread", "n": i})
        await layer.group_send("chat_all", {"type": "chat.message", "room_id": "chat_all", "message": "unread"})
        await client.disconnect()

    for start in range(0, SOCKETS, BATCH):
        await asyncio.gather(*(one_socket(i) for i in range(start, min(start + BATCH, SOCKETS))))
    await settle()
    assert delivered == SOCKETS
    assert_nothing_left(layer, tasks_before)
    assert consumers_alive() == alive_before


async def test_subscriptions_completed_by_the_client_leave_nothing(layer):
    app = get_application()
    tasks_before = asyncio.all_tasks()
    clients = []
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        client = GraphQLWebsocketCommunicator(app, "/graphql", protocol=protocol, timeout=10)
        await client.gql_init()
        clients.append(client)
    channels_at_rest = set(layer.channels)
    completed = 0

    async def one_subscription(client, i: int) -> None:
        nonlocal completed
        group = f"done{i % 11}"
        subscription = await client.subscribe(SUBSCRIPTION, {"g": group}).start()
        await layer.group_send(group, {"type": "group.message", "text": "x", "n": i})
        await layer.group_send(group, {"type": "group.message", "text": "unread", "n": i})
        await subscription.complete()
        completed += 1

    for start in range(0, SUBSCRIPTIONS, BATCH):
        await asyncio.gather(*(one_subscription(clients[i % 2], i)
                               for i in range(start, min(start + BATCH, SUBSCRIPTIONS))))
        for client in clients:
            await client.round_trip()
    await settle()
    assert completed == SUBSCRIPTIONS
    # The sockets are still open: still no group, no queued message, no task
    # beyond the two sockets' own.
    assert layer.groups == {}
    assert set(layer.channels) <= channels_at_rest
    running = [task for task in asyncio.all_tasks() - tasks_before if not task.done()]
    assert len(running) == len(clients), running
    for client in clients:
        await client.disconnect()
    await settle()
    assert_nothing_left(layer, tasks_before)
