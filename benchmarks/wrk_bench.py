"""Latency under load: uvicorn serving ``items(n: 100)``, driven by ``wrk``.

For each contender a fresh uvicorn process serves ``benchmarks.ws_server``
(ours at ``/graphql`` through ``get_application()``, Strawberry's
``GraphQLHTTPConsumer`` at ``/strawberry``), on uvloop (what
``uvicorn[standard]`` picks) and on the standard asyncio loop (``--loop
asyncio``). Beside them, a plain ASGI app that burns as much CPU per request
as ours cost in the row before and answers fixed JSON: the server's own
latency distribution for such a request, without any framework. ``wrk`` POSTs the query over
``CONNECTIONS`` keep-alive connections for ``DURATION`` seconds after a short
warm-up, and reports the latency distribution. Figures: requests/s, p50,
p90, p99 and p99/p50, plus the server's garbage collections during the run
(count of full ones, total and longest pause): what the tail is made of.
Then :mod:`.connection_latency` drives the same server over as many
connections for ``PER_CONNECTION`` seconds and keeps each connection's
latencies apart: how many requests the least and the most served connection
got, and the spread of their p99s (a tail that a few connections carry is
unfair scheduling, not slow requests).

``wrk`` is a Debian package (``apt-get install wrk``); without it this part
is skipped with a note.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from .connection_latency import drive
from .report import Table, goal_line
from .servers import Server, http_get_json

QUERY = "{ items(n: 100) { id name tags } }"
CONNECTIONS = 16
DURATION = 10
WARMUP = 2
PER_CONNECTION = 4

#: (label, path, uvicorn --loop)
CONTENDERS: list[tuple[str, str, str]] = [
    ("Strawberry GraphQLHTTPConsumer (uvloop)", "/strawberry", "uvloop"),
    ("ours: get_application() (uvloop)", "/graphql", "uvloop"),
    ("plain ASGI app, same CPU per request (uvloop)", "/bench/burn", "uvloop"),
    ("Strawberry GraphQLHTTPConsumer (asyncio loop)", "/strawberry", "asyncio"),
    ("ours: get_application() (asyncio loop)", "/graphql", "asyncio"),
]
STRAWBERRY, OURS, BURN, STRAWBERRY_ASYNCIO, OURS_ASYNCIO = (label for label, _, _ in CONTENDERS)


@dataclass
class LatencyResult:
    contender: str
    rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    bad: int = 0
    gc_full: int = 0
    gc_seconds: float = 0.0
    gc_max_ms: float = 0.0
    cpu_s: float = 0.0
    #: From the per-connection run: requests of the least and the most served connection...
    conn_fewest: int = 0
    conn_most: int = 0
    #: ...and the lowest and highest of the connections' p99s (ms).
    conn_p99_min_ms: float = 0.0
    conn_p99_max_ms: float = 0.0
    errors: list[str] = field(default_factory=list)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, result: LatencyResult) -> None:
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "90%", "99%"):
            setattr(result, f"p{parts[0][:-1]}_ms", _ms(parts[1]))
        elif line.strip().startswith("Requests/sec:"):
            result.rate = float(parts[1])
        elif "requests in" in line:
            result.requests = int(parts[0])
        elif line.strip().startswith("Non-2xx") or line.strip().startswith("Socket errors"):
            result.bad += sum(int(n) for n in re.findall(r"\d+", line))


def wrk_script(body: bytes) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    with handle:
        handle.write('wrk.method = "POST"\n'
                     f"wrk.body = {json.dumps(body.decode())}\n"
                     'wrk.headers["Content-Type"] = "application/json"\n'
                     'wrk.headers["Accept"] = "application/json"\n')
    return handle.name


async def run_wrk(url: str, script: str, seconds: float) -> str:
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--latency", "-s", script, url,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), seconds + 60)
    return out.decode(errors="replace")


async def measure_one(label: str, path: str, loop: str, *, seconds: float, burn_ms: float = 0.0) -> LatencyResult:
    result = LatencyResult(label)
    server = Server({"BENCH_REDIS_URL": ""}, loop=loop)
    script = wrk_script(json.dumps({"query": QUERY}).encode())
    if path == "/bench/burn":
        path = f"{path}?ms={burn_ms:.2f}"
    try:
        await server.wait_ready()
        url = f"http://127.0.0.1:{server.port}{path}"
        await run_wrk(url, script, WARMUP)
        before = await http_get_json(server.port, "/bench/stats?collect=1&reset=1", 30)
        output = await run_wrk(url, script, seconds)
        after = await http_get_json(server.port, "/bench/stats?collect=0", 30)
        parse_wrk(output, result)
        if not result.requests:
            result.errors.append(f"wrk: {output[-300:]}")
        result.gc_full = after["gc_counts"][2] - before["gc_counts"][2]
        result.gc_seconds = sum(after["gc_seconds"]) - sum(before["gc_seconds"])
        result.gc_max_ms = max(after["gc_max"]) * 1000
        result.cpu_s = after["cpu_seconds"] - before["cpu_seconds"]
        per_connection = await asyncio.to_thread(drive, server.port, path, json.dumps({"query": QUERY}).encode(),
                                                 connections=CONNECTIONS, seconds=PER_CONNECTION, warmup=0.5)
        summary = per_connection.summary()
        result.conn_fewest, result.conn_most = int(summary["fewest_requests"]), int(summary["most_requests"])
        result.conn_p99_min_ms, result.conn_p99_max_ms = summary["conn_p99_min_ms"], summary["conn_p99_max_ms"]
        result.bad += per_connection.bad
    except Exception as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        server.stop()
        os.unlink(script)
    return result


def report(results: list[LatencyResult], seconds: float) -> tuple[str, list[tuple[str, bool]]]:
    table = Table(["contender", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99/p50", "GC % of CPU", "full GCs",
                   "longest GC ms", "req/conn min-max", "conn p99 ms min-max", "errors"],
                  title=f"uvicorn + wrk: POST {QUERY}, {CONNECTIONS} connections, {seconds:g} s "
                        f"(per connection: {PER_CONNECTION} s more)")
    for r in results:
        table.add([r.contender, f"{r.rate:,.0f}", f"{r.p50_ms:.1f}", f"{r.p90_ms:.1f}", f"{r.p99_ms:.1f}",
                   f"{r.p99_ms / r.p50_ms:.2f}" if r.p50_ms else "-",
                   f"{r.gc_seconds / r.cpu_s * 100:.0f}" if r.cpu_s else "-", str(r.gc_full),
                   f"{r.gc_max_ms:.1f}", f"{r.conn_fewest}-{r.conn_most}",
                   f"{r.conn_p99_min_ms:.0f}-{r.conn_p99_max_ms:.0f}", str(r.bad + len(r.errors))])
    lines = [table.render()]
    for r in results:
        lines.extend(f"note: {r.contender}: {e}" for e in r.errors)
    by_name = {r.contender: r for r in results}
    goals: list[tuple[str, bool]] = []
    for ours_name, strawberry_name, loop in ((OURS, STRAWBERRY, "uvloop"),
                                             (OURS_ASYNCIO, STRAWBERRY_ASYNCIO, "asyncio loop")):
        ours, strawberry = by_name.get(ours_name), by_name.get(strawberry_name)
        if ours and ours.p50_ms and strawberry and strawberry.p99_ms:
            goals.append(goal_line(f"wrk items(n: 100), {loop}: our p99 <= Strawberry's ({ours.p99_ms:.0f} vs "
                                   f"{strawberry.p99_ms:.0f} ms)", ours.p99_ms / strawberry.p99_ms, 1.0,
                                   higher_is_better=False))
        if ours and ours.p50_ms:
            goals.append(goal_line(f"wrk items(n: 100), {loop}: our p99/p50", ours.p99_ms / ours.p50_ms, 2.5,
                                   higher_is_better=False))
    ours, plain = by_name.get(OURS), by_name.get(BURN)
    if ours and ours.p50_ms and plain and plain.p50_ms:
        # The same run, the same load on the machine: the part of the tail that is the server's own.
        lines.append(f"floor: the plain ASGI app burning our CPU per request has p99/p50 "
                     f"{plain.p99_ms / plain.p50_ms:.2f} on uvloop in this run, ours {ours.p99_ms / ours.p50_ms:.2f}")
    lines.extend(text for text, _ in goals)
    return "\n".join(lines), goals


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    if shutil.which("wrk") is None:
        text = "uvicorn + wrk: skipped, wrk is not installed (apt-get install wrk)"
        print(text + "\n", flush=True)
        return text, []
    seconds = 4 if quick else DURATION
    results: list[LatencyResult] = []
    for label, path, loop in CONTENDERS:
        # The plain app burns what one of our requests cost the server in the row before.
        ours = results[-1] if results and results[-1].contender == OURS else None
        burn_ms = ours.cpu_s / ours.requests * 1000 if ours and ours.requests else 5.0
        results.append(await measure_one(label, path, loop, seconds=seconds, burn_ms=burn_ms))
    text, goals = report(results, seconds)
    print(text + "\n", flush=True)
    return text, goals
