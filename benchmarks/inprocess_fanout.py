"""Subscription fan-out in one process, no sockets: the consumers' own cost per delivery.

``N`` consumer instances are driven through ASGI as a server would drive
WebSockets (``websocket.connect``, then ``connection_init`` and ``subscribe``
text frames over ``graphql-transport-ws``); their ``send`` only counts
frames. Probe messages go to the group until every subscriber got one, then
``M`` group messages are sent back to back through the in-memory layer.
Figures: deliveries/s (``N × M`` / wall time from the first send to the last
delivery) and the process's CPU time per delivery, for Strawberry's
``GraphQLWSConsumer``, ours, and ours with ``SHARED_SUBSCRIPTION_RESULTS`` on,
all in the same run on the same Strawberry schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .report import Table, goal_line

GROUP = "bench"
INIT = json.dumps({"type": "connection_init", "payload": {}})
SUBSCRIBE = json.dumps({"id": "1", "type": "subscribe",
                        "payload": {"query": f'subscription {{ onGroupMessage(group: "{GROUP}") {{ text n }} }}'}})
STRAWBERRY = "Strawberry GraphQLWSConsumer"
OURS = "ours: GraphQLWSConsumer"
OURS_SHARED = "ours, SHARED_SUBSCRIPTION_RESULTS on"
GOAL = 8.0


class _Socket:
    """One WebSocket as the consumer sees it: a receive queue and a counting send."""

    __slots__ = ("accepted", "frames", "inbox", "task", "total")

    def __init__(self, total: list[int]) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames = 0
        self.total = total
        self.accepted = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            if '"next"' in (message.get("text") or ""):
                self.frames += 1
                self.total[0] += 1
        elif kind == "websocket.accept":
            self.accepted.set()


def _scope() -> dict[str, Any]:
    return {"type": "websocket", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
            "subprotocols": ["graphql-transport-ws"], "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "scheme": "ws", "root_path": "", "state": {}}


@dataclass
class InProcessResult:
    contender: str
    n: int
    m: int
    delivered: int = 0
    rate: float = 0.0
    cpu_s: float = 0.0
    errors: list[str] = field(default_factory=list)


async def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def measure_one(label: str, app: Any, *, n: int, m: int, timeout: float = 120.0) -> InProcessResult:
    from channels.layers import get_channel_layer

    result = InProcessResult(label, n, m)
    layer = get_channel_layer()
    await layer.flush()
    total = [0]
    sockets = [_Socket(total) for _ in range(n)]
    loop = asyncio.get_running_loop()
    try:
        for socket in sockets:
            socket.task = loop.create_task(app(_scope(), socket.receive, socket.send))
            socket.inbox.put_nowait({"type": "websocket.connect"})
            socket.inbox.put_nowait({"type": "websocket.receive", "text": INIT})
            socket.inbox.put_nowait({"type": "websocket.receive", "text": SUBSCRIBE})
        for _ in range(60):  # probes until every subscription listens
            await layer.group_send(GROUP, {"type": "group.message", "text": "probe", "n": -1})
            if await _wait(lambda: all(s.frames for s in sockets), 1.0):
                break
        else:
            result.errors.append(f"only {sum(1 for s in sockets if s.frames)}/{n} subscriptions got a probe")
            return result
        await asyncio.sleep(0.2)  # late probes drain
        gc.collect()
        base = total[0]
        target = base + n * m
        cpu = time.process_time()
        start = time.perf_counter()
        for i in range(m):
            await layer.group_send(GROUP, {"type": "group.message", "text": "hello", "n": i})
        finished = await _wait(lambda: total[0] >= target, timeout)
        elapsed = time.perf_counter() - start
        result.cpu_s = time.process_time() - cpu
        result.delivered = total[0] - base
        result.rate = result.delivered / elapsed
        if not finished:
            result.errors.append(f"{target - total[0]} of {n * m} deliveries missing after {timeout:g} s")
        return result
    except Exception as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        return result
    finally:
        for socket in sockets:
            socket.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        tasks = [s.task for s in sockets if s.task is not None]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        for task in tasks:
            task.cancel()
        await layer.flush()


def report(results: list[InProcessResult]) -> tuple[str, list[tuple[str, bool]]]:
    n, m = results[0].n, results[0].m
    by_name = {r.contender: r for r in results}
    strawberry = by_name.get(STRAWBERRY)
    table = Table(["contender", "deliveries/s", "vs Strawberry", "CPU us/delivery", "status"],
                  title=f"In-process fan-out, in-memory layer: {n} subscribers x {m} group messages, no sockets")
    for r in results:
        table.add([r.contender, f"{r.rate:,.0f}",
                   f"{r.rate / strawberry.rate:.2f}x" if strawberry and strawberry.rate else "-",
                   f"{r.cpu_s / r.delivered * 1e6:.0f}" if r.delivered else "-",
                   "ok" if not r.errors else "FAILED"])
    lines = [table.render()]
    for r in results:
        lines.extend(f"note: {r.contender}: {e}" for e in r.errors)
    goals: list[tuple[str, bool]] = []
    shared = by_name.get(OURS_SHARED)
    if shared and shared.rate and strawberry and strawberry.rate:
        goals.append(goal_line(f"in-process fan-out {n} subscribers, shared results: deliveries/s >= {GOAL:g}x "
                               "Strawberry", shared.rate / strawberry.rate, GOAL))
    lines.extend(text for text, _ in goals)
    return "\n".join(lines), goals


async def run(*, quick: bool = False, n: int = 1000) -> tuple[str, list[tuple[str, bool]]]:
    from django.test import override_settings
    from strawberry.channels import GraphQLWSConsumer as StrawberryWSConsumer

    from django_gql_channels import GraphQLWSConsumer
    from django_gql_channels.conf import gql_settings

    from .schemas import schema

    m = 10 if quick else 20
    results = [await measure_one(STRAWBERRY, StrawberryWSConsumer.as_asgi(schema=schema), n=n, m=m)]
    for label, shared in ((OURS, False), (OURS_SHARED, True)):
        with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "SHARED_SUBSCRIPTION_RESULTS": shared}):
            results.append(await measure_one(label, GraphQLWSConsumer.as_asgi(schema=schema), n=n, m=m))
    text, goals = report(results)
    print(text + "\n", flush=True)
    return text, goals
