"""No leaks over multipart HTTP subscriptions: what 200 subscribers leave behind once they abort mid-stream.

In-process, through the real ASGI application (router, auth middleware, HTTP
consumer) with the in-memory layer, as tests/e2e/test_sse_leaks.py does for
Server-Sent Events: the layer's groups and channels, the event loop's tasks,
the process's shared memberships, the consumers and streams still alive, and
the memory Python allocated (tracemalloc) across a second round.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from django_gql_channels.http.multipart_subscriptions import MultipartSink, PartStream
from django_gql_channels.routing import get_application
from tests.e2e.test_sse_leaks import consumers_alive
from tests.e2e.test_ws_leaks import CHAT, SUBSCRIPTION, assert_nothing_left, layer, settle  # noqa: F401 - fixture
from tests.multipart_support import MultipartRequest

SUBSCRIBERS = 200
BATCH = 50
#: Python memory a second round of 200 aborted subscribers may leave allocated: about 1.3 KB each, less
#: than one leaked consumer, stream or task per subscriber would hold. Measured: ~70 KiB, then ~14 and
#: ~6 KiB over a third and fourth round (short strings of warm caches and allocator slack, not a leak).
MEMORY_BOUND = 256 * 1024

pytestmark = pytest.mark.django_db(transaction=True)


def streams_alive() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) in (PartStream, MultipartSink))


async def one_round(app, layer) -> int:  # noqa: F811
    delivered = 0

    async def one_subscriber(i: int) -> None:
        nonlocal delivered
        group = f"mpleak{i % 7}"
        stream = await MultipartRequest(app, payload={"query": SUBSCRIPTION, "variables": {"g": group}}).start()
        assert await stream.next_part() == {"payload": {"data": {"onGroupMessage": None}}}
        if i % 2:
            chat = await MultipartRequest(app, payload={"query": CHAT, "variables": {
                "rooms": [{"roomName": f"m{i % 5}"}, {"roomName": "all"}]}}).start()
            assert (await chat.next_part())["payload"]["data"] == {"joinChatRooms": None}
        await layer.group_send(group, {"type": "group.message", "text": "hi", "n": i})
        part = await stream.next_payload()  # delivered...
        assert part["payload"]["data"]["onGroupMessage"]["text"] in ("hi", "unread")  # groups are shared
        delivered += 1
        # ...and more left queued in the listener when the client goes, mid-stream.
        await layer.group_send(group, {"type": "group.message", "text": "unread", "n": i})
        await layer.group_send("chat_all", {"type": "chat.message", "room_id": "chat_all", "message": "unread"})
        await stream.disconnect()
        assert not stream.ended  # aborted: the close delimiter never came
        if i % 2:
            await chat.disconnect()

    for start in range(0, SUBSCRIBERS, BATCH):
        await asyncio.gather(*(one_subscriber(i) for i in range(start, min(start + BATCH, SUBSCRIBERS))))
    await settle()
    return delivered


async def test_multipart_subscribers_that_abort_mid_stream_leave_nothing(layer):  # noqa: F811
    app = get_application()
    tasks_before = asyncio.all_tasks()
    alive_before = consumers_alive()
    assert await one_round(app, layer) == SUBSCRIBERS
    assert_nothing_left(layer, tasks_before)
    assert consumers_alive() == alive_before
    assert streams_alive() == 0

    # A second round, traced: what it leaves allocated is what every round would leak.
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        assert await one_round(app, layer) == SUBSCRIBERS
        assert_nothing_left(layer, tasks_before)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    top = "\n".join(str(stat) for stat in after.compare_to(before, "lineno")[:5])
    print(f"\n{SUBSCRIBERS} aborted multipart subscribers (half with a chat subscription too): "
          f"{growth / 1024:.1f} KiB left allocated after the second round")
    assert growth < MEMORY_BOUND, top
    assert consumers_alive() == alive_before
    assert streams_alive() == 0
