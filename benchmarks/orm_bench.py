"""ORM throughput: 100 books with their authors from SQLite, under uvicorn, driven by ``wrk``.

Two pairs, each pair served side by side by the same ``benchmarks.orm_server``
app (settings ``benchmarks.orm_settings``, the ``tests.library`` models in a
SQLite file the benchmark seeds with 100 books by 20 authors):

- graphene-django (``benchmarks.orm_graphene``): its own ``GraphQLView`` in
  ``urls.py`` through Django's ASGI handler, against ours through
  ``get_application()`` with ``SYNC_EXECUTION`` at its default (on for
  Graphene). These servers run in a virtualenv of their own
  (``benchmarks.graphene_env``: Graphene 3 needs graphql-core < 3.3), made on
  first use;
- strawberry-django with ``DjangoOptimizerExtension``
  (``benchmarks.orm_strawberry``): Strawberry's ``GraphQLHTTPConsumer``
  against ours, in the benchmark's own environment.

All four servers start at once (uvicorn, uvloop, one process each); after a
warm-up, ``wrk`` POSTs the query to each in turn, round after round, so the
contenders of a pair share the machine's state. Figures: median req/s over the
rounds, the latency of the median round, and the server's CPU per request
over all rounds (steadier than rates on a busy machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .report import Table, goal_line
from .servers import ROOT, Server, http_get_json
from .wrk_bench import CONNECTIONS, WARMUP, LatencyResult, parse_wrk, run_wrk, wrk_script

QUERY = "{ books { id title year author { id name } } }"

GRAPHENE_VIEW = "graphene-django GraphQLView (Django ASGI handler)"
GRAPHENE_OURS = "ours: get_application(), SYNC_EXECUTION on (default)"
STRAWBERRY_VIEW = "Strawberry GraphQLHTTPConsumer + optimizer"
STRAWBERRY_OURS = "ours: get_application() + optimizer"

#: (label, library, path)
CONTENDERS = [
    (GRAPHENE_VIEW, "graphene", "/graphene/"),
    (GRAPHENE_OURS, "graphene", "/graphql"),
    (STRAWBERRY_VIEW, "strawberry", "/strawberry"),
    (STRAWBERRY_OURS, "strawberry", "/graphql"),
]


@dataclass
class Row:
    label: str
    library: str
    path: str
    rounds: list[LatencyResult] = field(default_factory=list)
    cpu_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds) if self.rounds else 0.0

    @property
    def median_round(self) -> LatencyResult | None:
        return sorted(self.rounds, key=lambda r: r.rate)[len(self.rounds) // 2] if self.rounds else None

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.rounds)


async def _post(port: int, path: str, body: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                         f"Content-Type: application/json\r\nAccept: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            data = await reader.read()
        finally:
            writer.close()
        head, _, content = data.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            content = _dechunk(content)
        return int(head.split(b" ", 2)[1]), content

    return await asyncio.wait_for(go(), timeout)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if not size:
            break
        out += data[:size]
        data = data[size + 2:]
    return bytes(out)


def _books(content: bytes) -> int:
    """How many books with an author a response holds."""
    data = json.loads(content)
    books = (data.get("data") or {}).get("books") or []
    return sum(1 for book in books if book.get("author", {}).get("name"))


def _seed(directory: str) -> str:
    path = str(Path(directory) / "library.sqlite3")
    subprocess.run([sys.executable, "-m", "benchmarks.orm_seed", path], cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return path


def _interpreters(notes: list[str]) -> dict[str, str]:
    """The Python each library's servers run with; a library that cannot run is left out with a note."""
    pythons: dict[str, str] = {}
    try:
        import strawberry_django  # noqa: F401
    except ImportError:
        notes.append("strawberry-django rows skipped: strawberry-graphql-django is not installed "
                     "(pip install -e '.[bench]')")
    else:
        pythons["strawberry"] = sys.executable
    from . import graphene_env

    try:
        pythons["graphene"] = str(graphene_env.ensure())
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        notes.append(f"graphene-django rows skipped: {exc}"[:400])
    return pythons


