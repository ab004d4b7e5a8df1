"""Live queries in one process, no sockets: one model save, a thousand live queries re-run.

``N`` consumer instances are driven through ASGI as in :mod:`.inprocess_fanout`,
each running ``query Todos @live { todos { id title done } }`` (20 rows, ORM
resolvers in Django's sync thread: ``SYNC_EXECUTION``) over
``graphql-transport-ws`` on the in-memory layer and a SQLite file. Once every
client has its first result (and the re-run after joining the model's group is
over), one ``Todo.save()`` changes a selected field. Figures: the time from the
save's commit until every client has the new result, the live-query re-runs
that took, and the process's CPU time per re-run and per client, with
``SHARED_SUBSCRIPTION_RESULTS`` off (a re-run per client) and on (one per
process). The save and the clients share the process, as a server's own
mutation would.

Runs in a child process (``python -m benchmarks.live_bench``) with its own
settings (:mod:`.live_settings`: the tests' to-do app installed).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .report import Table

ROOT = Path(__file__).resolve().parent.parent
QUERY = "query Todos @live { todos { id title done } }"
INIT = json.dumps({"type": "connection_init", "payload": {}})
SUBSCRIBE = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})


class Client:
    """One WebSocket as the consumer sees it: a receive queue, and a send that counts ``next`` frames."""

    __slots__ = ("frames", "inbox", "task")

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.frames = 0
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send" and '"next"' in (message.get("text") or ""):
            self.frames += 1


def scope() -> dict[str, Any]:
    return {"type": "websocket", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
            "subprotocols": ["graphql-transport-ws"], "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "scheme": "ws", "root_path": "", "state": {}}


async def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def _runs() -> int:
    from django_gql_channels.operations.live_queries import running_live_queries

    return sum(live.runs for live in running_live_queries())


async def _measure(label: str, n: int, *, shared: bool) -> list[str]:
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from django.test import override_settings

    from django_gql_channels import GraphQLWSConsumer
    from django_gql_channels.conf import gql_settings
    from tests.todos.models import Todo
    from tests.todos.schema import schema

    with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "SHARED_SUBSCRIPTION_RESULTS": shared}):
        app = GraphQLWSConsumer.as_asgi(schema=schema)
        layer = get_channel_layer()
        sockets = [Client() for _ in range(n)]
        loop = asyncio.get_running_loop()
        try:
            started = time.perf_counter()
            for socket in sockets:
                socket.task = loop.create_task(app(scope(), socket.receive, socket.send))
                socket.inbox.put_nowait({"type": "websocket.connect"})
                socket.inbox.put_nowait({"type": "websocket.receive", "text": INIT})
                socket.inbox.put_nowait({"type": "websocket.receive", "text": SUBSCRIBE})
            if not await wait_until(lambda: all(s.frames for s in sockets), 300):
                return [label, "-", "-", "-", "-", f"only {sum(1 for s in sockets if s.frames)}/{n} got a result"]
            first = time.perf_counter() - started
            # The re-run after joining the group, then quiet.
            previous = -1
            while previous != _runs():
                previous = _runs()
                await asyncio.sleep(0.5)
            gc.collect()
            runs_before = _runs()
            frames_before = [s.frames for s in sockets]
            todo = await sync_to_async(Todo.objects.order_by("pk").first)()
            todo.title = f"todo 0, saved at {time.time():.6f}"
            cpu = time.process_time()
            start = time.perf_counter()
            await sync_to_async(todo.save)()
            done = await wait_until(lambda: all(s.frames > f for s, f in zip(sockets, frames_before)), 300)
            elapsed = time.perf_counter() - start
            cpu_s = time.process_time() - cpu
            reruns = _runs() - runs_before
            status = "ok" if done else f"{sum(1 for s, f in zip(sockets, frames_before) if s.frames == f)} missed"
            return [label, f"{first:.2f}", f"{elapsed * 1000:,.0f}", f"{reruns:,}",
                    f"{cpu_s / max(reruns, 1) * 1e3:.2f}", f"{cpu_s / n * 1e6:,.0f}", status]
        finally:
            for socket in sockets:
                socket.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
            tasks = [s.task for s in sockets if s.task is not None]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
            await layer.flush()


async def _child(n: int) -> str:
    from asgiref.sync import sync_to_async
    from django.core.management import call_command

    from tests.todos.models import Todo

    await sync_to_async(call_command)("migrate", verbosity=0)
    await sync_to_async(lambda: Todo.objects.bulk_create(Todo(title=f"todo {i}") for i in range(20)))()
    table = Table(["live queries", "all first results s", "save -> all new results ms", "re-runs",
                   "CPU ms/re-run", "CPU us/client", "status"],
                  title=f"Live queries, in process: {n} clients of one @live query (20 rows), one save")
    table.add(await _measure("SHARED_SUBSCRIPTION_RESULTS off", n, shared=False))
    table.add(await _measure("SHARED_SUBSCRIPTION_RESULTS on", n, shared=True))
    return table.render()


async def run(*, quick: bool = False, n: int = 1000) -> tuple[str, list[tuple[str, bool]]]:
    n = 200 if quick else n
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.live_settings",
               "BENCH_LIVE_DB": str(Path(directory) / "live.sqlite3"), "PYTHONPATH": str(ROOT)}
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "benchmarks.live_bench", str(n)],
                                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    text = done.stdout.strip() if done.returncode == 0 else f"live-query benchmark failed:\n{done.stderr[-2000:]}"
    print(text + "\n", flush=True)
    return text, []


def main(argv: list[str]) -> None:
    import django

    django.setup()
    print(asyncio.run(_child(int(argv[0]) if argv else 1000)))


if __name__ == "__main__":
    main(sys.argv[1:])
