"""``broadcast`` / ``abroadcast`` on the in-memory layer and the suite's SQLite database.

Absence is never waited for: where a message must not arrive, a later one is
sent and must be the next to arrive, since one channel keeps its order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from django_gql_channels import abroadcast, broadcast
from django_gql_channels.publishing import BroadcastError, safe_group_name
from tests.conftest import free_port
from tests.ws_support import group_inbox


class Boom(Exception):
    pass


def item(n) -> dict:
    return {"type": "news.item", "n": n}


@pytest.fixture
async def inbox(clean_layer):
    """``await inbox()``: the next message the group ``news`` receives."""
    return await group_inbox(clean_layer, "news")


def test_the_package_exports_both():
    import django_gql_channels

    assert {"broadcast", "abroadcast"} <= set(django_gql_channels.__all__)
    assert django_gql_channels.broadcast is broadcast


async def test_outside_a_transaction_it_sends_at_once(inbox):
    await sync_to_async(broadcast)("news", item(1))
    assert await inbox() == item(1)


@pytest.mark.django_db(transaction=True)
async def test_inside_an_atomic_block_it_sends_after_the_commit(inbox):
    def work():
        with transaction.atomic():
            broadcast("news", item("after commit"))
            broadcast("news", item("now"), on_commit=False)

    await sync_to_async(work)()
    assert [await inbox(), await inbox()] == [item("now"), item("after commit")]


@pytest.mark.django_db(transaction=True)
async def test_nothing_is_sent_for_a_rollback(inbox):
    def work():
        with contextlib.suppress(Boom), transaction.atomic():
            broadcast("news", item("rolled back"))
            raise Boom
        broadcast("news", item("later"))

    await sync_to_async(work)()
    assert await inbox() == item("later")


@pytest.mark.django_db(transaction=True)
async def test_nested_blocks_send_on_the_outermost_commit_only(inbox):
    def work():
        with transaction.atomic():
            with transaction.atomic():
                broadcast("news", item("inner, committed"))
            broadcast("news", item("marker"), on_commit=False)  # the inner commit sent nothing
            with contextlib.suppress(Boom), transaction.atomic():
                broadcast("news", item("savepoint rolled back"))
                raise Boom
            broadcast("news", item("outer"))
        with contextlib.suppress(Boom), transaction.atomic():
            with transaction.atomic():
                broadcast("news", item("inner of a rolled back block"))
            raise Boom
        broadcast("news", item("end"))

    await sync_to_async(work)()
    received = [await inbox() for _ in range(4)]
    assert received == [item("marker"), item("inner, committed"), item("outer"), item("end")]


@pytest.mark.django_db(transaction=True)
async def test_the_message_is_copied_when_broadcast_is_called(inbox):
    def work():
        message = item("as called")
        with transaction.atomic():
            broadcast("news", message)
            message["n"] = "changed before the commit"

    await sync_to_async(work)()
    assert await inbox() == item("as called")


async def test_sync_code_on_the_event_loop_thread_schedules_the_send(inbox):
    broadcast("news", item("from a sync resolver"))  # sync code, called in the loop's thread
    assert await inbox() == item("from a sync resolver")
    with pytest.raises(RuntimeError, match="abroadcast"):
        broadcast("news", item(0), raise_errors=True)


async def test_a_plain_thread_reaches_readers_of_the_in_memory_layer_on_the_loop(inbox):
    receiving = asyncio.ensure_future(inbox())
    for _ in range(5):
        await asyncio.sleep(0)  # the reader waits on the loop now
    thread = threading.Thread(target=broadcast, args=("news", item("from a thread")))
    thread.start()
    await asyncio.to_thread(thread.join)
    assert await receiving == item("from a thread")


async def test_a_thread_gives_up_on_a_loop_that_waits_for_it(inbox, caplog):
    caplog.set_level(logging.ERROR, "django_gql_channels.publishing")
    receiving = asyncio.ensure_future(inbox())
    for _ in range(5):
        await asyncio.sleep(0)  # the reader waits on the loop now
    thread = threading.Thread(target=broadcast, args=("news", item("never")), kwargs={"timeout": 0.1})
    thread.start()
    thread.join()  # blocks the loop the send would run on: no deadlock, an error logged
    assert "'news.item' message to group 'news' failed: no answer within 0.1s" in caplog.text
    receiving.cancel()


async def test_abroadcast_sends_at_once(inbox):
    await abroadcast("news", item("async"))
    assert await inbox() == item("async")


@pytest.mark.parametrize(("group", "message", "error"), [
    ("news room", item(1), ValueError),
    ("x" * 100, item(1), ValueError),
    (42, item(1), TypeError),
    ("news", {"n": 1}, ValueError),
    ("news", {"type": ""}, ValueError),
    ("news", ["type", "x"], TypeError),
])
async def test_bad_arguments_raise_at_once(group, message, error):
    with pytest.raises(error):
        broadcast(group, message)
    with pytest.raises(error):
        await abroadcast(group, message)


# -- layer errors --------------------------------------------------------------------------


def unreachable_redis():
    """A Redis layer on a port nothing listens on: every send fails for real."""
    layers = {**settings.CHANNEL_LAYERS, "down": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{free_port()}/0", "socket_timeout": None,
                              "max_connections": 4096}]},
    }}
    return override_settings(CHANNEL_LAYERS=layers, GQL_CHANNELS={**settings.GQL_CHANNELS, "CHANNEL_LAYER": "down"})


async def test_layer_errors_are_logged_not_raised(caplog):
    caplog.set_level(logging.ERROR, "django_gql_channels.publishing")
    with unreachable_redis():
        await sync_to_async(broadcast)("news", item(1), timeout=10)
        await abroadcast("news", item(2), timeout=10)
    # (The outage notice of the layer itself is logged too, once, by django_gql_channels.outage.)
    assert [r.getMessage().split(" failed")[0] for r in caplog.records if r.name == "django_gql_channels.publishing"
            ] == ["Broadcasting a 'news.item' message to group 'news'"] * 2


async def test_raise_errors_raises_broadcast_error():
    with unreachable_redis():
        with pytest.raises(BroadcastError, match="'news.item' message to group 'news' failed"):
            await sync_to_async(broadcast)("news", item(1), raise_errors=True, timeout=10)
        with pytest.raises(BroadcastError):
            await abroadcast("news", item(2), raise_errors=True, timeout=10)


async def test_a_missing_layer_is_logged(caplog):
    caplog.set_level(logging.ERROR, "django_gql_channels.publishing")
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "CHANNEL_LAYER": "nowhere"}):
        await abroadcast("news", item(1))
        with pytest.raises(BroadcastError, match="CHANNEL_LAYERS has no 'nowhere' layer"):
            await abroadcast("news", item(1), raise_errors=True)
    assert "CHANNEL_LAYERS has no 'nowhere' layer" in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_raise_errors_after_a_commit_raises_from_the_commit_which_happened():
    from example_project.chat.models import Message

    def work():
        with transaction.atomic():
            Message.objects.create(room="errors", user="u", text="kept")
            broadcast("news", item(1), raise_errors=True)

    with unreachable_redis(), pytest.raises(BroadcastError):
        await sync_to_async(work)()
    assert await Message.objects.filter(room="errors").acount() == 1


# -- group names ---------------------------------------------------------------------------


def test_safe_group_name_keeps_valid_names_and_derives_valid_distinct_ones():
    assert safe_group_name("chat_log_lobby.v2-x") == "chat_log_lobby.v2-x"
    spaced, underscored = safe_group_name("chat log"), safe_group_name("chat_log")
    assert spaced.startswith("chat_log.") and spaced != underscored
    assert safe_group_name("é") != safe_group_name("è")
    long = safe_group_name("x" * 300)
    assert len(long) < 100 and long != safe_group_name("x" * 301)
    for name in (spaced, long, safe_group_name("ünïcode room / 1")):
        BaseChannelLayer().require_valid_group_name(name)
