"""Time to first byte of a deferred query against the same query without ``@defer``, over real sockets.

A uvicorn subprocess serves ``benchmarks.defer_schema`` (a 20-item list and a
``slow`` field sleeping ``BENCH_DEFER_SLOW_MS``, default 200 ms). A client in
this process sends each query over a fresh loopback connection, one request at
a time, alternating the two, and times three moments from the request's last
byte: the response's first byte (TTFB), the end of the first payload (the
list, which the client can show), and the end of the response.

- ``without @defer``: ``{ items { id name } slow }``, answered as one JSON body
  once ``slow`` is done;
- ``with @defer``: ``{ items { id name } ... @defer { slow } }`` with Apollo
  Client's ``Accept: multipart/mixed;deferSpec=20220824, application/json``,
  answered as ``multipart/mixed``: the list first, ``slow`` in a later part.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from .report import Table, goal_line
from .servers import Server

PLAIN = "{ items { id name } slow }"
DEFERRED = "{ items { id name } ... @defer { slow } }"
APOLLO_ACCEPT = "multipart/mixed;deferSpec=20220824, application/json"


async def _timed(port: int, query: str, accept: str) -> tuple[float, float, float, bytes]:
    body = json.dumps({"query": query}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Accept: {accept}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                     + body)
        await writer.drain()
        sent = time.perf_counter()
        data = await reader.read(1)
        first_byte = time.perf_counter() - sent
        first_payload = None
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
            if first_payload is None and b'"items"' in data and (b'"hasNext":true}' in data or b'"slow"' in data):
                first_payload = time.perf_counter() - sent
        done = time.perf_counter() - sent
        if first_payload is None:  # everything came in the first read
            first_payload = first_byte
        return first_byte, first_payload, done, data
    finally:
        writer.close()


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def _p90(values: list[float]) -> str:
    return f"{sorted(values)[int(len(values) * 0.9) - 1] * 1000:.1f}"


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    from .defer_schema import SLOW_MS

    rounds = 10 if quick else 40
    server = Server({"DJANGO_SETTINGS_MODULE": "benchmarks.defer_settings"})
    try:
        await server.wait_ready()
        variants = {"without @defer": (PLAIN, "application/json"), "with @defer (multipart)": (DEFERRED, APOLLO_ACCEPT)}
        timings: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
        for name, (query, accept) in variants.items():  # warm-up, and a check of what is answered
            *_, data = await _timed(server.port, query, accept)
            expected = b"multipart/mixed" if accept is APOLLO_ACCEPT else b"application/json"
            if expected not in data or b'"done"' not in data:
                raise RuntimeError(f"{name}: unexpected reply {data[-400:]!r}")
        for _ in range(rounds):
            for name, (query, accept) in variants.items():
                first_byte, first_payload, done, _ = await _timed(server.port, query, accept)
                timings[name].append((first_byte, first_payload, done))
    finally:
        server.stop()
    table = Table([f"query (slow field: {SLOW_MS} ms)", "TTFB ms (median)", "TTFB p90", "first payload ms",
                   "complete ms"], title=f"@defer: time to first byte over loopback, {rounds} requests each")
    for name, rows in timings.items():
        ttfb = [row[0] for row in rows]
        table.add([name, _ms(ttfb), _p90(ttfb), _ms([row[1] for row in rows]), _ms([row[2] for row in rows])])
    text = table.render()
    print(text + "\n", flush=True)
    plain = statistics.median(row[0] for row in timings["without @defer"])
    deferred = statistics.median(row[0] for row in timings["with @defer (multipart)"])
    goals = [goal_line("@defer TTFB / TTFB without @defer", deferred / plain, 0.25, higher_is_better=False)]
    return text, goals
