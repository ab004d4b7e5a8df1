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

Our consumer runs twice: as configured by default, and with
``SHARED_SUBSCRIPTION_RESULTS`` on (``BENCH_SHARED=1`` in the server's
environment). Layers: in-memory, then with ``redis-server`` on ``PATH``
``RedisChannelLayer`` ("Redis core") and ``RedisPubSubChannelLayer``.

Figures: deliveries/s = ``N * M`` / (last delivery - first send); for each
message its send-to-last-delivery latency (when the slowest socket got it),
reported as p50 and p99 across the ``M`` messages. Beside them, the server's
CPU time per delivery during the burst and the share of it spent in garbage
collection: CPU per delivery is what other load on the machine skews least.

The client disables permessage-deflate (browsers would offer it) so frame
compression, a server-side constant, does not dilute the comparison.

Every wait has a timeout and every loop a count; a contender that fails is
reported as such and the run goes on.

The memory table (issue 23) subscribes ``MEMORY_SOCKETS`` (1,000) sockets per
contender on the in-memory layer and sends no burst: server RSS per
subscribed connection, against the floor and Strawberry, and against the
goal in KiB.

The SSE table sets ``SSE_STREAMS`` Server-Sent Events streams (distinct
connections mode: one ``POST`` with ``Accept: text/event-stream`` per
subscriber, read by a minimal chunked-HTTP/1.1 reader) beside the same number
of our WebSocket subscribers, measured the same way: each event chunk counts
as a frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import quote

from .fanout_clients import Counter, Subscriber, close_all, connect_all, wait_subscribed
from .report import Table, goal_line
from .servers import RedisServer, Server, http_get_json, raise_fd_limit

#: (label, websocket path, extra server environment)
CONTENDERS: list[tuple[str, str, dict[str, str]]] = [
    ("Channels AsyncWebsocketConsumer (floor)", "/bare", {}),
    ("Strawberry GraphQLWSConsumer", "/strawberry", {}),
    ("ours: GraphQLWSConsumer via get_application()", "/graphql", {}),
    ("ours, SHARED_SUBSCRIPTION_RESULTS on", "/graphql", {"BENCH_SHARED": "1"}),
]
BARE, STRAWBERRY, OURS, OURS_SHARED = (label for label, _, _ in CONTENDERS)
#: issue 10's goals: deliveries/s against Strawberry at the largest size, per layer
FANOUT_GOALS = {"in-memory": 5.0, "Redis core": 4.0, "Redis pub/sub": 4.0}
#: issue 23's goals at default settings (shared results off): deliveries/s against Strawberry
DEFAULT_FANOUT_GOALS = {"in-memory": 4.0, "Redis core": 4.0, "Redis pub/sub": 4.0}
#: issue 23's memory figure: KiB of server RSS per subscribed connection, at this many sockets
MEMORY_SOCKETS = 1000
MEMORY_GOAL_KIB = 32.0
#: The Server-Sent Events contender: its "path" says which transport the client speaks.
SSE = "ours: GraphQL over SSE via get_application()"
SSE_PATH = "sse:/graphql"
SSE_STREAMS = 500


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
        return not self.errors and self.delivered == self.n * self.m and (self.m > 0 or self.rss_subscribed_kib > 0)

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
        if m == 0:  # the memory table: no burst
            return result
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
        shared = by_name.get(OURS_SHARED)
        largest = n == max(r.n for r in results if r.contender == STRAWBERRY) if strawberry else False
        if largest and shared is not None and shared.rate and strawberry and strawberry.rate:
            target = FANOUT_GOALS.get(layer, 4.0)
            goals.append(goal_line(f"WS {layer} {n} subscribers, shared results: deliveries/s >= {target:g}x "
                                   "Strawberry", shared.rate / strawberry.rate, target))
        if largest and ours is not None and ours.rate and strawberry and strawberry.rate:
            target = DEFAULT_FANOUT_GOALS.get(layer, 4.0)
            goals.append(goal_line(f"WS {layer} {n} subscribers, default settings: deliveries/s >= {target:g}x "
                                   "Strawberry", ours.rate / strawberry.rate, target))
        if largest and ours is not None and ours.rate:
            if bare and bare.rate:
                goals.append(goal_line(f"WS {layer} {n} subscribers: deliveries/s >= bare consumer",
                                       ours.rate / bare.rate, 1.0))
            if strawberry and strawberry.rss_subscribed_kib:
                text, passed = goal_line(
                    f"WS {layer} {n} subscribers: RSS per socket <= Strawberry's "
                    f"({ours.rss_per_socket_kib:.1f} vs {strawberry.rss_per_socket_kib:.1f} KiB)",
                    ours.rss_per_socket_kib / strawberry.rss_per_socket_kib, 1.0, higher_is_better=False)
                goals.append((text, passed))
        if largest and ours is not None and ours.server_cpu_s and strawberry and strawberry.server_cpu_s:
            # Informational, not a goal: the same comparison on server CPU per
            # delivery, which other load on the machine does not skew.
            lines.append(f"info: server CPU per delivery at {n}: Strawberry / ours = "
                         f"{_cpu_per_delivery(strawberry) / _cpu_per_delivery(ours):.2f}x"
                         + (f", bare / ours = {_cpu_per_delivery(bare) / _cpu_per_delivery(ours):.2f}x"
                            if bare and bare.server_cpu_s else ""))
    lines.extend(text for text, _ in goals)
    return "\n".join(lines), goals


