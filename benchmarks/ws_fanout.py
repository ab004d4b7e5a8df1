"""Subscription fan-out over ``graphql-transport-ws`` against a live uvicorn server.

For each contender a fresh uvicorn process serves ``benchmarks.ws_server``;
this process is the client: ``N`` raw ``websockets`` connections that each
send ``connection_init``, wait for ``connection_ack`` and subscribe to
``onGroupMessage(group: "bench")`` (the bare consumer joins the group on the
same ``subscribe`` message). Then:

1. readiness: probe messages are sent to the group until every socket has
   received one (layer-agnostic proof that every subscription is live);
2. RSS: server RSS (after ``gc.collect()``) with the ``N`` subscribed sockets
   minus its RSS idle (measured after one warm-up subscription came and went),
   divided by ``N``;
3. burst: the server sends ``M`` group messages back to back from inside its
   own process and reports when it sent each; each socket timestamps each
   frame on arrival. Frames arrive in order on each socket, so the k-th burst
   frame on a socket is message k: no frame is decoded on the hot path.

Figures: deliveries/s = ``N * M`` / (last delivery - first send); for each
message its send-to-last-delivery latency (when the slowest socket got it),
reported as p50 and p99 across the ``M`` messages. Beside them, the server's
CPU time per delivery during the burst and the share of it spent in garbage
collection: CPU per delivery is what other load on the machine skews least.

The client disables permessage-deflate (browsers would offer it) so frame
compression, a server-side constant, does not dilute the comparison.

Every wait has a timeout and every loop a count; a contender that fails is
reported as such and the run goes on.

The SSE table sets ``SSE_STREAMS`` Server-Sent Events streams (distinct
connections mode: one ``POST`` with ``Accept: text/event-stream`` per
subscriber, read by a minimal chunked-HTTP/1.1 reader) beside the same number
of our WebSocket subscribers, measured the same way: each event chunk counts
as a frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .report import Table, goal_line

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = "graphql-transport-ws"
INIT = json.dumps({"type": "connection_init", "payload": {}})
SUBSCRIBE = json.dumps({"id": "1", "type": "subscribe",
                        "payload": {"query": 'subscription { onGroupMessage(group: "bench") { text n } }'}})

#: (label, websocket path)
CONTENDERS = [
    ("Channels AsyncWebsocketConsumer (floor)", "/bare"),
    ("Strawberry GraphQLWSConsumer", "/strawberry"),
    ("ours: GraphQLWSConsumer via get_application()", "/graphql"),
]
BARE, STRAWBERRY, OURS = (label for label, _ in CONTENDERS)
#: The Server-Sent Events contender: its "path" says which transport the client speaks.
SSE = "ours: GraphQL over SSE via get_application()"
SSE_PATH = "sse:/graphql"
SSE_STREAMS = 500
SSE_REQUEST = json.dumps({"query": 'subscription { onGroupMessage(group: "bench") { text n } }'}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def http_get_json(port: int, path: str, timeout: float) -> Any:
    """A minimal HTTP/1.1 GET: one request, ``Connection: close``, JSON body."""

    async def go() -> Any:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"GET {path}: {head[:100]!r}")
        return json.loads(body)

    return await asyncio.wait_for(go(), timeout)


# -- servers -------------------------------------------------------------------------


class Server:
    """A uvicorn subprocess serving ``benchmarks.ws_server`` on a free loopback port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "benchmarks.ws_server:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off",
             "--log-level", "warning", "--no-access-log", "--backlog", "4096"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()[-2000:]}")
            with contextlib.suppress(OSError, RuntimeError, asyncio.TimeoutError, ValueError):
                await http_get_json(self.port, "/bench/stats", 1.0)
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- clients ---------------------------------------------------------------------------


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


# -- one measurement -------------------------------------------------------------------


@dataclass
class FanoutResult:
    contender: str
    layer: str
    n: int
    m: int
    connected: int = 0
    delivered: int = 0
    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    rss_idle_kib: int = 0
    rss_subscribed_kib: int = 0
    #: server process CPU time and garbage-collection time during the burst
    server_cpu_s: float = 0.0
    server_gc_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.delivered == self.n * self.m

    @property
    def rss_per_socket_kib(self) -> float:
        return (self.rss_subscribed_kib - self.rss_idle_kib) / self.n if self.n else 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


