"""Apollo's multipart HTTP subscriptions against the example project under live uvicorn and daphne, on Redis.

The npm ``@apollo/client`` (its ``HttpLink``, no WebSocket link) runs queries,
mutations and subscriptions on one link: results, the chat flow, an early
unsubscribe (which must leave the chat room's Redis group), a failing
generator (Apollo's protocol errors) and a request error. Raw ``httpx``
requests check the framing byte for byte: content type, delimiters,
heartbeats and the close delimiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import run_asgi_server, run_node
from tests.e2e.test_sse import room_subscribers
from tests.multipart_support import ACCEPT, CONTENT_TYPE, DELIMITER, END, ONLY_MULTIPART, decode_part, split_parts

WAIT = 10
APOLLO = {"accept": ACCEPT}


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request, tmp_path_factory, redis_url):
    with run_asgi_server(tmp_path_factory.mktemp(request.param), server=request.param,
                         settings="tests.e2e.multipart_settings", env={"REDIS_URL": redis_url}) as live:
        yield live


class LiveMultipartSubscription:
    """A multipart subscription to a live server, its parts decoded as they arrive (heartbeats skipped)."""

    def __init__(self, http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any]) -> None:
        self.parts: asyncio.Queue[Any] = asyncio.Queue()
        self.raw = b""
        self._task = asyncio.ensure_future(self._read(http, url, {"query": query, "variables": variables}))

    async def _read(self, http: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> None:
        async with http.stream("POST", url, headers=APOLLO, json=payload) as response:
            assert response.headers["content-type"] == CONTENT_TYPE, response.headers
            pending = b""
            async for chunk in response.aiter_bytes():
                self.raw += chunk
                pending += chunk
                *pieces, pending = pending.split(DELIMITER)
                for piece in pieces:
                    if piece and piece != b"--\r\n":
                        part = decode_part(piece)
                        if part != {}:
                            self.parts.put_nowait(part)
            if pending == b"--\r\n":
                self.parts.put_nowait(END)

    async def next(self, timeout: float = WAIT) -> Any:
        getter = asyncio.ensure_future(self.parts.get())
        done, _ = await asyncio.wait({getter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        if self._task in done:
            self._task.result()  # raises what the reader raised
            raise AssertionError(f"the response ended: {self.raw!r}")
        raise AssertionError(f"no part within {timeout}s: {self.raw!r}")

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def wait_until_left(redis_url: str, room: str) -> None:
    deadline = time.monotonic() + WAIT
    while await room_subscribers(redis_url, room):
        assert time.monotonic() < deadline, "the server still listens to the room after its client went away"
        await asyncio.sleep(0.05)


async def test_apollo_client(server, node_modules, redis_url):
    room = f"apollo-{server.url.rsplit(':', 1)[1]}"
    process = await asyncio.to_thread(run_node, "apollo_multipart_client.mjs", f"{server.url}/graphql", room)
    assert process.returncode == 0, process.stdout + process.stderr + server.log()
    out = json.loads(process.stdout)
    assert out["query"] == {"hello": "Hello, apollo!"}
    assert out["mutation"] == {"echo": "echoed"}
    assert out["count"] == {"results": [{"data": {"count": n}} for n in (1, 2, 3)], "ended": "complete"}
    chat = out["chat"]
    assert chat["ended"] == "unsubscribed"
    confirmation, greeting, typed = chat["results"]
    assert confirmation == {"data": {"joinChatRooms": None}}
    assert "Hello, my name is apollo!" in greeting["data"]["joinChatRooms"]["message"]
    assert typed["data"]["joinChatRooms"]["message"] == "typed in apollo"
    assert out["early"] == {"results": [{"data": {"count": 1}}, {"data": {"count": 2}}], "ended": "unsubscribed"}
    failing = out["failing"]
    assert failing["results"] == [{"data": {"failAfter": 0}}] and failing["ended"] == "error"
    assert failing["error"]["protocolErrors"] == [{"message": "The subscription generator failed."}]
    validation = out["validation"]
    assert validation["ended"] == "error" and validation["error"]["graphQLErrors"] == [
        {"message": "Cannot query field 'nope' on type 'Subscription'."}]
    assert out["after"] == {"hello": "Hello, world!"}
    # Subscriptions went with Apollo's Accept, the rest without: both kinds were answered on one URL.
    assert out["accepts"].count(ACCEPT) == 5
    # Unsubscribing aborted the request: the server stopped the generator and left the room.
    await wait_until_left(redis_url, room)


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as client:
        yield client


async def test_a_subscription_is_framed_as_apollo_specifies(http):
    response = await http.post("/graphql", json={"query": "subscription { count(to: 2) }"}, headers=APOLLO)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.content == (b"\r\n--graphql"
                                b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
                                b'{"payload":{"data":{"count":1}}}\r\n--graphql'
                                b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
                                b'{"payload":{"data":{"count":2}}}\r\n--graphql--\r\n')


async def test_an_idle_subscription_gets_heartbeats_until_the_client_goes(http, redis_url):
    body = b""
    async with http.stream("POST", "/graphql", headers=APOLLO, json={
            "query": "subscription ($rooms: [ChatRoom!]!) { joinChatRooms(rooms: $rooms, user: \"raw\") { message } }",
            "variables": {"rooms": [{"roomName": "raw-heartbeat"}]}}) as response:
        assert response.headers["content-type"] == CONTENT_TYPE
        chunks = response.aiter_bytes()
        while body.count(b'{}\r\n--graphql') < 2:
            body += await asyncio.wait_for(chunks.__anext__(), WAIT)
    # Away mid-stream: the parts so far are whole, and nothing is left listening.
    parts = [decode_part(piece) for piece in body.split(DELIMITER)[1:-1]]
    assert parts[0] == {"payload": {"data": {"joinChatRooms": None}}}
    assert "Hello, my name is raw!" in parts[1]["payload"]["data"]["joinChatRooms"]["message"]
    assert parts[2:] == [{}] * (len(parts) - 2) and len(parts) >= 4
    await wait_until_left(redis_url, "raw-heartbeat")


async def test_queries_and_mutations_with_apollos_accept_are_json(http):
    for payload, data in (({"query": "{ hello }"}, {"hello": "Hello, world!"}),
                          ({"query": 'mutation { echo(text: "x") }'}, {"echo": "x"})):
        reply = await http.post("/graphql", json=payload, headers=APOLLO)
        assert reply.headers["content-type"] == "application/json; charset=utf-8"
        assert reply.json() == {"data": data}


async def test_with_only_multipart_acceptable_a_query_is_one_part(http):
    reply = await http.get("/graphql", params={"query": "{ hello }"}, headers={"accept": ONLY_MULTIPART})
    assert reply.status_code == 200 and reply.headers["content-type"] == CONTENT_TYPE
    assert split_parts(reply.content) == [{"payload": {"data": {"hello": "Hello, world!"}}}, END]
    reply = await http.post("/graphql", json={"query": "{ nope"}, headers={"accept": ONLY_MULTIPART})
    [part, end] = split_parts(reply.content)
    assert "Syntax Error" in part["payload"]["errors"][0]["message"] and end == END


async def test_a_failing_generator_ends_with_a_transport_level_error(http):
    reply = await http.post("/graphql", json={"query": "subscription { failAfter(n: 1) }"}, headers=APOLLO)
    assert split_parts(reply.content) == [
        {"payload": {"data": {"failAfter": 0}}},
        {"payload": None, "errors": [{"message": "The subscription generator failed."}]},
        END,
    ]


async def test_a_subscription_without_subscription_spec_names_it(http):
    reply = await http.post("/graphql", json={"query": "subscription { count(to: 1) }"},
                            headers={"accept": "multipart/mixed, application/json"})
    message = reply.json()["errors"][0]["message"]
    assert "Subscriptions are served over WebSocket" in message
    assert "multipart/mixed;subscriptionSpec" in message
