"""Fault injection: a frozen Redis (SIGSTOP) under a live uvicorn, for both Redis layers (issue 18, items 5 and 9).

With ``socket_timeout: None`` (what channels_redis' blocking receive needs)
redis-py waits for a stopped server forever. With ``LAYER_TIMEOUT`` every
layer call the app makes gives up in time: a publishing mutation, a new
WebSocket subscription and a new SSE subscription each fail with
``SERVICE_UNAVAILABLE`` within the timeout (never an HTTP 500, nothing that
names the server), and a new WebSocket handshake is acknowledged without the
layer. After SIGCONT the original subscriber gets new messages again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import httpx
import pytest

from .test_layer_outage import WAIT, Client, publish

LAYER_TIMEOUT = 1.0
SLACK = 1.5  # seconds beyond LAYER_TIMEOUT a refusal may take on this shared machine (a bound, not a benchmark)
RECOVERY_BOUND = 30


def freeze(redis_server) -> None:
    os.kill(redis_server.process.pid, signal.SIGSTOP)


def thaw(redis_server) -> None:
    os.kill(redis_server.process.pid, signal.SIGCONT)


async def sse_subscription(http, live, seen: list[str], bound: float) -> tuple[int, list[dict]]:
    """A distinct-connections SSE subscription: its status and the events it got within ``bound`` seconds."""
    events: list[dict] = []
    body = b""

    async def read(response) -> None:
        nonlocal body
        async for chunk in response.aiter_bytes():
            body += chunk
            if b"event: complete" in body or len(body) > 65536:
                return

    async with http.stream("POST", f"{live.url}/graphql", headers={"accept": "text/event-stream"}, json={
            "query": "subscription ($g: String!) { onGroupMessage(group: $g) { text } }",
            "variables": {"g": "sse-later"}}) as response:
        try:
            await asyncio.wait_for(read(response), bound)
        except TimeoutError:
            pass  # still open: the subscription listens
        text = body.decode()
        seen.append(text)
        for block in text.split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in lines:
                data = lines.get("data")
                events.append({"event": lines["event"], "data": json.loads(data) if data else None})
        return response.status_code, events


def refused_or_listening(payload: dict) -> str:
    """``"refused"`` for SERVICE_UNAVAILABLE, ``"listening"`` for the confirming null; anything else fails.

    On the pub/sub layer a SUBSCRIBE is only written to the socket (redis-py reads its reply
    later, in the receive loop), so subscribing to a frozen server need not wait: it listens,
    and receives once the server runs again.
    """
    if payload.get("errors"):
        assert payload["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, payload
        return "refused"
    assert payload == {"data": {"onGroupMessage": None}}, payload
    return "listening"


@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_a_frozen_redis_fails_layer_calls_in_time_and_handshakes_complete(layer, redis_server,
                                                                                  live_server_factory):
    live = live_server_factory(settings="tests.e2e.outage_settings", env={
        "REDIS_URL": redis_server.url, "OUTAGE_LAYER": layer, "OUTAGE_LAYER_TIMEOUT": str(LAYER_TIMEOUT)})
    seen: list[str] = []
    original = await Client.subscribe(live, "graphql-transport-ws", "onGroupMessage", "news", seen)
    async with httpx.AsyncClient(timeout=WAIT) as http:
        try:
            assert await publish(http, live, "news", "before", seen) == {"data": {"publish": True}}
            assert await original.text() == "before"
            freeze(redis_server)
            try:
                started = time.monotonic()
                failed = await publish(http, live, "news", "frozen", seen)
                assert time.monotonic() - started < LAYER_TIMEOUT + SLACK
                assert failed["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, failed

                # A new socket is acknowledged without the layer; its subscription is refused in time.
                started = time.monotonic()
                newcomer = await Client.subscribe(live, "graphql-transport-ws", "onGroupMessage", "later", seen,
                                                  confirmed=False)
                acked = time.monotonic() - started
                assert acked < LAYER_TIMEOUT, f"the handshake waited {acked:.2f} s"
                answer = await newcomer.frame(LAYER_TIMEOUT + SLACK)
                assert time.monotonic() - started < 2 * LAYER_TIMEOUT + SLACK
                outcomes = [refused_or_listening(
                    {"errors": answer["payload"]} if answer["type"] == "error" else answer["payload"])]
                await newcomer.ws.close()

                # An SSE subscription: refused in the stream (never a 500), or listening.
                status, events = await sse_subscription(http, live, seen, 2 * LAYER_TIMEOUT + SLACK)
                assert status == 200, (status, events)
                nexts = [e["data"] for e in events if e["event"] == "next"]
                if nexts:
                    outcomes.append(refused_or_listening(nexts[-1]))
                    if outcomes[-1] == "refused":
                        assert events[-1]["event"] == "complete", events
                else:
                    outcomes.append("listening")
                print(f"\n{layer}: new subscriptions on a frozen Redis (WebSocket, SSE): {outcomes}")
                if layer == "core":
                    assert outcomes == ["refused", "refused"]
            finally:
                thaw(redis_server)

            # Recovery stays as it was: the original subscriber gets the next messages.
            thawed = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                reply = await publish(http, live, "news", f"after {attempt}", seen)
                if reply == {"data": {"publish": True}}:
                    try:
                        await original.text(timeout=0.5)
                        break
                    except TimeoutError:
                        pass
                assert time.monotonic() - thawed < RECOVERY_BOUND, "the subscriber did not resume"
        finally:
            await original.ws.close()
    port = str(redis_server.port)
    assert not [text for text in seen if port in text]