def memory_report(results: list[FanoutResult]) -> tuple[str, list[tuple[str, bool]]]:
    """The memory table: RSS per subscribed connection, no burst."""
    by_name = {r.contender: r for r in results}
    bare, strawberry, ours = by_name.get(BARE), by_name.get(STRAWBERRY), by_name.get(OURS)
    n = results[0].n
    table = Table(["contender", "RSS/connection KiB", "vs bare", "vs Strawberry", "status"],
                  title=f"WS memory, in-memory layer: {n} subscribed sockets (server RSS per connection, uvicorn)")
    for r in results:
        per = r.rss_per_socket_kib
        table.add([r.contender, f"{per:.1f}",
                   f"{per / bare.rss_per_socket_kib:.2f}x" if bare and bare.rss_per_socket_kib > 0 else "-",
                   f"{per / strawberry.rss_per_socket_kib:.2f}x"
                   if strawberry and strawberry.rss_per_socket_kib > 0 else "-",
                   "ok" if r.ok else "FAILED"])
    lines = [table.render()]
    for r in results:
        lines.extend(f"note: {r.contender}: {error}" for error in r.errors)
    goals: list[tuple[str, bool]] = []
    if ours is not None and ours.ok:
        text, passed = goal_line(f"WS {n} subscribed sockets, default settings: server RSS KiB per connection",
                                 ours.rss_per_socket_kib, MEMORY_GOAL_KIB, higher_is_better=False)
        if bare is not None and bare.ok:
            text += f" (floor {bare.rss_per_socket_kib:.1f})"
        goals.append((text, passed))
    lines.extend(text for text, _ in goals)
    return "\n".join(lines), goals


def _cpu_per_delivery(r: FanoutResult) -> float:
    return r.server_cpu_s / max(r.delivered, 1)


def _profile_path(directory: str | None, layer: str, n: int, path: str, shared: bool = False) -> str | None:
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    layer_name = layer.replace(" ", "-").replace("/", "").lower()
    name = f"ws-{layer_name}-{n}-{path.strip('/')}{'-shared' if shared else ''}.prof"
    return os.path.abspath(os.path.join(directory, name))


async def run(*, quick: bool = False, redis: bool | None = None, sizes: tuple[int, ...] | None = None,
              profile_dir: str | None = None, sse: bool = True,
              memory: bool = True) -> tuple[str, list[tuple[str, bool]]]:
    sizes = sizes or (500,)
    m = 20 if quick else 50
    raise_fd_limit(max(*sizes, SSE_STREAMS) * 2 + 256)
    contenders = list(CONTENDERS)
    notes = []
    missing = ours_available()
    if missing:
        contenders = [c for c in contenders if c[0] not in (OURS, OURS_SHARED)]
        notes.append(f"note: {missing}")
    layers: list[tuple[str, dict[str, str]]] = [("in-memory", {"BENCH_REDIS_URL": ""})]
    redis_server = None
    if redis is None:
        redis = shutil.which("redis-server") is not None and not quick
    if redis:
        redis_server = RedisServer()
        redis_server.wait_ready()
        layers.append(("Redis core", {"BENCH_REDIS_URL": redis_server.url, "BENCH_REDIS_LAYER": "core"}))
        layers.append(("Redis pub/sub", {"BENCH_REDIS_URL": redis_server.url}))
    out: list[str] = []
    goals: list[tuple[str, bool]] = []
    try:
        if memory:
            memory_sockets = 200 if quick else MEMORY_SOCKETS
            raise_fd_limit(memory_sockets * 2 + 256)
            memory_results = [
                await measure_one(label, path, layer="in-memory", env={"BENCH_REDIS_URL": "", **extra_env},
                                  n=memory_sockets, m=0, burst_timeout=120.0)
                for label, path, extra_env in contenders if label != OURS_SHARED]
            text, memory_goals = memory_report(memory_results)
            print(text + "\n", flush=True)
            out.append(text)
            goals.extend(memory_goals)
        for layer, env in layers:
            results = []
            for n in sizes:
                for label, path, extra_env in contenders:
                    results.append(await measure_one(
                        label, path, layer=layer, env={**env, **extra_env}, n=n, m=m, burst_timeout=120.0,
                        profile=_profile_path(profile_dir, layer, n, path, bool(extra_env))))
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
