"""No leaks over Server-Sent Events: what subscribers leave behind once they abort.

In-process, through the real ASGI application (router, auth middleware, HTTP
consumer) with the in-memory layer, as tests/e2e/test_ws_leaks.py does for
WebSockets: the layer's groups and channels, the event loop's tasks and the
process's shared memberships are inspected directly.
"""

from __future__ import annotations

import asyncio
import gc

import pytest

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.http import sse
from django_gql_channels.routing import get_application
from tests.e2e.test_ws_leaks import CHAT, SUBSCRIPTION, assert_nothing_left, layer, settle  # noqa: F401 - fixture
from tests.sse_support import StreamingRequest, request

SUBSCRIBERS = 200
BATCH = 50
TOKEN = "X-GraphQL-Event-Stream-Token"


def consumers_alive() -> int:
    gc.collect()
    # type(), not isinstance(): isinstance() would set up lazy objects (a GIS one needs GEOS)
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), GraphQLHTTPConsumer))


# The auth middleware of the real application looks users up in the database.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_sse_subscribers_that_connect_and_abort_leave_nothing(layer):  # noqa: F811
    app = get_application()
    tasks_before = asyncio.all_tasks()
    alive_before = consumers_alive()
    delivered = 0

    async def one_subscriber(i: int) -> None:
        nonlocal delivered
        group = f"leak{i % 7}"
        stream = await StreamingRequest(app, payload={"query": SUBSCRIPTION, "variables": {"g": group}}).start()
        assert await stream.next_event() == ("next", {"data": {"onGroupMessage": None}})
        if i % 2:
            chat = await StreamingRequest(app, payload={"query": CHAT, "variables": {
                "rooms": [{"roomName": f"r{i % 5}"}, {"roomName": "all"}]}}).start()
            assert (await chat.next_event())[0] == "next"
        await layer.group_send(group, {"type": "group.message", "text": "hi", "n": i})
        name, data = await stream.next_event()  # delivered...
        assert data["data"]["onGroupMessage"]["text"] in ("hi", "unread")  # groups are shared
        delivered += 1
        # ...and more left queued in the listener when the client goes.
        await layer.group_send(group, {"type": "group.message", "text": "unread", "n": i})
        await layer.group_send("chat_all", {"type": "chat.message", "room_id": "chat_all", "message": "unread"})
        await stream.disconnect()
        if i % 2:
            await chat.disconnect()

    for start in range(0, SUBSCRIBERS, BATCH):
        await asyncio.gather(*(one_subscriber(i) for i in range(start, min(start + BATCH, SUBSCRIBERS))))
    await settle()
    assert delivered == SUBSCRIBERS
    assert_nothing_left(layer, tasks_before)
    assert consumers_alive() == alive_before


async def test_single_connection_streams_that_abort_leave_nothing(layer, settings):  # noqa: F811
    # Every stream here comes from one client address: lift the per-client cap on reservations.
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "SSE_MAX_RESERVATIONS_PER_CLIENT": 10_000}
    app = get_application()
    tasks_before = asyncio.all_tasks()

    async def one_stream(i: int) -> None:
        token = (await request(app, "PUT", accept=None)).body.decode()
        stream = await StreamingRequest(app, "GET", headers=[(TOKEN, token)]).start()
        for n, query in enumerate((SUBSCRIPTION, CHAT)):
            variables = {"g": f"single{i % 3}"} if n == 0 else {"rooms": [{"roomName": f"s{i % 4}"}]}
            reply = await request(app, payload={"query": query, "variables": variables,
                                                "extensions": {"operationId": str(n)}},
                                  accept=None, headers=[(TOKEN, token)])
            assert reply.status == 202
        await layer.group_send(f"single{i % 3}", {"type": "group.message", "text": "unread", "n": i})
        await stream.disconnect()

    for start in range(0, SUBSCRIBERS, BATCH):
        await asyncio.gather(*(one_stream(i) for i in range(start, min(start + BATCH, SUBSCRIBERS))))
    # Reservations never opened expire; here every one was opened and closed.
    await settle()
    assert sse.reservations() == {}
    assert_nothing_left(layer, tasks_before)
