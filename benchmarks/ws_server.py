"""The ASGI app the WebSocket fan-out benchmark serves with uvicorn.

Paths:

- ``/graphql``: ours, through the settings-driven ``get_application()`` router
  (``benchmarks.settings``: API-only, the benchmark's Strawberry schema);
- ``/strawberry``: ``strawberry.channels.GraphQLWSConsumer`` on the same schema
  (and its ``GraphQLHTTPConsumer`` for HTTP requests, for the wrk latency run);
- ``/bare``: a plain Channels ``AsyncWebsocketConsumer`` that joins the group
  and forwards each group message as one fixed frame (the framework floor);
- ``/bench/send?group=G&count=M&n0=K``: benchmark control, sends ``M`` group
  messages ``{"type": "group.message", "text": ..., "n": K+i}`` from inside
  this process (so the in-memory layer reaches the subscribers) and answers
  the ``time.time()`` taken just before each send;
- ``/bench/stats``: runs the garbage collector, answers RSS and task count;
- ``/bench/profile?action=start`` / ``?action=stop&path=FILE``: cProfile this
  process between the two calls (``python -m benchmarks --profile DIR``).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from strawberry.channels import GraphQLHTTPConsumer as StrawberryHTTPConsumer  # noqa: E402
from strawberry.channels import GraphQLWSConsumer as StrawberryWSConsumer  # noqa: E402

from django_gql_channels import get_application  # noqa: E402

from .schemas import schema  # noqa: E402

GROUP = "bench"
#: What the bare consumer sends per group message: the shape of our
#: ``next`` frame, but fixed, so no per-message encoding work at all.
FIXED_FRAME = '{"id":"1","type":"next","payload":{"data":{"onGroupMessage":{"text":"hello","n":0}}}}'


class BareWSConsumer(AsyncWebsocketConsumer):
    """What a Channels user writes to push group messages to a socket.

    It speaks just enough ``graphql-transport-ws`` (ack the init, join the
    group on subscribe) for the benchmark client to treat it like the others.
    """

    groups_joined = False

    async def connect(self) -> None:
        await self.accept("graphql-transport-ws")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "{}")
        if message.get("type") == "connection_init":
            await self.send(text_data='{"type":"connection_ack"}')
        elif message.get("type") == "subscribe" and not self.groups_joined:
            self.groups_joined = True
            await self.channel_layer.group_add(GROUP, self.channel_name)

    async def group_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=FIXED_FRAME)

    async def disconnect(self, code: int) -> None:
        if self.groups_joined:
            await self.channel_layer.group_discard(GROUP, self.channel_name)


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _json_response(send: Any, data: Any, status: int = 200) -> None:
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


_profiler: cProfile.Profile | None = None

#: CPU time spent in garbage collection, per generation: a large share of
#: fan-out time goes there when many sockets keep many objects alive. CPU
#: time, so that "GC % of CPU" stays a share on a busy machine (a collection
#: descheduled halfway would count its wait in wall time)...
_gc_seconds = [0.0, 0.0, 0.0]
_gc_counts = [0, 0, 0]
#: ...and the longest pause in wall time, which is what a client waits.
_gc_max = [0.0, 0.0, 0.0]
_gc_started = 0.0
_gc_started_cpu = 0.0


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    global _gc_started, _gc_started_cpu
    if phase == "start":
        _gc_started = time.perf_counter()
        _gc_started_cpu = time.process_time()
    else:
        pause = time.perf_counter() - _gc_started
        _gc_seconds[info["generation"]] += time.process_time() - _gc_started_cpu
        _gc_counts[info["generation"]] += 1
        _gc_max[info["generation"]] = max(_gc_max[info["generation"]], pause)


gc.callbacks.append(_gc_callback)


async def control(scope: dict[str, Any], receive: Any, send: Any) -> None:
    params = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    if scope["path"] == "/bench/send":
        layer = get_channel_layer()
        group = params.get("group", GROUP)
        count = min(int(params.get("count", "1")), 10_000)
        n0 = int(params.get("n0", "0"))
        times = []
        for i in range(count):
            times.append(time.time())
            await layer.group_send(group, {"type": "group.message", "text": "hello", "n": n0 + i})
        await _json_response(send, {"times": times})
    elif scope["path"] == "/bench/burn":
        # A plain ASGI answer after ``ms`` of CPU: what uvicorn's own latency
        # distribution looks like for a request that costs as much as ours.
        for _ in range(int(params.get("yields", "0"))):
            await asyncio.sleep(0)
        end = time.process_time() + float(params.get("ms", "5")) / 1000
        while time.process_time() < end:
            pass
        await _json_response(send, {"ok": True})
    elif scope["path"] == "/bench/profile":
        global _profiler
        if params.get("action") == "start":
            _profiler = cProfile.Profile()
            _profiler.enable()
        elif _profiler is not None:
            _profiler.disable()
            _profiler.dump_stats(params["path"])
            _profiler = None
        await _json_response(send, {"ok": True})
    elif scope["path"] == "/bench/stats":
        if params.get("collect", "1") == "1":
            gc.collect()
        if params.get("reset") == "1":
            _gc_max[:] = [0.0, 0.0, 0.0]
        await _json_response(send, {"rss_kib": _rss_kib(), "tasks": len(asyncio.all_tasks()), "pid": os.getpid(),
                                     "gc_seconds": _gc_seconds, "gc_counts": _gc_counts, "gc_max": _gc_max,
                                     "gc_collected": sum(g["collected"] for g in gc.get_stats()),
                                     "cpu_seconds": time.process_time()})
    else:
        await _json_response(send, {"error": "unknown control path"}, 404)


ours = get_application(django_application)
bare = BareWSConsumer.as_asgi()
strawberry_consumer = StrawberryWSConsumer.as_asgi(schema=schema)
strawberry_http = StrawberryHTTPConsumer.as_asgi(schema=schema, graphql_ide=None)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope.get("path", "")
    if scope["type"] == "http" and path.startswith("/bench/"):
        return await control(scope, receive, send)
    if scope["type"] == "websocket":
        if path == "/bare":
            return await bare(scope, receive, send)
        if path == "/strawberry":
            return await strawberry_consumer(scope, receive, send)
    elif scope["type"] == "http" and path == "/strawberry":
        return await strawberry_http(scope, receive, send)
    return await ours(scope, receive, send)
