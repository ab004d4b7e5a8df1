"""The fan-out benchmark's subscribers: raw ``graphql-transport-ws`` sockets and SSE streams.

Each subscriber timestamps every frame on arrival and decodes none on the hot
path (see :mod:`.ws_fanout` for what is measured).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .servers import http_get_json

PROTOCOL = "graphql-transport-ws"
INIT = json.dumps({"type": "connection_init", "payload": {}})
SUBSCRIBE = json.dumps({"id": "1", "type": "subscribe",
                        "payload": {"query": 'subscription { onGroupMessage(group: "bench") { text n } }'}})
SSE_REQUEST = json.dumps({"query": 'subscription { onGroupMessage(group: "bench") { text n } }'}).encode()



class Counter:
    """Frames received by all sockets; wakes the waiter when a target is reached."""

    def __init__(self) -> None:
        self.total = 0
        self.target = -1
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.total += 1
        if self.total == self.target:
            self.reached.set()

    def expect(self, target: int) -> None:
        self.target = target
        self.reached.clear()
        if self.total >= target:
            self.reached.set()


@dataclass
class Subscriber:
    #: the connection: anything with ``transport.abort()``
    ws: Any
    times: list[float] = field(default_factory=list)
    bad: int = 0
    sample_bad: str = ""
    task: asyncio.Task | None = None


async def _read(sub: Subscriber, counter: Counter) -> None:
    now = time.time
    times = sub.times
    try:
        async for frame in sub.ws:
            times.append(now())
            if '"next"' not in frame:
                sub.bad += 1
                sub.sample_bad = str(frame)[:200]
            counter.add()
    except Exception:  # the connection went away (server stopped); the figures say what arrived
        pass


async def _read_sse(sub: Subscriber, reader: asyncio.StreamReader, counter: Counter) -> None:
    """Event chunks of a chunked HTTP/1.1 response: the server writes one event per chunk."""
    now = time.time
    times = sub.times
    try:
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            if chunk.startswith(b":"):
                continue  # keep-alive
            times.append(now())
            if not chunk.startswith(b"event: next"):
                sub.bad += 1
                sub.sample_bad = chunk[:200].decode(errors="replace")
            counter.add()
    except Exception:  # the connection went away (server stopped); the figures say what arrived
        pass


async def _connect_sse(port: int, path: str, counter: Counter, timeout: float) -> Subscriber:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Accept: text/event-stream\r\nContent-Length: {len(SSE_REQUEST)}\r\n\r\n".encode()
                     + SSE_REQUEST)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        if b" 200 " not in head.split(b"\r\n", 1)[0] or b"chunked" not in head.lower():
            raise RuntimeError(f"expected a chunked 200 event stream, got {head[:200]!r}")
    except BaseException:
        writer.transport.abort()
        raise
    sub = Subscriber(writer)
    sub.task = asyncio.get_running_loop().create_task(_read_sse(sub, reader, counter))
    return sub


async def _connect(port: int, path: str, counter: Counter, timeout: float) -> Subscriber:
    from websockets.asyncio.client import connect

    if path.startswith("sse:"):
        return await _connect_sse(port, path[4:], counter, timeout)
    url = f"ws://127.0.0.1:{port}{path}"

    ws = await connect(url, subprotocols=[PROTOCOL], compression=None, open_timeout=timeout,
                       ping_interval=None, close_timeout=1, max_queue=None)
    try:
        if ws.subprotocol != PROTOCOL:
            raise RuntimeError(f"server picked subprotocol {ws.subprotocol!r}")
        await ws.send(INIT)
        ack = await asyncio.wait_for(ws.recv(), timeout)
        if json.loads(ack).get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack[:200]!r}")
        await ws.send(SUBSCRIBE)
    except BaseException:
        await ws.close()
        raise
    sub = Subscriber(ws)
    sub.task = asyncio.get_running_loop().create_task(_read(sub, counter))
    return sub


async def connect_all(port: int, path: str, n: int, counter: Counter, *, parallel: int = 50,
                      timeout: float = 20.0) -> tuple[list[Subscriber], list[str]]:
    gate = asyncio.Semaphore(parallel)
    errors: list[str] = []

    async def one() -> Subscriber | None:
        async with gate:
            try:
                return await _connect(port, path, counter, timeout)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return None

    subs = await asyncio.gather(*(one() for _ in range(n)))
    return [s for s in subs if s is not None], errors


async def close_all(subs: list[Subscriber]) -> None:
    for sub in subs:
        sub.ws.transport.abort()  # the server is stopped right after; no close handshakes needed
    tasks = [s.task for s in subs if s.task is not None]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)


async def wait_subscribed(port: int, subs: list[Subscriber], counter: Counter, *,
                          attempts: int = 30, wait: float = 1.0) -> bool:
    """Send probe messages until every socket got one, then let stragglers drain."""
    for _ in range(attempts):
        await http_get_json(port, "/bench/send?count=1&n0=-1", 30)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if all(s.times for s in subs):
                await asyncio.sleep(0.3)
                return True
            await asyncio.sleep(0.02)
    return False
