"""GraphQL over Server-Sent Events against the example project under live uvicorn and daphne.

The npm ``graphql-sse`` client runs queries, mutations, subscriptions and the
chat flow in both of the protocol's modes, also across two server processes
on Redis; raw ``httpx`` requests check every status code and event shape of
the protocol and its refusals (never a 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import httpx
import pytest

from tests.e2e.conftest import run_asgi_server, run_node

WAIT = 10
TOKEN = "X-GraphQL-Event-Stream-Token"
STREAM = {"accept": "text/event-stream"}


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request, tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp(request.param), server=request.param) as live:
        yield live


def run_sse_client(node_modules, url: str, mode: str, room: str, other_url: str | None = None) -> dict:
    process = run_node("graphql_sse_client.mjs", url, mode, room, *([other_url] if other_url else []))
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(process.stdout)


def check_client_output(out: dict) -> None:
    assert out["query"] == [{"data": {"hello": "Hello, sse!"}}]
    assert out["mutation"] == [{"data": {"echo": "echoed"}}]
    assert out["count"] == [{"data": {"count": n}} for n in (1, 2, 3)]
    if out["mode"] == "distinct":
        assert out["validation"][0]["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    confirmation, greeting, typed = out["chat"]
    assert confirmation == {"data": {"joinChatRooms": None}}
    assert "Hello, my name is sse!" in greeting["data"]["joinChatRooms"]["message"]
    assert typed["data"]["joinChatRooms"]["message"] == "typed in node"
    assert out["early"] == [{"data": {"count": 1}}, {"data": {"count": 2}}]
    assert out["after"] == [{"data": {"hello": "Hello, world!"}}]


@pytest.mark.parametrize("mode", ["distinct", "single"])
def test_the_graphql_sse_client(server, node_modules, mode):
    check_client_output(run_sse_client(node_modules, f"{server.url}/graphql", mode, f"node-{mode}"))


async def room_subscribers(redis_url: str, room: str) -> int:
    """How many processes' layer connections listen to a chat room's group (Redis pub/sub)."""
    import redis.asyncio

    client = redis.asyncio.from_url(redis_url)
    try:
        counts = await client.pubsub_numsub(f"asgi__group__chat_{room}")
        return sum(count for _, count in counts)
    finally:
        await client.aclose()


@pytest.mark.parametrize("mode", ["distinct", "single"])
async def test_chat_across_two_servers_on_redis_and_aborts_leave_the_room(redis_url, live_server_factory,
                                                                          node_modules, mode):
    env = {"REDIS_URL": redis_url}
    first = live_server_factory(settings="tests.redis_settings", env=env)
    second = live_server_factory(settings="tests.redis_settings", env=env)
    room = f"redis-{mode}"
    out = await asyncio.to_thread(run_sse_client, node_modules, f"{first.url}/graphql", mode, room,
                                  f"{second.url}/graphql")
    check_client_output(out)
    # The client on the second server saw its own greeting, then the first's, then the message.
    start = out["otherStart"]
    assert start[0] == {"data": {"joinChatRooms": None}}
    assert "Hello, my name is other!" in start[1]["data"]["joinChatRooms"]["message"]
    messages = [seen["data"]["joinChatRooms"]["message"] for seen in out["otherSeen"]]
    assert messages[-1] == "typed in node"
    assert any("Hello, my name is sse!" in message for message in messages[:-1])
    # Both clients aborted: both servers stopped the generators and left the room.
    deadline = time.monotonic() + WAIT
    while await room_subscribers(redis_url, room):
        assert time.monotonic() < deadline, "a server still listens to the room after its client aborted"
        await asyncio.sleep(0.05)


# -- raw HTTP: event shapes ------------------------------------------------------------


def parse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an event stream; comment lines as ("", ":")."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        if block.startswith(":"):
            events.append(("", ":"))
            continue
        fields = dict(line.split(":", 1) for line in block.split("\n"))
        events.append((fields.get("event", "").strip(), fields.get("data", "").strip()))
    return events


def events(response: httpx.Response) -> list[tuple[str, str]]:
    return [event for event in parse_events(response.text) if event[0]]


class EventReader:
    """A streaming response read event by event (comments skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self._chunks = response.aiter_text()
        self._buffer = ""
        self._events: list[tuple[str, str]] = []

    async def next(self, count: int) -> list[tuple[str, str]]:
        while len(self._events) < count:
            self._buffer += await asyncio.wait_for(self._chunks.__anext__(), WAIT)
            *blocks, self._buffer = self._buffer.split("\n\n")
            for block in blocks:
                self._events.extend(event for event in parse_events(block + "\n\n") if event[0])
        taken, self._events = self._events[:count], self._events[count:]
        return taken


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as client:
        yield client


async def test_distinct_post_streams_results_then_complete(http):
    response = await http.post("/graphql", json={"query": "subscription { count(to: 2) }"}, headers=STREAM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    text = response.text
    if text.startswith(":\n\n"):  # the stream may open with a comment line
        text = text[3:]
    assert text == ('event: next\ndata: {"data":{"count":1}}\n\n'
                    'event: next\ndata: {"data":{"count":2}}\n\n'
                    "event: complete\ndata:\n\n")


async def test_distinct_get_streams_a_query(http):
    response = await http.get("/graphql", params={"query": "{ hello }"}, headers=STREAM)
    assert response.status_code == 200
    assert events(response) == [("next", '{"data":{"hello":"Hello, world!"}}'), ("complete", "")]


async def test_distinct_mutation_gives_one_next(http):
    response = await http.post("/graphql", json={"query": 'mutation { echo(text: "x") }'}, headers=STREAM)
    assert events(response) == [("next", '{"data":{"echo":"x"}}'), ("complete", "")]


async def test_distinct_request_errors_are_streamed(http):
    response = await http.post("/graphql", json={"query": "{ nope"}, headers=STREAM)
    assert response.status_code == 200
    (event, data), complete = events(response)
    assert event == "next" and "Syntax Error" in json.loads(data)["errors"][0]["message"]
    assert complete == ("complete", "")


async def test_distinct_bad_parameters_and_methods_keep_http_status_codes(http):
    assert (await http.post("/graphql", content=b"{", headers={**STREAM, "content-type": "application/json"})
            ).status_code == 400
    assert (await http.post("/graphql", json={"query": 1}, headers=STREAM)).status_code == 400
    assert (await http.get("/graphql", params={"query": 'mutation { echo(text: "x") }'}, headers=STREAM)
            ).status_code == 405


async def test_json_and_event_stream_accepted_streams_only_subscriptions(http):
    accept = {"accept": "application/graphql-response+json, application/json, text/event-stream"}
    query = await http.post("/graphql", json={"query": "{ hello }"}, headers=accept)
    assert query.headers["content-type"].startswith("application/graphql-response+json")
    subscription = await http.post("/graphql", json={"query": "subscription { count(to: 1) }"}, headers=accept)
    assert subscription.headers["content-type"].startswith("text/event-stream")


async def test_subscription_without_event_stream_names_sse(http):
    response = await http.post("/graphql", json={"query": "subscription { count(to: 1) }"})
    message = response.json()["errors"][0]["message"]
    assert "Subscriptions are served over WebSocket" in message
    assert "Accept: text/event-stream" in message


# -- raw HTTP: single connection mode ------------------------------------------------------


async def reserve(http) -> str:
    response = await http.put("/graphql")
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    return response.text


@contextlib.asynccontextmanager
async def open_stream(http, token: str, *, in_query: bool = False):
    if in_query:
        request = http.build_request("GET", "/graphql", params={"token": token}, headers=STREAM)
    else:
        request = http.build_request("GET", "/graphql", headers={**STREAM, TOKEN: token})
    response = await http.send(request, stream=True)
    try:
        yield EventReader(response)
    finally:
        await response.aclose()


async def test_single_connection_mode_end_to_end(http):
    token = await reserve(http)
    async with open_stream(http, token) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        response = await http.post("/graphql", headers={TOKEN: token}, json={
            "query": "subscription { count(to: 2) }", "extensions": {"operationId": "op1"}})
        assert (response.status_code, response.content) == (202, b"")
        assert await stream.next(3) == [
            ("next", '{"id":"op1","payload":{"data":{"count":1}}}'),
            ("next", '{"id":"op1","payload":{"data":{"count":2}}}'),
            ("complete", '{"id":"op1"}'),
        ]
        # A query over GET with the token: its result comes through the stream too.
        response = await http.get("/graphql", headers={TOKEN: token}, params={
            "query": "{ hello }", "extensions": json.dumps({"operationId": "op2"})})
        assert response.status_code == 202
        assert await stream.next(2) == [("next", '{"id":"op2","payload":{"data":{"hello":"Hello, world!"}}}'),
                                                ("complete", '{"id":"op2"}')]
        # A long subscription, stopped with DELETE.
        response = await http.post("/graphql", headers={TOKEN: token}, json={
            "query": "subscription { count(to: 1000000, delay: 0.01) }", "extensions": {"operationId": "long"}})
        assert response.status_code == 202
        assert (await stream.next(1))[0][0] == "next"
        response = await http.delete("/graphql", params={"operationId": "long"}, headers={TOKEN: token})
        assert (response.status_code, response.content) == (200, b"")
        # Stopping it again (or any unknown id) is allowed and does nothing.
        assert (await http.delete("/graphql", params={"operationId": "long"},
                                  headers={TOKEN: token})).status_code == 200


async def test_a_token_in_the_query_string_is_not_read(http):
    # Header only (issue 18): a URL token leaks into access logs and Referer.
    token = await reserve(http)
    async with open_stream(http, token, in_query=True) as stream:
        assert stream.status_code == 400  # an ordinary GET without a query
    # the reservation is still waiting for its stream
    async with open_stream(http, token) as stream:
        assert stream.status_code == 200


def assert_refused(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert fragment in response.json()["errors"][0]["message"]


async def test_single_connection_mode_refusals(http):
    bogus = {TOKEN: uuid.uuid4().hex}
    operation = {"query": "{ hello }", "extensions": {"operationId": "x"}}
    # An unknown token, whatever the request.
    assert_refused(await http.get("/graphql", headers={**STREAM, **bogus}), 404, "Stream not found")
    assert_refused(await http.post("/graphql", headers=bogus, json=operation), 404, "Stream not found")
    assert_refused(await http.delete("/graphql", headers=bogus, params={"operationId": "x"}), 404,
                   "Stream not found")
    assert_refused(await http.delete("/graphql", params={"operationId": "x"}), 404, "Stream not found")
    # Reservations answer text/plain.
    response = await http.put("/graphql", headers={"accept": "application/json"})
    assert_refused(response, 406, "text/plain")

    token = await reserve(http)
    headers = {TOKEN: token}
    assert_refused(await http.put("/graphql", headers=headers), 409, "Stream already registered")
    async with open_stream(http, token) as stream:
        assert stream.status_code == 200
        # A second stream on one token.
        assert_refused(await http.get("/graphql", headers={**STREAM, **headers}), 409, "Stream already open")
        # No operation id, when starting or stopping.
        assert_refused(await http.post("/graphql", headers=headers, json={"query": "{ hello }"}), 400,
                       "Operation ID is missing")
        assert_refused(await http.delete("/graphql", headers=headers), 400, "Operation ID is missing")
        # An id still running.
        running = {"query": "subscription { count(to: 1000000, delay: 0.01) }", "extensions": {"operationId": "r"}}
        assert (await http.post("/graphql", headers=headers, json=running)).status_code == 202
        assert_refused(await http.post("/graphql", headers=headers, json=running), 409, "already exists")
        # Request errors are GraphQL over HTTP's, in the reply.
        response = await http.post("/graphql", headers={**headers, "accept": "application/graphql-response+json"},
                                   json={"query": "{ nope }", "extensions": {"operationId": "bad"}})
        assert response.status_code == 400
        assert "Cannot query field" in response.json()["errors"][0]["message"]
    # The stream closed: its token is gone.
    assert_refused(await http.post("/graphql", headers=headers, json=operation), 404, "Stream not found")
