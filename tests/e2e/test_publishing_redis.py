"""Model events and broadcasts across processes, on a real Redis and live servers.

The servers read the test process's SQLite file, so a subscriber re-reads on
its own server what another process committed. Before anything is published
the test waits until Redis itself counts a subscriber of the group's pub/sub
channel, so no message can be published before a server listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

import httpx
import pytest
import redis.asyncio
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.test import override_settings
from websockets.asyncio.client import connect

from django_gql_channels import broadcast
from django_gql_channels.publishing import safe_group_name
from example_project.chat.models import Message
from example_project.settings import redis_channel_layers

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10
STORED = ("subscription ($room: String!) "
          "{ storedChatMessages(room: {roomName: $room}) { id roomName user message } }")


class Boom(Exception):
    pass


@pytest.fixture
def start_server(redis_url, live_server_factory, transactional_db):
    env = {"REDIS_URL": redis_url, "GQL_TEST_DATABASE": connection.settings_dict["NAME"]}
    return lambda server: live_server_factory(server=server, settings="tests.e2e.publishing_settings", env=env)


async def recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def subscribe(live, query: str, variables: dict):
    ws = await connect(f"{live.ws_url}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=WAIT)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert await recv(ws) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
    return ws


async def next_data(ws, field: str) -> dict:
    while True:
        message = await recv(ws)
        assert message["type"] == "next" and message["id"] == "s", message
        data = message["payload"]["data"][field]
        if data is not None:  # the confirming null, once that reaches clients
            return data


async def wait_until_redis_counts_a_listener(redis_url: str, *groups: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + WAIT
        for group in groups:
            channel = f"asgi__group__{group}"
            while dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0) < 1:
                assert time.monotonic() < deadline, f"no server subscribed to {channel}"
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


async def test_a_mutation_on_one_server_reaches_subscribers_on_another(start_server, redis_url):
    first, second = start_server("uvicorn"), start_server("daphne")
    subscriber = await subscribe(second, STORED, {"room": "redis"})
    room_page = await connect(f"{second.ws_url}/ws/chat/redis/", open_timeout=WAIT)
    try:
        await wait_until_redis_counts_a_listener(redis_url, "chat_log_redis", "chat_redis")
        async with httpx.AsyncClient(timeout=WAIT) as http:
            response = await http.post(f"{first.url}/graphql", json={
                "query": 'mutation { postChatMessage(room: {roomName: "redis"}, message: "stored on the first", '
                         'user: "ada") { id roomName user message } }'})
        posted = response.json()["data"]["postChatMessage"]
        assert posted["message"] == "stored on the first"
        assert await next_data(subscriber, "storedChatMessages") == posted
        assert await recv(room_page) == {"message": "stored on the first"}
    finally:
        await subscriber.close()
        await room_page.close()


@contextlib.asynccontextmanager
async def on_redis(redis_url: str):
    """This process on the same Redis layer as the servers."""
    from channels.layers import get_channel_layer

    with override_settings(CHANNEL_LAYERS=redis_channel_layers(redis_url)):
        try:
            yield
        finally:
            await get_channel_layer().flush()  # its connections on this loop


async def test_saves_committed_in_this_process_reach_a_subscriber_on_a_server(start_server, redis_url):
    live = start_server("uvicorn")
    room = "from test process"
    subscriber = await subscribe(live, STORED, {"room": room})

    def work():
        with contextlib.suppress(Boom), transaction.atomic():
            Message.objects.create(room=room, user="u", text="rolled back")
            raise Boom
        with transaction.atomic():
            with transaction.atomic():
                Message.objects.create(room=room, user="u", text="inner")
            return Message.objects.create(room=room, user="u", text="outer")

    try:
        await wait_until_redis_counts_a_listener(redis_url, safe_group_name(f"chat_log_{room}"))
        async with on_redis(redis_url):
            outer = await sync_to_async(work)()
        inner = await next_data(subscriber, "storedChatMessages")
        assert inner["message"] == "inner"  # not the rolled back one
        assert await next_data(subscriber, "storedChatMessages") == {
            "id": str(outer.pk), "roomName": room, "user": "u", "message": "outer"}
    finally:
        await subscriber.close()


async def test_a_worker_thread_broadcasts_like_a_celery_task(start_server, redis_url):
    live = start_server("daphne")
    subscriber = await subscribe(live, 'subscription { onGroupMessage(group: "jobs") { text n } }', {})
    errors: list[BaseException] = []

    def task(n: int) -> None:  # what a Celery task body does: plain sync code, no event loop
        try:
            broadcast("jobs", {"type": "group.message", "text": "job done", "n": n}, raise_errors=True)
        except BaseException as exc:
            errors.append(exc)

    try:
        await wait_until_redis_counts_a_listener(redis_url, "jobs")
        async with on_redis(redis_url):
            for n in range(2):
                worker = threading.Thread(target=task, args=(n,))
                worker.start()
                await sync_to_async(worker.join, thread_sensitive=False)()
        assert errors == []
        assert [await next_data(subscriber, "onGroupMessage") for _ in range(2)] == [
            {"text": "job done", "n": 0}, {"text": "job done", "n": 1}]
    finally:
        await subscriber.close()