async def measure_one(contender: str, path: str, *, layer: str, env: dict[str, str], n: int, m: int,
                      burst_timeout: float, profile: str | None = None) -> FanoutResult:
    result = FanoutResult(contender, layer, n, m)
    server = Server(env)
    subs: list[Subscriber] = []
    try:
        await server.wait_ready()
        # Warm-up: one subscription comes and goes, so lazy imports and
        # first-use caches are in the idle figure, not in the per-socket one.
        warm_counter = Counter()
        warm, warm_errors = await connect_all(server.port, path, 1, warm_counter)
        if warm_errors:
            result.errors.append(f"warm-up: {warm_errors[0]}")
            return result
        if not await wait_subscribed(server.port, warm, warm_counter, attempts=10):
            result.errors.append("warm-up subscription never received a message")
            return result
        await close_all(warm)
        await asyncio.sleep(0.5)
        result.rss_idle_kib = (await http_get_json(server.port, "/bench/stats", 30))["rss_kib"]

        counter = Counter()
        subs, errors = await connect_all(server.port, path, n, counter)
        result.connected = len(subs)
        if errors:
            result.errors.append(f"{len(errors)} sockets failed to connect, e.g. {errors[0]}")
            return result
        if not await wait_subscribed(server.port, subs, counter):
            got = sum(1 for s in subs if s.times)
            result.errors.append(f"only {got}/{n} subscriptions received a probe message")
            return result
        result.rss_subscribed_kib = (await http_get_json(server.port, "/bench/stats", 30))["rss_kib"]
        base = [len(s.times) for s in subs]
        counter.expect(counter.total + n * m)

        before = await http_get_json(server.port, "/bench/stats?collect=0", 30)
        if profile:
            await http_get_json(server.port, "/bench/profile?action=start", 30)
        sent = (await http_get_json(server.port, f"/bench/send?count={m}&n0=0", burst_timeout))["times"]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(counter.reached.wait(), burst_timeout)
        after = await http_get_json(server.port, "/bench/stats?collect=0", 30)
        if profile:
            await http_get_json(server.port, f"/bench/profile?action=stop&path={quote(profile)}", 60)
        # Includes answering the two stats requests: negligible next to a burst.
        result.server_cpu_s = after["cpu_seconds"] - before["cpu_seconds"]
        result.server_gc_s = sum(after["gc_seconds"]) - sum(before["gc_seconds"])

        result.delivered = sum(min(len(s.times) - b, m) for s, b in zip(subs, base))
        if result.delivered < n * m:
            result.errors.append(f"{n * m - result.delivered} of {n * m} deliveries missing after {burst_timeout:g} s")
        bad = [s for s in subs if s.bad]
        if bad:
            result.errors.append(f"{sum(s.bad for s in bad)} frames were not 'next', e.g. {bad[0].sample_bad}")
        last_arrivals = []
        for k in range(m):
            arrivals = [s.times[b + k] for s, b in zip(subs, base) if len(s.times) > b + k]
            if arrivals:
                last_arrivals.append((k, max(arrivals)))
        if last_arrivals:
            finish = max(t for _, t in last_arrivals)
            result.rate = result.delivered / max(finish - sent[0], 1e-9)
            latencies = [(t - sent[k]) * 1000 for k, t in last_arrivals]
            result.p50_ms = percentile(latencies, 50)
            result.p99_ms = percentile(latencies, 99)
        return result
    except Exception as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        return result
    finally:
        await close_all(subs)
        server.stop()


# -- the whole benchmark -----------------------------------------------------------------


def ours_available() -> str | None:
    """Why our WebSocket consumer cannot be benchmarked yet, or None."""
    try:
        from django_gql_channels import ws
    except Exception as exc:
        return f"django_gql_channels.ws not importable yet ({type(exc).__name__}: {exc})"
    if not hasattr(ws, "GraphQLWSConsumer"):
        return "django_gql_channels.ws has no GraphQLWSConsumer yet"
    return None


