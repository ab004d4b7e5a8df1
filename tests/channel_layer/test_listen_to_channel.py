"""``ChannelsConsumer.listen_to_channel``, tested directly on the in-memory layer.

The defect other integrations are known for: several subscriptions on one
socket, listening to different groups, see each other's messages, and one
ending drops a group another one still uses.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_gql_channels.channel_layer import ChannelsConsumer
from django_gql_channels.channel_layer.groups import membership, memberships
from django_gql_channels.conf import gql_settings


@pytest.fixture
async def layer():
    layer = get_channel_layer()
    await layer.flush()
    yield layer
    await layer.flush()


@pytest.fixture
async def consumer(layer):
    consumer = ChannelsConsumer()
    yield consumer
    await consumer.close_channel_layer()


def group_name() -> str:
    return f"g{uuid.uuid4().hex[:12]}"


async def next_message(listener, timeout: float = 2.0):
    return await asyncio.wait_for(listener.__anext__(), timeout)


async def settle() -> None:
    """Let the layer's receive tasks move what was sent into the listeners' queues."""
    for _ in range(5):
        await asyncio.sleep(0)


def no_leftovers(layer, consumer) -> None:
    assert layer.groups == {}
    assert layer.channels == {}
    assert consumer.receiving_channels == ()
    assert consumer.channel_listeners == ()
    assert memberships() == []


async def test_listeners_on_different_groups_do_not_see_each_others_messages(layer, consumer):
    red, blue = group_name(), group_name()
    async with consumer.listen_to_channel("chat.message", groups=[red]) as reds, \
            consumer.listen_to_channel("chat.message", groups=[blue]) as blues:
        await layer.group_send(red, {"type": "chat.message", "text": "to red"})
        await layer.group_send(blue, {"type": "chat.message", "text": "to blue"})
        assert (await next_message(reds))["text"] == "to red"
        assert (await next_message(blues))["text"] == "to blue"
        await settle()
        assert reds.pending == 0 and blues.pending == 0


async def test_listeners_on_one_group_each_get_every_message(layer, consumer):
    room = group_name()
    async with consumer.listen_to_channel("chat.message", groups=[room]) as first, \
            consumer.listen_to_channel("chat.message", groups=[room]) as second:
        assert len(layer.groups[room]) == 1  # one membership for the connection
        await layer.group_send(room, {"type": "chat.message", "text": "hi"})
        assert (await next_message(first))["text"] == "hi"
        assert (await next_message(second))["text"] == "hi"


async def test_one_listener_ending_keeps_a_group_another_still_uses(layer, consumer):
    room, other = group_name(), group_name()
    async with consumer.listen_to_channel("chat.message", groups=[room, other]) as staying:
        async with consumer.listen_to_channel("chat.message", groups=[room]) as leaving:
            await layer.group_send(room, {"type": "chat.message", "text": "both"})
            assert (await next_message(leaving))["text"] == "both"
            assert (await next_message(staying))["text"] == "both"
        assert room in layer.groups and other in layer.groups
        await layer.group_send(room, {"type": "chat.message", "text": "after"})
        assert (await next_message(staying))["text"] == "after"
        await layer.group_send(other, {"type": "chat.message", "text": "other"})
        assert (await next_message(staying))["text"] == "other"
    no_leftovers(layer, consumer)


async def test_only_messages_of_the_listened_type_arrive(layer, consumer):
    room = group_name()
    async with consumer.listen_to_channel("chat.message", groups=[room]) as chats, \
            consumer.listen_to_channel("user.joined", groups=[room]) as joins:
        await layer.group_send(room, {"type": "user.joined", "user": "ann"})
        await layer.group_send(room, {"type": "chat.message", "text": "hello"})
        assert await next_message(chats) == {"type": "chat.message", "text": "hello"}
        assert await next_message(joins) == {"type": "user.joined", "user": "ann"}
        await settle()
        assert chats.pending == 0 and joins.pending == 0


async def test_timeout_ends_the_iteration_quietly(layer, consumer):
    room = group_name()
    async with consumer.listen_to_channel("chat.message", groups=[room], timeout=0.05) as messages:
        await layer.group_send(room, {"type": "chat.message", "text": "one"})
        received = [message["text"] async for message in messages]
    assert received == ["one"]
    no_leftovers(layer, consumer)


async def test_exit_leaves_groups_and_frees_the_queue(layer, consumer):
    rooms = [group_name(), group_name()]
    async with consumer.listen_to_channel("chat.message", groups=rooms) as messages:
        for room in rooms:
            await layer.group_send(room, {"type": "chat.message", "text": room})
        await settle()
        assert messages.pending == 2  # queued, never read
    no_leftovers(layer, consumer)
    for room in rooms:  # nobody listens: nothing is queued anywhere
        await layer.group_send(room, {"type": "chat.message", "text": "late"})
    assert layer.channels == {}
    assert messages.pending == 2  # only in the listener's own queue, which nothing reads


async def test_an_exception_in_the_body_still_leaves_the_groups(layer, consumer):
    room = group_name()
    with pytest.raises(RuntimeError):
        async with consumer.listen_to_channel("chat.message", groups=[room]):
            raise RuntimeError("boom")
    no_leftovers(layer, consumer)


async def test_cancelling_the_listening_task_leaves_the_groups(layer, consumer):
    room = group_name()
    listening = asyncio.Event()

    async def listen():
        async with consumer.listen_to_channel("chat.message", groups=[room]) as messages:
            listening.set()
            async for _ in messages:
                pass

    task = asyncio.create_task(listen())
    await listening.wait()
    assert room in layer.groups
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    no_leftovers(layer, consumer)


async def test_without_groups_it_reads_the_consumers_own_channel(layer, consumer):
    room = group_name()
    channel = await consumer.ensure_channel_name()
    assert consumer.channel_name == channel
    await layer.group_add(room, consumer.channel_name)  # as in the Channels tutorial
    async with consumer.listen_to_channel("chat.message") as messages:
        await layer.group_send(room, {"type": "chat.message", "text": "tutorial"})
        assert (await next_message(messages))["text"] == "tutorial"
    await layer.group_discard(room, consumer.channel_name)
    await consumer.close_channel_layer()
    no_leftovers(layer, consumer)


async def test_own_channel_messages_go_to_handler_methods_when_nobody_listens(layer):
    handled = asyncio.Event()

    class Consumer(ChannelsConsumer):
        async def chat_message(self, message):
            self.handled_message = message
            handled.set()

    consumer = Consumer()
    try:
        await consumer.ensure_channel_name()
        await layer.send(consumer.channel_name, {"type": "chat.message", "text": "direct"})
        await asyncio.wait_for(handled.wait(), 2)
        assert consumer.handled_message["text"] == "direct"
    finally:
        await consumer.close_channel_layer()


async def test_concurrent_joins_of_one_group_share_one_membership(layer, consumer):
    room = group_name()
    entered = 0
    release = asyncio.Event()

    async def listen():
        nonlocal entered
        async with consumer.listen_to_channel("chat.message", groups=[room]):
            entered += 1
            await release.wait()

    tasks = [asyncio.create_task(listen()) for _ in range(5)]
    while entered < 5:
        await asyncio.sleep(0)
    assert len(layer.groups[room]) == 1
    assert membership(layer, room).users == 5
    release.set()
    await asyncio.gather(*tasks)
    no_leftovers(layer, consumer)


async def test_close_channel_layer_stops_everything(layer, consumer):
    rooms = [group_name(), group_name()]
    entered = asyncio.Event()

    async def listen():
        async with consumer.listen_to_channel("chat.message", groups=rooms) as messages:
            entered.set()
            async for _ in messages:
                pass

    task = asyncio.create_task(listen())
    await entered.wait()
    await consumer.ensure_channel_name()
    consumer.channel_name  # starts receiving on the own channel too
    assert len(consumer.receiving_channels) == 1  # the own channel; groups are received per process
    task.cancel()
    await consumer.close_channel_layer()
    await asyncio.gather(task, return_exceptions=True)
    no_leftovers(layer, consumer)
    await consumer.close_channel_layer()  # twice is fine


async def test_a_full_queue_drops_messages_and_counts_them(layer, consumer):
    room = group_name()
    with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "SUBSCRIPTION_QUEUE_SIZE": 2}):
        async with consumer.listen_to_channel("chat.message", groups=[room]) as messages:
            for i in range(5):
                await layer.group_send(room, {"type": "chat.message", "n": i})
            await settle()
            assert messages.dropped == 3
            assert [(await next_message(messages))["n"] for _ in range(2)] == [0, 1]


@pytest.fixture
def quick_retries(settings):
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "LAYER_RETRY_DELAY": 0.01, "LAYER_RETRY_MAX_DELAY": 0.02}


async def test_a_failing_layer_receive_is_retried_and_the_listener_keeps_listening(
        layer, consumer, monkeypatch, quick_retries, caplog):
    room = group_name()
    real_receive, real_group_add = layer.receive, layer.group_add
    failures = 0

    async def broken_receive(channel):
        nonlocal failures
        failures += 1
        raise ConnectionError("layer down at 10.1.2.3:6379")

    async def broken_group_add(group, channel):
        nonlocal failures
        failures += 1
        if failures >= 5:  # the layer is back
            monkeypatch.setattr(layer, "receive", real_receive)
            monkeypatch.setattr(layer, "group_add", real_group_add)
            return await real_group_add(group, channel)
        raise ConnectionError("layer down at 10.1.2.3:6379")

    async with consumer.listen_to_channel("chat.message", groups=[room]) as messages:
        shared = membership(layer, room)
        # Replace receive before the receive task first runs.
        monkeypatch.setattr(layer, "receive", broken_receive)
        monkeypatch.setattr(layer, "group_add", broken_group_add)
        await asyncio.sleep(0)
        while failures < 5:
            await asyncio.sleep(0.01)
        while "answers again" not in caplog.text:
            await asyncio.sleep(0.01)
        assert layer.groups[room].keys() == {shared.channel}
        await layer.group_send(room, {"type": "chat.message", "text": "after the outage"})
        assert (await next_message(messages))["text"] == "after the outage"
    no_leftovers(layer, consumer)
    # Logged once when it failed, once when it answered: not once per retry.
    assert caplog.text.count("is unavailable") == 1
    assert caplog.text.count("answers again") == 1


async def test_duplicate_groups_are_joined_once(layer, consumer):
    room = group_name()
    async with consumer.listen_to_channel("chat.message", groups=[room, room]) as messages:
        assert membership(layer, room).users == 1
        await layer.group_send(room, {"type": "chat.message", "text": "once"})
        assert (await next_message(messages))["text"] == "once"
        await settle()
        assert messages.pending == 0
    no_leftovers(layer, consumer)


async def test_without_a_layer_listening_is_a_clear_error(settings):
    settings.CHANNEL_LAYERS = {}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        consumer = ChannelsConsumer()
        with pytest.raises(ImproperlyConfigured, match="channel layer"):
            async with consumer.listen_to_channel("chat.message", groups=["x"]):
                pass
    finally:
        channel_layers.backends.clear()


async def test_sockets_of_one_process_share_one_membership_per_group(layer):
    room, other = group_name(), group_name()
    first, second, third = ChannelsConsumer(), ChannelsConsumer(), ChannelsConsumer()
    try:
        async with first.listen_to_channel("chat.message", groups=[room]) as a, \
                second.listen_to_channel("chat.message", groups=[room]) as b, \
                third.listen_to_channel("chat.message", groups=[other]) as c:
            assert len(layer.groups[room]) == 1
            await layer.group_send(room, {"type": "chat.message", "text": "shared"})
            assert (await next_message(a))["text"] == "shared"
            assert (await next_message(b))["text"] == "shared"
            await settle()
            assert c.pending == 0
        for consumer in (first, second, third):
            no_leftovers(layer, consumer)
    finally:
        for consumer in (first, second, third):
            await consumer.close_channel_layer()


async def test_one_socket_closing_keeps_the_group_for_another(layer):
    room = group_name()
    leaving, staying = ChannelsConsumer(), ChannelsConsumer()
    entered = asyncio.Event()

    async def listen_until_closed():
        async with leaving.listen_to_channel("chat.message", groups=[room]) as messages:
            entered.set()
            async for _ in messages:
                pass

    task = asyncio.create_task(listen_until_closed())
    await entered.wait()
    async with staying.listen_to_channel("chat.message", groups=[room]) as messages:
        task.cancel()
        await leaving.close_channel_layer()
        await asyncio.gather(task, return_exceptions=True)
        assert membership(layer, room).users == 1
        await layer.group_send(room, {"type": "chat.message", "text": "still here"})
        assert (await next_message(messages))["text"] == "still here"
    no_leftovers(layer, staying)


async def test_when_the_layer_returns_every_membership_is_restored_not_only_the_failed_ones(
        layer, consumer, monkeypatch, quick_retries):
    failing_room, quiet_room = group_name(), group_name()
    real_receive, real_group_add = layer.receive, layer.group_add
    down = True

    async def receive(channel):
        if down and channel == failing_channel:
            raise ConnectionError("server gone")
        return await real_receive(channel)

    async def group_add(group, channel):
        if down:
            raise ConnectionError("server gone")
        await real_group_add(group, channel)

    async with consumer.listen_to_channel("chat.message", groups=[failing_room]) as failing, \
            consumer.listen_to_channel("chat.message", groups=[quiet_room]) as quiet:
        failing_channel = membership(layer, failing_room).channel
        monkeypatch.setattr(layer, "receive", receive)
        monkeypatch.setattr(layer, "group_add", group_add)
        layer.groups.clear()  # a restarted server remembers no membership
        await asyncio.sleep(0.05)  # the failing receiver retries meanwhile
        down = False

        async def rejoined(room):
            while room not in layer.groups:
                await asyncio.sleep(0.01)

        for room, listener in ((failing_room, failing), (quiet_room, quiet)):
            await asyncio.wait_for(rejoined(room), 5)
            await layer.group_send(room, {"type": "chat.message", "text": room})
            assert (await next_message(listener))["text"] == room
    no_leftovers(layer, consumer)


async def test_joining_while_the_layer_is_unreachable_is_a_clear_error(layer, consumer, monkeypatch):
    from django_gql_channels.exceptions import ChannelLayerUnavailable

    async def unreachable(group, channel):
        raise ConnectionRefusedError("Error 111 connecting to 10.1.2.3:6379")

    monkeypatch.setattr(layer, "group_add", unreachable)
    with pytest.raises(ChannelLayerUnavailable) as info:
        async with consumer.listen_to_channel("chat.message", groups=[group_name()]):
            pass
    assert "10.1.2.3" not in info.value.message and info.value.extensions == {"code": "SERVICE_UNAVAILABLE"}
    monkeypatch.undo()
    no_leftovers(layer, consumer)


async def test_a_cancelled_first_join_lets_the_waiting_one_join(layer, consumer, monkeypatch):
    room = group_name()
    real_group_add = layer.group_add
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_group_add(group, channel):
        started.set()
        await release.wait()
        await real_group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", slow_group_add)
    other = ChannelsConsumer()

    async def first_listener():
        async with consumer.listen_to_channel("chat.message", groups=[room]):
            pass  # pragma: no cover - cancelled while joining

    first = asyncio.create_task(first_listener())
    await started.wait()
    got = []

    async def second_listener():
        async with other.listen_to_channel("chat.message", groups=[room]) as messages:
            got.append(await next_message(messages))

    second = asyncio.create_task(second_listener())
    await settle()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    release.set()
    while membership(layer, room) is None or not membership(layer, room).listeners:
        await asyncio.sleep(0.001)
    await layer.group_send(room, {"type": "chat.message", "text": "second joined"})
    await asyncio.wait_for(second, 2)
    assert got[0]["text"] == "second joined"
    no_leftovers(layer, other)


async def test_a_long_lived_membership_is_renewed_before_the_layer_expires_it(consumer):
    from channels.layers import InMemoryChannelLayer

    layer = InMemoryChannelLayer(group_expiry=1, capacity=100)
    consumer.raw_channel_layer = layer
    group = group_name()
    async with consumer.listen_to_channel("news", groups=[group]) as listener:
        await asyncio.sleep(2.2)  # twice the expiry: only renewals keep the membership
        await layer.group_send(group, {"type": "news", "n": 1})  # drops expired memberships first
        assert (await next_message(listener))["n"] == 1
    assert layer.groups.get(group, {}) == {}


async def test_groups_joined_by_hand_are_left_when_the_connection_ends(layer):
    # The Channels tutorial's way: group_add(group, ws.channel_name), and no
    # group_discard when the socket just goes away.
    consumer = ChannelsConsumer()
    group, other = group_name(), group_name()
    channel = await consumer.ensure_channel_name()
    await consumer.channel_layer.group_add(group, channel)
    await consumer.channel_layer.group_add(other, consumer.channel_name)
    await consumer.channel_layer.group_discard(other, consumer.channel_name)
    await consumer.channel_layer.group_add(group_name(), "someone.else!x")  # not ours: left alone
    assert consumer.channel_layer.joined == {group}
    await consumer.close_channel_layer()
    assert all(channel not in members for members in layer.groups.values())
    assert len(layer.groups) == 1


async def test_the_layer_view_is_the_layer_for_everything_else(layer, consumer):
    view = consumer.channel_layer
    assert view.extensions == layer.extensions
    assert view.new_channel.__self__ is layer
    assert view.receive.__self__ is layer


# -- the Channels tutorial's greeting: groups joined by hand, then listened to --------


async def test_the_tutorials_greeting_then_every_room_message_exactly_once(layer, consumer):
    """group_add(room, channel_name) by hand, group_send a greeting, *then* listen with groups=rooms."""
    rooms = [group_name(), group_name()]
    view = consumer.channel_layer
    await consumer.ensure_channel_name()
    for room in rooms:
        await view.group_add(room, consumer.channel_name)
    for room in rooms:
        await view.group_send(room, {"type": "chat.message", "room_id": room, "text": "hello"})
    await settle()  # the greetings reach the own channel while nothing listens
    other = ChannelsConsumer()  # another socket in this process, listening through the shared membership
    try:
        async with consumer.listen_to_channel("chat.message", groups=rooms) as messages, \
                other.listen_to_channel("chat.message", groups=rooms[:1]) as others:
            assert [(await next_message(messages))["room_id"] for _ in rooms] == rooms
            # Rooms joined by hand are read from the own channel, not joined a second time.
            assert membership(layer, rooms[1]) is None
            assert membership(layer, rooms[0]).users == 1  # the other socket's
            for n in range(3):
                await layer.group_send(rooms[n % 2], {"type": "chat.message", "room_id": rooms[n % 2], "n": n})
            await settle()
            assert [(await next_message(messages))["n"] for _ in range(3)] == [0, 1, 2]
            assert [(await next_message(others))["n"] for _ in range(2)] == [0, 2]
            await settle()
            assert messages.pending == 0 and others.pending == 0  # nothing twice
    finally:
        await other.close_channel_layer()


async def test_groups_partly_joined_by_hand_are_read_once_each(layer, consumer):
    by_hand, joined_by_listener = group_name(), group_name()
    await consumer.ensure_channel_name()
    await consumer.channel_layer.group_add(by_hand, consumer.channel_name)
    async with consumer.listen_to_channel("m", groups=[by_hand, joined_by_listener]) as messages:
        assert membership(layer, joined_by_listener).users == 1
        await layer.group_send(by_hand, {"type": "m", "n": 1})
        await layer.group_send(joined_by_listener, {"type": "m", "n": 2})
        received = sorted([(await next_message(messages))["n"] for _ in range(2)])
        assert received == [1, 2]
        await settle()
        assert messages.pending == 0
    await consumer.channel_layer.group_discard(by_hand, consumer.channel_name)
    await consumer.close_channel_layer()
    no_leftovers(layer, consumer)


@pytest.mark.parametrize("on_groups", [True, False], ids=["groups", "own-channel"])
async def test_one_listener_for_several_types_gets_them_in_arrival_order(layer, consumer, on_groups):
    room = group_name()
    groups = [room] if on_groups else []
    async with consumer.listen_to_channel(("model.saved", "model.deleted"), groups=groups) as events:
        if not on_groups:
            await layer.group_add(room, consumer.channel_name)
        for kind in ("model.saved", "other.type", "model.deleted", "model.saved"):
            await layer.group_send(room, {"type": kind})
        assert [(await next_message(events))["type"] for _ in range(3)] == [
            "model.saved", "model.deleted", "model.saved"]
        await settle()
        assert events.pending == 0
        if not on_groups:
            await layer.group_discard(room, consumer.channel_name)
    await consumer.close_channel_layer()
    no_leftovers(layer, consumer)


async def test_unclaimed_own_channel_messages_are_held_as_the_layer_would(layer, consumer, monkeypatch):
    await consumer.ensure_channel_name()
    channel = consumer.channel_name
    monkeypatch.setattr(layer, "capacity", 3)
    for message in [*({"type": "m", "n": n} for n in range(5)), {"type": "other", "n": 9}]:
        await layer.send(channel, message)
        await settle()  # received from the layer one by one: its own capacity is 3 now too
    # Oldest dropped beyond the layer's capacity; other types stay for their own listeners.
    async with consumer.listen_to_channel("m") as messages:
        assert [(await next_message(messages))["n"] for _ in range(2)] == [3, 4]
        await settle()
        assert messages.pending == 0
    assert [m["type"] for m in consumer.unclaimed_messages] == ["other"]
    # ...and no longer than the layer's expiry.
    monkeypatch.setattr(layer, "expiry", 0)
    async with consumer.listen_to_channel("other") as others:
        await settle()
        assert others.pending == 0
    assert not consumer.unclaimed_messages


async def test_no_message_type_is_refused(consumer):
    with pytest.raises(ValueError, match="at least one message type"):
        async with consumer.listen_to_channel(()):
            pass


async def test_a_listener_of_several_types_gets_the_unclaimed_messages_of_each(layer, consumer):
    room = group_name()
    await consumer.ensure_channel_name()
    await consumer.channel_layer.group_add(room, consumer.channel_name)
    for kind in ("model.saved", "other", "model.deleted"):
        await layer.group_send(room, {"type": kind})
    await settle()
    async with consumer.listen_to_channel(("model.saved", "model.deleted"), groups=[room]) as events:
        assert [(await next_message(events))["type"] for _ in range(2)] == ["model.saved", "model.deleted"]
        assert membership(layer, room) is None  # read from the own channel
    assert [m["type"] for m in consumer.unclaimed_messages] == ["other"]


async def test_the_layer_view_retries_a_publish_once_when_the_server_was_unreachable(layer, consumer, monkeypatch):
    room = group_name()
    attempts = []
    real_group_send = layer.group_send

    async def stale_then_fine(group, message):
        attempts.append(message)
        if len(attempts) == 1:  # a pooled connection the restarted server dropped
            raise ConnectionResetError("Connection closed by server.")
        await real_group_send(group, message)

    async with consumer.listen_to_channel("chat.message", groups=[room]) as messages:
        monkeypatch.setattr(layer, "group_send", stale_then_fine)
        await consumer.channel_layer.group_send(room, {"type": "chat.message", "text": "once"})
        assert (await next_message(messages))["text"] == "once"
        assert len(attempts) == 2

        async def refused(group, message):
            attempts.append(message)
            raise ValueError("not a connection problem")

        monkeypatch.setattr(layer, "group_send", refused)
        with pytest.raises(ValueError):
            await consumer.channel_layer.group_send(room, {"type": "chat.message"})
        assert len(attempts) == 3  # other errors are not retried
