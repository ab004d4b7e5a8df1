"""``ChannelListener``'s own queue behaves as the ``asyncio.Queue`` it replaced."""

import asyncio

import pytest

from django_gql_channels.channel_layer import ChannelListener


def message(n: int) -> dict:
    return {"type": "t", "n": n}


async def test_messages_come_in_order_and_the_bound_drops_the_newest():
    listener = ChannelListener("t", timeout=None, max_queued=2)
    for n in range(3):
        listener.put(message(n))
    assert listener.pending == 2 and listener.dropped == 1
    assert [await listener.__anext__(), await listener.__anext__()] == [message(0), message(1)]
    assert listener.pending == 0


async def test_a_waiting_reader_wakes_for_a_put():
    listener = ChannelListener("t", timeout=None, max_queued=10)
    reader = asyncio.ensure_future(listener.__anext__())
    await asyncio.sleep(0)
    assert not reader.done()
    listener.put(message(1))
    assert await reader == message(1)


async def test_a_reader_cancelled_after_waking_leaves_its_message_queued():
    listener = ChannelListener("t", timeout=None, max_queued=10)
    reader = asyncio.ensure_future(listener.__anext__())
    await asyncio.sleep(0)
    listener.put(message(1))  # wakes the reader, which has not run yet
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert listener.pending == 1
    assert await listener.__anext__() == message(1)


async def test_two_readers_get_one_message_each():
    listener = ChannelListener("t", timeout=None, max_queued=10)
    readers = [asyncio.ensure_future(listener.__anext__()) for _ in range(2)]
    await asyncio.sleep(0)
    listener.put(message(1))
    await asyncio.sleep(0)
    listener.put(message(2))
    results = await asyncio.wait_for(asyncio.gather(*readers), 5)
    assert sorted(r["n"] for r in results) == [1, 2]


async def test_the_timeout_ends_iteration_and_loses_nothing():
    listener = ChannelListener("t", timeout=0.01, max_queued=10)
    assert [m async for m in listener] == []
    listener.put(message(1))
    assert [m async for m in listener] == [message(1)]


async def test_on_wait_is_called_once_when_a_reader_finds_nothing():
    listener = ChannelListener("t", timeout=0.01, max_queued=10)
    calls = []
    listener.on_wait = lambda: calls.append(True)
    listener.put(message(1))
    assert await listener.__anext__() == message(1)
    assert calls == []  # a message was waiting
    assert [m async for m in listener] == []
    assert calls == [True]