def report(results: list[FanoutResult], layer: str) -> tuple[str, list[tuple[str, bool]]]:
    lines = []
    goals: list[tuple[str, bool]] = []
    for n in sorted({r.n for r in results}):
        rows = [r for r in results if r.n == n]
        by_name = {r.contender: r for r in rows}
        strawberry = by_name.get(STRAWBERRY)
        bare = by_name.get(BARE)
        m = rows[0].m
        protocols = "graphql-transport-ws and graphql-sse" if SSE in by_name else "graphql-transport-ws"
        table = Table(["contender", "deliveries/s", "vs bare", "vs Strawberry", "p50 ms", "p99 ms",
                       "RSS/socket KiB", "CPU us/delivery", "GC %", "status"],
                      title=f"{'Fan-out' if SSE in by_name else 'WS fan-out'}, {layer} layer: {n} subscribers "
                            f"x {m} group messages ({protocols}, uvicorn)")
        for r in rows:
            table.add([
                r.contender, f"{r.rate:,.0f}",
                f"{r.rate / bare.rate:.2f}x" if bare and bare.rate else "-",
                f"{r.rate / strawberry.rate:.2f}x" if strawberry and strawberry.rate else "-",
                f"{r.p50_ms:.0f}", f"{r.p99_ms:.0f}", f"{r.rss_per_socket_kib:.1f}",
                f"{r.server_cpu_s / r.delivered * 1e6:.0f}" if r.delivered else "-",
                f"{r.server_gc_s / r.server_cpu_s * 100:.0f}" if r.server_cpu_s else "-",
                "ok" if r.ok else "FAILED",
            ])
        lines.append(table.render())
        for r in rows:
            for error in r.errors:
                lines.append(f"note: {r.contender}: {error}")
        ours = by_name.get(OURS)
        if n == 1000 and ours is not None and ours.rate:
            if strawberry and strawberry.rate:
                goals.append(goal_line(f"WS {layer} 1000 subscribers: deliveries/s >= 2x Strawberry",
                                       ours.rate / strawberry.rate, 2.0))
            if bare and bare.rate:
                goals.append(goal_line(f"WS {layer} 1000 subscribers: deliveries/s >= bare consumer",
                                       ours.rate / bare.rate, 1.0))
            if strawberry and strawberry.rss_subscribed_kib:
                text, passed = goal_line(
                    f"WS {layer} 1000 subscribers: RSS per socket <= Strawberry's "
                    f"({ours.rss_per_socket_kib:.1f} vs {strawberry.rss_per_socket_kib:.1f} KiB)",
                    ours.rss_per_socket_kib / strawberry.rss_per_socket_kib, 1.0, higher_is_better=False)
                goals.append((text, passed))
        if n == 1000 and ours is not None and ours.server_cpu_s and strawberry and strawberry.server_cpu_s:
            # Informational, not a goal: the same comparison on server CPU per
            # delivery, which other load on the machine does not skew.
            lines.append(f"info: server CPU per delivery at {n}: Strawberry / ours = "
                         f"{_cpu_per_delivery(strawberry) / _cpu_per_delivery(ours):.2f}x"
                         + (f", bare / ours = {_cpu_per_delivery(bare) / _cpu_per_delivery(ours):.2f}x"
                            if bare and bare.server_cpu_s else ""))
    lines.extend(text for text, _ in goals)
    return "\n".join(lines), goals


def _cpu_per_delivery(r: FanoutResult) -> float:
    return r.server_cpu_s / max(r.delivered, 1)


def _profile_path(directory: str | None, layer: str, n: int, path: str) -> str | None:
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    name = f"ws-{layer.split()[0].lower()}-{n}-{path.strip('/')}.prof"
    return os.path.abspath(os.path.join(directory, name))


async def run(*, quick: bool = False, redis: bool | None = None, sizes: tuple[int, ...] | None = None,
              profile_dir: str | None = None, sse: bool = True) -> tuple[str, list[tuple[str, bool]]]:
    sizes = sizes or (100, 1000)
    m = 20 if quick else 50
    raise_fd_limit(max(*sizes, SSE_STREAMS) * 2 + 256)
    contenders = list(CONTENDERS)
    notes = []
    missing = ours_available()
    if missing:
        contenders = [c for c in contenders if c[0] != OURS]
        notes.append(f"note: {missing}")
    layers: list[tuple[str, dict[str, str]]] = [("in-memory", {"BENCH_REDIS_URL": ""})]
    redis_server = None
    if redis is None:
        redis = shutil.which("redis-server") is not None and not quick
    if redis:
        redis_server = RedisServer()
        redis_server.wait_ready()
        layers.append(("Redis pub/sub", {"BENCH_REDIS_URL": redis_server.url}))
    out: list[str] = []
    goals: list[tuple[str, bool]] = []
    try:
        for layer, env in layers:
            results = []
            for n in sizes:
                for label, path in contenders:
                    results.append(await measure_one(
                        label, path, layer=layer, env=env, n=n, m=m, burst_timeout=120.0,
                        profile=_profile_path(profile_dir, layer, n, path)))
            if sse:
                # The SSE row, beside our WebSocket row at the same size.
                sse_rows = [(SSE, SSE_PATH)]
                if SSE_STREAMS not in sizes and not missing:
                    sse_rows.insert(0, (OURS, "/graphql"))
                for label, path in sse_rows:
                    results.append(await measure_one(
                        label, path, layer=layer, env=env, n=SSE_STREAMS, m=m, burst_timeout=120.0,
                        profile=_profile_path(profile_dir, layer, SSE_STREAMS, path.replace(":", "-"))))
            text, layer_goals = report(results, layer)
            text = "\n".join([text, *notes])
            print(text + "\n", flush=True)
            out.append(text)
            goals.extend(layer_goals)
    finally:
        if redis_server is not None:
            redis_server.stop()
    return "\n\n".join(out), goals
