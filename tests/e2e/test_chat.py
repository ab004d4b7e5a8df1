"""The chat tutorial, live: the Channels room page and GraphQL subscribers talk to each other.

A message typed in the room page (its plain ``ChatConsumer`` at
``ws/chat/<room>/``) reaches a GraphQL ``joinChatRooms`` subscriber, and a
``sendChatMessage`` mutation reaches the room page. Checked with raw
WebSocket clients on uvicorn and daphne, then with the real room page in
headless Chromium, driven over the DevTools protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import free_port, require_binary, stop

WAIT = 10
JOIN = ("subscription ($rooms: [ChatRoom!]!, $user: String!) "
        "{ joinChatRooms(rooms: $rooms, user: $user) { roomName currentUser message } }")


async def recv(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def graphql_subscriber(live, rooms, user):
    ws = await connect(f"{live.ws_url}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=WAIT)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert await recv(ws) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "chat", "type": "subscribe", "payload": {
        "query": JOIN, "variables": {"rooms": [{"roomName": room} for room in rooms], "user": user}}}))
    # The subscription confirms with a null result once it listens, as the seed page's clients expect.
    assert await next_chat(ws) is None
    return ws


async def next_chat(ws) -> dict:
    message = await recv(ws)
    assert message["type"] == "next" and message["id"] == "chat", message
    return message["payload"]["data"]["joinChatRooms"]


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
async def test_room_page_consumer_and_graphql_subscribers_see_each_other(server, live_server_factory):
    live = live_server_factory(server=server)
    room_page = await connect(f"{live.ws_url}/ws/chat/lobby/", open_timeout=WAIT)
    subscriber = await graphql_subscriber(live, ["lobby", "kitchen"], "gql-user")
    try:
        # The subscriber greets each room when it has joined: the room page sees it.
        greetings = [await next_chat(subscriber), await next_chat(subscriber)]
        assert {g["roomName"] for g in greetings} == {"chat_lobby", "chat_kitchen"}
        assert all("Hello, my name is gql-user!" in g["message"] for g in greetings)
        assert "Hello, my name is gql-user!" in (await recv(room_page))["message"]

        # Typed in the room page -> the GraphQL subscriber.
        await room_page.send(json.dumps({"message": "typed in the room page"}))
        assert await next_chat(subscriber) == {"roomName": "chat_lobby", "currentUser": "gql-user",
                                               "message": "typed in the room page"}
        assert await recv(room_page) == {"message": "typed in the room page"}

        # sendChatMessage over HTTP -> the room page (and the subscriber).
        async with httpx.AsyncClient(timeout=WAIT) as http:
            response = await http.post(f"{live.url}/graphql", json={
                "query": 'mutation { sendChatMessage(room: {roomName: "lobby"}, message: "from graphql") }'})
        assert response.json() == {"data": {"sendChatMessage": True}}
        assert await recv(room_page) == {"message": "from graphql"}
        assert (await next_chat(subscriber))["message"] == "from graphql"

        # ...and over the GraphQL socket, to the other room only.
        await subscriber.send(json.dumps({"id": "say", "type": "subscribe", "payload": {
            "query": 'mutation { sendChatMessage(room: {roomName: "kitchen"}, message: "kitchen only") }'}}))
        seen = [await recv(subscriber) for _ in range(3)]
        chat = [m for m in seen if m["id"] == "chat"]
        assert chat[0]["payload"]["data"]["joinChatRooms"]["roomName"] == "chat_kitchen"
        assert {"id": "say", "type": "complete"} in seen
        with pytest.raises(asyncio.TimeoutError):  # the lobby page got nothing
            await asyncio.wait_for(room_page.recv(), 0.3)
    finally:
        await subscriber.close()
        await room_page.close()


# -- the real room page in Chromium ------------------------------------------------


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        with contextlib.suppress(pytest.skip.Exception):
            return require_binary(name)
    return require_binary("chromium")


class DevTools:
    """Just enough of the Chrome DevTools protocol to drive one page."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.ids = iter(range(1, 1_000_000))

    async def call(self, method: str, **params):
        call_id = next(self.ids)
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if reply.get("id") == call_id:
                assert "error" not in reply, reply
                return reply.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"{expression!r} stayed falsy for {timeout}s")


