"""Dropped-message warnings are rate-limited: one line per subscription per interval, with a count (issue 18, 7)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import pytest
from channels.layers import get_channel_layer

from django_gql_channels.channel_layer import ChannelListener, ChannelsConsumer

SUBSCRIPTIONS = 100
PUBLISHES = 1500


@pytest.fixture
def small_queues(settings):
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "SUBSCRIPTION_QUEUE_SIZE": 10}


def drop_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Dropped")]


async def test_a_non_reading_socket_with_100_subscriptions_logs_at_most_one_line_each(small_queues, caplog):
    """100 subscriptions of one socket nobody reads, 1,500 group messages: ≤ 100 lines (was ~50,000)."""
    layer = get_channel_layer()
    consumer = ChannelsConsumer()
    consumer.scope = {"type": "websocket"}
    group = f"drops-{uuid.uuid4().hex}"
    caplog.set_level(logging.WARNING, logger="django_gql_channels")
    async with listeners_of(consumer, group) as listeners:
        for number in range(PUBLISHES):
            await layer.group_send(group, {"type": "chat.message", "n": number})
        for _ in range(200):  # bounded: until the group's receiver has handed every message over
            if all(listener.dropped == PUBLISHES - 10 for listener in listeners):
                break
            await asyncio.sleep(0.01)
        assert [listener.dropped for listener in listeners] == [PUBLISHES - 10] * SUBSCRIPTIONS
        assert len(drop_lines(caplog)) == SUBSCRIPTIONS  # the first drop of each, then counted
    lines = drop_lines(caplog)
    # Ending, each listener reports the drops it counted since its line: nothing is lost from the log.
    assert len(lines) == 2 * SUBSCRIPTIONS
    assert all(f"Dropped {PUBLISHES - 11} 'chat.message' message(s)" in line for line in lines[SUBSCRIPTIONS:])
    await consumer.close_channel_layer()


@contextlib.asynccontextmanager
async def listeners_of(consumer, group):
    """SUBSCRIPTIONS listeners of ``group`` on one consumer, none of them read."""
    async with contextlib.AsyncExitStack() as exits:
        yield [await exits.enter_async_context(consumer.listen_to_channel("chat.message", groups=[group]))
               for _ in range(SUBSCRIPTIONS)]


def test_after_the_interval_the_next_drop_writes_one_line_with_the_count(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("django_gql_channels.channel_layer.listener.time.monotonic", lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="django_gql_channels")

    async def run() -> ChannelListener:
        listener = ChannelListener("t", timeout=None, max_queued=1)
        listener.put({"type": "t"})
        for _ in range(5):
            listener.put({"type": "t"})  # 5 drops: one line
        clock[0] += listener.drop_warning_interval
        listener.put({"type": "t"})  # the interval passed: one line for the 5 since
        return listener

    listener = asyncio.run(run())
    lines = drop_lines(caplog)
    assert len(lines) == 2 and listener.dropped == 6
    assert lines[1].startswith("Dropped 5 't' message(s) in the last 10 s") and "6 dropped in all" in lines[1]
    listener.close()
    assert len(drop_lines(caplog)) == 2  # nothing left untold