async def measure(*, rounds: int, seconds: float) -> tuple[list[Row], list[str]]:
    notes: list[str] = []
    pythons = _interpreters(notes)
    rows = [Row(label, library, path) for label, library, path in CONTENDERS if library in pythons]
    body = json.dumps({"query": QUERY}).encode()
    script = wrk_script(body)
    with tempfile.TemporaryDirectory() as directory:
        database = _seed(directory)
        servers: dict[str, Server] = {}
        try:
            for row in rows:
                servers[row.label] = Server({"BENCH_ORM_DB": database, "BENCH_ORM_LIBRARY": row.library,
                                             "DJANGO_SETTINGS_MODULE": "benchmarks.orm_settings"},
                                            loop="uvloop", app="benchmarks.orm_server:application",
                                            python=pythons[row.library])
            usable = []
            for row in rows:
                server = servers[row.label]
                try:
                    await server.wait_ready(60)
                    status, content = await _post(server.port, row.path, body)
                    if status != 200 or _books(content) != 100:
                        raise RuntimeError(f"check request: HTTP {status}, {content[:200]!r}")
                    await run_wrk(f"http://127.0.0.1:{server.port}{row.path}", script, WARMUP)
                except Exception as exc:
                    row.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    notes.append(f"{row.label}: skipped: {row.errors[-1]}")
                else:
                    usable.append(row)
            for _ in range(rounds):
                for row in usable:  # interleaved: every contender once per round
                    server = servers[row.label]
                    before = await http_get_json(server.port, "/bench/stats", 30)
                    output = await run_wrk(f"http://127.0.0.1:{server.port}{row.path}", script, seconds)
                    after = await http_get_json(server.port, "/bench/stats", 30)
                    result = LatencyResult(row.label)
                    parse_wrk(output, result)
                    if not result.requests:
                        row.errors.append(f"wrk: {output[-300:]}")
                    row.rounds.append(result)
                    row.cpu_s += after["cpu_seconds"] - before["cpu_seconds"]
        finally:
            for server in servers.values():
                server.stop()
            os.unlink(script)
    return [row for row in rows if row.rounds], notes


def report(rows: list[Row], notes: list[str], *, rounds: int, seconds: float) -> tuple[str, list[tuple[str, bool]]]:
    by_name = {row.label: row for row in rows}
    theirs_of = {GRAPHENE_OURS: GRAPHENE_VIEW, GRAPHENE_VIEW: GRAPHENE_VIEW,
                 STRAWBERRY_OURS: STRAWBERRY_VIEW, STRAWBERRY_VIEW: STRAWBERRY_VIEW}
    table = Table(["contender", "median req/s", "vs theirs", "p50 ms", "p99 ms", "CPU us/req", "CPU vs theirs",
                   "errors"],
                  title=f"ORM, uvicorn + wrk: POST {QUERY} (100 books, SQLite), {CONNECTIONS} connections, "
                        f"{rounds} interleaved rounds of {seconds:g} s")
    for row in rows:
        theirs = by_name.get(theirs_of[row.label])
        median = row.median_round
        cpu = row.cpu_s / row.requests * 1e6 if row.requests else 0.0
        their_cpu = theirs.cpu_s / theirs.requests * 1e6 if theirs and theirs.requests else 0.0
        table.add([row.label, f"{row.rate:,.0f}", f"{row.rate / theirs.rate:.2f}x" if theirs and theirs.rate else "-",
                   f"{median.p50_ms:.1f}" if median else "-", f"{median.p99_ms:.1f}" if median else "-",
                   f"{cpu:,.0f}", f"{cpu / their_cpu:.2f}x" if their_cpu else "-",
                   str(row.bad + len(row.errors))])
    lines = [table.render()]
    goals: list[tuple[str, bool]] = []
    ours, theirs = by_name.get(GRAPHENE_OURS), by_name.get(GRAPHENE_VIEW)
    if ours and theirs and theirs.rate:
        ratio = ours.rate / theirs.rate
        goals.append(goal_line("graphene-django books: ours >= graphene-django's GraphQLView", ratio, 1.0))
        goals.append(goal_line("graphene-django books: ours vs graphene-django's GraphQLView, target", ratio, 1.5))
    ours, theirs = by_name.get(STRAWBERRY_OURS), by_name.get(STRAWBERRY_VIEW)
    if ours and theirs and theirs.rate:
        goals.append(goal_line("strawberry-django books (optimizer): ours >= Strawberry's consumer",
                               ours.rate / theirs.rate, 1.0))
    lines.extend(text for text, _ in goals)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines), goals


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    if shutil.which("wrk") is None:
        text = "ORM, uvicorn + wrk: skipped, wrk is not installed (apt-get install wrk)"
        print(text + "\n", flush=True)
        return text, []
    rounds, seconds = (2, 3.0) if quick else (3, 6.0)
    rows, notes = await measure(rounds=rounds, seconds=seconds)
    text, goals = report(rows, notes, rounds=rounds, seconds=seconds)
    print(text + "\n", flush=True)
    return text, goals