@contextlib.asynccontextmanager
async def chromium_page(url: str, tmp_path):
    binary = chromium_binary()
    port = free_port()
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        targets = None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                    if any(t["type"] == "page" for t in targets):
                        break
                await asyncio.sleep(0.1)
        assert targets, "Chromium did not open its DevTools port"
        page = next(t for t in targets if t["type"] == "page")
        async with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=WAIT) as ws:
            devtools = DevTools(ws)
            await devtools.call("Page.navigate", url=url)
            yield devtools
    finally:
        stop(process)


async def test_the_room_page_in_chromium(live_server_factory, tmp_path):
    chromium_binary()  # skip before starting a server
    live = live_server_factory()
    async with chromium_page(f"{live.url}/chat/browser/", tmp_path) as page:
        await page.wait_for("document.body && document.body.dataset.connected === 'true'")
        subscriber = await graphql_subscriber(live, ["browser"], "gql-watcher")
        try:
            greeting = await next_chat(subscriber)
            assert "Hello, my name is gql-watcher!" in greeting["message"]
            await page.wait_for("document.querySelector('#chat-log').value.includes('gql-watcher')")

            # Type into the page's input and press Enter, as a person would.
            await page.evaluate("document.querySelector('#chat-message-input').focus()")
            await page.call("Input.insertText", text="typed in chromium")
            for kind in ("keyDown", "keyUp"):
                await page.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                                windowsVirtualKeyCode=13)
            assert await next_chat(subscriber) == {"roomName": "chat_browser", "currentUser": "gql-watcher",
                                                   "message": "typed in chromium"}

            await subscriber.send(json.dumps({"id": "say", "type": "subscribe", "payload": {
                "query": 'mutation { sendChatMessage(room: {roomName: "browser"}, message: "shown in the page") }'}}))
            await page.wait_for("document.querySelector('#chat-log').value.includes('shown in the page')")
            log = await page.evaluate("document.querySelector('#chat-log').value")
            assert log.splitlines()[-2:] == ["typed in chromium", "shown in the page"]
        finally:
            await subscriber.close()


# -- across processes on Redis -------------------------------------------------------


async def test_chat_across_two_servers_on_redis(redis_url, live_server_factory):
    """Subscribers on two processes share rooms through Redis; each process joins a room once."""
    env = {"REDIS_URL": redis_url}
    first = live_server_factory(server="uvicorn", settings="tests.redis_settings", env=env)
    second = live_server_factory(server="daphne", settings="tests.redis_settings", env=env)
    subscribers = [await graphql_subscriber(first, ["redis"], f"first-{i}") for i in range(3)]
    other = await graphql_subscriber(second, ["redis"], "second")
    room_page = await connect(f"{second.ws_url}/ws/chat/redis/", open_timeout=WAIT)
    try:
        for ws, user in zip([*subscribers, other], ["first-0", "first-1", "first-2", "second"]):
            # Its own greeting reaches it (maybe after others'): it listens.
            while f"Hello, my name is {user}!" not in (message := await next_chat(ws))["message"]:
                assert "Hello, my name is" in message["message"]
        await room_page.send(json.dumps({"message": "typed on the second server"}))
        for ws in [*subscribers, other]:
            while (message := await next_chat(ws))["message"] != "typed on the second server":
                assert "Hello, my name is" in message["message"]  # only greetings before it
        async with httpx.AsyncClient(timeout=WAIT) as http:
            response = await http.post(f"{first.url}/graphql", json={
                "query": 'mutation { sendChatMessage(room: {roomName: "redis"}, message: "posted to the first") }'})
        assert response.json() == {"data": {"sendChatMessage": True}}
        while (await recv(room_page))["message"] != "posted to the first":
            pass
        for ws in [*subscribers, other]:
            assert (await next_chat(ws))["message"] == "posted to the first"
    finally:
        for ws in [*subscribers, other, room_page]:
            await ws.close()
