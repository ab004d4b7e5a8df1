"""Fault injection: SIGKILL the Redis server under a live uvicorn with subscribers, restart it on the same port.

For both Redis layers the original subscribers (graphql-transport-ws,
legacy graphql-ws, the Channels tutorial's own-channel way, and an Apollo
multipart HTTP subscription) receive new messages after the restart without
resubscribing and see no ``error`` or
``complete`` meanwhile; the first publish after the restart succeeds;
publishing and subscribing during the outage fail with clear errors
(``SERVICE_UNAVAILABLE``); nothing a client sees names the Redis server's address.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.multipart_support import END

WAIT = 10
NEXT_MESSAGE_BOUND = 8  # seconds the first message after a restart may take (the bound)
GROUP_QUERY = "subscription ($g: String!) { %s(group: $g) { text } }"


class Client:
    """One subscriber socket; remembers every frame it received."""

    def __init__(self, ws, protocol: str, field: str, seen: list[str]) -> None:
        self.ws = ws
        self.protocol = protocol
        self.field = field
        self.seen = seen

    @classmethod
    async def subscribe(cls, live, protocol: str, field: str, group: str, seen: list[str],
                        *, confirmed: bool = True) -> Client:
        """Subscribe; with ``confirmed``, wait for the confirming null (the subscription listens then)."""
        ws = await connect(f"{live.ws_url}/graphql", subprotocols=[protocol], open_timeout=WAIT)
        client = cls(ws, protocol, field, seen)
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await client.frame())["type"] == "connection_ack"
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {
            "query": GROUP_QUERY % field, "variables": {"g": group}}}))
        if confirmed:
            frame = await client.frame()
            assert frame["type"] in ("next", "data") and frame["payload"] == {"data": {field: None}}, frame
        return client

    async def frame(self, timeout: float = WAIT) -> dict:
        text = await asyncio.wait_for(self.ws.recv(), timeout)
        self.seen.append(text)
        return json.loads(text)

    async def text(self, timeout: float = WAIT) -> str:
        """The next message's text; anything but a result (an error, a complete) fails the test."""
        frame = await self.frame(timeout)
        assert frame["type"] in ("next", "data") and "errors" not in frame["payload"], frame
        return frame["payload"]["data"][self.field]["text"]

    async def texts_until(self, last: str) -> list[str]:
        texts = []
        while not texts or texts[-1] != last:
            texts.append(await self.text())
        return texts


async def publish(http, live, group: str, text: str, seen: list[str]) -> dict:
    reply = await http.post(f"{live.url}/graphql", json={
        "query": "mutation ($g: String!, $t: String!) { publish(group: $g, text: $t) }",
        "variables": {"g": group, "t": text}})
    seen.append(reply.text)
    return reply.json()


@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_subscribers_survive_a_redis_restart(layer, redis_server, live_server_factory):
    live = live_server_factory(settings="tests.e2e.outage_settings",
                               env={"REDIS_URL": redis_server.url, "OUTAGE_LAYER": layer})
    seen: list[str] = []
    subscribers = [
        await Client.subscribe(live, "graphql-transport-ws", "onGroupMessage", "news", seen),
        await Client.subscribe(live, "graphql-ws", "onGroupMessage", "news", seen),
        await Client.subscribe(live, "graphql-transport-ws", "ownChannelMessages", "news", seen),
    ]
    async with httpx.AsyncClient(timeout=WAIT) as http:
        # An Apollo multipart subscription over HTTP rides the outage too.
        from .test_multipart_subscriptions import LiveMultipartSubscription

        multipart = LiveMultipartSubscription(http, f"{live.url}/graphql", GROUP_QUERY % "onGroupMessage",
                                              {"g": "news"})
        assert await multipart.next() == {"payload": {"data": {"onGroupMessage": None}}}
        try:
            assert await publish(http, live, "news", "before", seen) == {"data": {"publish": True}}
            for subscriber in subscribers:
                assert await subscriber.text() == "before"
            assert await multipart.next() == {"payload": {"data": {"onGroupMessage": {"text": "before"}}}}

            redis_server.kill()
            # Publishing now fails with a clear error, as does a new subscription; a new socket still opens.
            failed = await publish(http, live, "news", "lost", seen)
            assert failed["errors"][0]["message"] == "Publishing is temporarily unavailable: try again shortly."
            assert failed["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
            for field in ("onGroupMessage", "ownChannelMessages"):
                newcomer = await Client.subscribe(live, "graphql-transport-ws", field, "later", seen, confirmed=False)
                refused = await newcomer.frame()
                assert refused["type"] in ("error", "next"), refused  # the operation ends; the socket stays open
                errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
                assert errors[0]["message"] == "Subscriptions are temporarily unavailable: try again shortly."
                assert errors[0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
                await newcomer.ws.close()
            # A new SSE subscription: refused in the stream's own terms, not with an HTTP 500 (issue 18, item 9).
            from .test_layer_faults import sse_subscription

            status, events = await sse_subscription(http, live, seen, WAIT)
            assert status == 200, (status, events)
            assert [e["event"] for e in events] == ["next", "complete"], events
            assert events[0]["data"]["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, events
            # A new multipart subscription: Apollo's transport-level error in the stream, then its end.
            newcomer = LiveMultipartSubscription(http, f"{live.url}/graphql", GROUP_QUERY % "onGroupMessage",
                                                 {"g": "multipart-later"})
            refused = await newcomer.next()
            seen.append(newcomer.raw.decode())
            assert refused["payload"] is None, refused
            assert refused["errors"][0]["message"] == "Subscriptions are temporarily unavailable: try again shortly."
            assert refused["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
            assert await newcomer.next() == END
            await asyncio.sleep(1.5)  # down about 2 s in all: several retries (each must not log)

            redis_server.restart()
            restarted = time.monotonic()
            # The first publish after the restart succeeds and reaches every original
            # subscriber (issue 18, item 11: it used to be lost while they re-joined).
            assert await publish(http, live, "news", "after", seen) == {"data": {"publish": True}}
            for subscriber in subscribers:
                assert await subscriber.text(timeout=NEXT_MESSAGE_BOUND) == "after"
            after = await multipart.next(NEXT_MESSAGE_BOUND)
            assert after == {"payload": {"data": {"onGroupMessage": {"text": "after"}}}}
            recovered = time.monotonic() - restarted
            assert await publish(http, live, "news", "final", seen) == {"data": {"publish": True}}
            for subscriber in subscribers:
                assert await subscriber.text() == "final"
            assert await multipart.next() == {"payload": {"data": {"onGroupMessage": {"text": "final"}}}}
            print(f"\n{layer}: the first message after the restart reached every subscriber in {recovered:.2f} s")
        finally:
            for subscriber in subscribers:
                await subscriber.ws.close()
            seen.append(multipart.raw.decode())
            await multipart.close()
    address = f"127.0.0.1:{redis_server.port}"
    assert not [text for text in seen if address in text or str(redis_server.port) in text]
    log = live.log()
    # Once when the outage began and once when it ended, however many retries in between.
    assert log.count("is unavailable") == 1, log
    assert log.count("answers again") == 1, log
