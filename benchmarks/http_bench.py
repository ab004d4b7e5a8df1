"""In-process HTTP benchmark: requests/s through each ASGI app, no sockets.

Every contender is an ASGI callable driven the way a server drives it: one
``http.request`` message with the whole body, then ``receive`` blocks until the
response is complete and answers ``http.disconnect`` (uvicorn's behaviour).
Requests run one after another on one (standard asyncio) event loop, so
requests/s is the inverse of the per-request cost of the app itself.

Contenders, all measured in the same run in interleaved rounds:

- ``raw ASGI``: a plain ASGI callable that reads the body and answers the
  same fixed JSON: the driver's and the event loop's own cost, the floor
  under every other row;
- ``bare``: a Channels ``AsyncHttpConsumer`` answering fixed JSON (the same
  bytes the GraphQL answer has), ``.as_asgi()`` with the in-memory channel
  layer configured, as a user would have it: the framework floor;
- ``execute``: ``graphql.execute`` of an already parsed and validated
  document on the same graphql-core schema, no HTTP: the execution floor;
- ``strawberry``: ``strawberry.channels.GraphQLHTTPConsumer``;
- ``ours (consumer)``: ``django_gql_channels.GraphQLHTTPConsumer.as_asgi(schema=...)``;
- ``ours (router)``: the settings-driven ``get_application()`` router in front;
- ``ours: by documentId`` (``{ hello }`` only): the consumer again, the request
  naming the persisted document ``sha256:<hex>`` of ``{ hello }`` instead of
  sending its text (``benchmarks/persisted_documents.json``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .report import Table, goal_line

BY_DOCUMENT_ID = "ours: GraphQLHTTPConsumer by documentId"
RAW_ASGI = "raw ASGI app (floor)"
EXECUTE_FLOOR = "graphql-core execute (floor)"

QUERIES = {
    "hello": "{ hello }",
    "items": "{ items(n: 100) { id name tags } }",
}


# -- driving an ASGI app ---------------------------------------------------------


class _Exchange:
    """One request/response exchange with an ASGI app, as a server would run it."""

    __slots__ = ("body", "chunks", "done", "received", "status")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.received = False
        self.status = 0
        self.chunks: list[bytes] = []
        self.done = asyncio.get_running_loop().create_future()

    async def receive(self) -> dict[str, Any]:
        if not self.received:
            self.received = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.done  # the client stays connected until the response is complete
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
        elif kind == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False) and not self.done.done():
                self.done.set_result(None)


def make_scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"benchmark/1.0"),
            (b"accept", b"application/json"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def request(app: Callable[..., Awaitable[None]], scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    exchange = _Exchange(body)
    await app(dict(scope), exchange.receive, exchange.send)
    return exchange.status, b"".join(exchange.chunks)


# -- contenders --------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    #: runs ``n`` requests and returns how many failed (non-200 or wrong body)
    run: Callable[[int], Awaitable[int]]
    note: str = ""
    errors: int = 0
    rates: list[float] = field(default_factory=list)
    #: process CPU seconds per request, per round (robust to other load on the machine)
    cpu_costs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def asgi_contender(name: str, app: Callable[..., Awaitable[None]], path: str, query: str,
                    expected: Any, note: str = "", payload: dict[str, Any] | None = None) -> Contender:
    body = json.dumps(payload if payload is not None else {"query": query}).encode()
    scope = make_scope(path, body)

    async def run(n: int) -> int:
        failures = 0
        for _ in range(n):
            status, _content = await request(app, scope, body)
            if status != 200:
                failures += 1
        return failures

    async def check() -> str | None:
        try:
            status, content = await request(app, scope, body)
        except Exception as exc:
            return f"{name}: {type(exc).__name__}: {exc}"
        try:
            decoded = json.loads(content)
        except ValueError:
            decoded = content[:200]
        if status != 200 or decoded != expected:
            return f"{name}: HTTP {status}, body {str(decoded)[:200]!r}"
        return None

    contender = Contender(name, run, note)
    contender.check = check  # type: ignore[attr-defined]
    return contender


def _execute_contender(graphql_schema: Any, query: str, expected: Any) -> Contender:
    from graphql import execute, parse, validate

    document = parse(query)
    assert not validate(graphql_schema, document)

    async def run(n: int) -> int:
        failures = 0
        for _ in range(n):
            result = execute(graphql_schema, document)
            if isinstance(result, Awaitable):
                result = await result
            if result.errors:
                failures += 1
        return failures

    async def check() -> str | None:
        result = execute(graphql_schema, document)
        if isinstance(result, Awaitable):
            result = await result
        if {"data": result.data} != expected or result.errors:
            return f"execute: {result}"
        return None

    contender = Contender(EXECUTE_FLOOR, run, "pre-validated document, no HTTP")
    contender.check = check  # type: ignore[attr-defined]
    return contender


def build_contenders(query_name: str) -> tuple[list[Contender], list[str]]:
    """The contenders for one query, and notes on any that could not be built."""
    from channels.generic.http import AsyncHttpConsumer
    from graphql import execute, parse

    from django_gql_channels.schema import get_graphql_schema

    from . import schemas

    query = QUERIES[query_name]
    graphql_schema = get_graphql_schema(schemas.schema)
    expected = {"data": execute(graphql_schema, parse(query)).data}
    fixed = json.dumps(expected, separators=(",", ":")).encode()

    class BareHTTPConsumer(AsyncHttpConsumer):
        """What a user writes for a fixed JSON endpoint."""

        async def handle(self, body: bytes) -> None:
            await self.send_response(200, fixed, headers=[(b"Content-Type", b"application/json")])

    from strawberry.channels import GraphQLHTTPConsumer as StrawberryHTTPConsumer

    async def raw_asgi(scope: dict[str, Any], receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[None]]) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(fixed)).encode())]})
        await send({"type": "http.response.body", "body": fixed})

    contenders = [
        asgi_contender(RAW_ASGI, raw_asgi, "/graphql", query, expected, "fixed JSON, no framework"),
        asgi_contender("Channels AsyncHttpConsumer (floor)", BareHTTPConsumer.as_asgi(), "/graphql", query,
                        expected, "fixed JSON, in-memory layer configured"),
        _execute_contender(graphql_schema, query, expected),
        asgi_contender("Strawberry GraphQLHTTPConsumer",
                        StrawberryHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None),
                        "/graphql", query, expected),
    ]
    missing: list[str] = []
    try:
        from django_gql_channels import GraphQLHTTPConsumer
    except ImportError as exc:
        missing.append(f"django_gql_channels.GraphQLHTTPConsumer not available yet ({exc})")
    else:
        from django.core.asgi import get_asgi_application

        from django_gql_channels import get_application

        contenders.append(asgi_contender(
            "ours: GraphQLHTTPConsumer", GraphQLHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None),
            "/graphql", query, expected, "as_asgi(schema=strawberry schema)"))
        contenders.append(asgi_contender(
            "ours: get_application()", get_application(get_asgi_application()), "/graphql", query, expected,
            "settings-driven router, API-only settings"))
        if query_name == "hello":
            from django_gql_channels.engine import sha256_id

            contenders.append(asgi_contender(
                BY_DOCUMENT_ID, GraphQLHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None),
                "/graphql", query, expected, "persisted document, no text sent",
                payload={"documentId": sha256_id(query)}))
    return contenders, missing


# -- measuring -----------------------------------------------------------------------


async def timed(contender: Contender, n: int) -> float:
    gc.collect()
    cpu_start = time.process_time()
    start = time.perf_counter()
    contender.errors += await contender.run(n)
    elapsed = time.perf_counter() - start
    contender.cpu_costs.append((time.process_time() - cpu_start) / n)
    return n / elapsed


async def measure(query_name: str, *, rounds: int, round_seconds: float) -> tuple[list[Contender], list[str]]:
    contenders, notes = build_contenders(query_name)
    return await measure_contenders(contenders, notes, rounds=rounds, round_seconds=round_seconds)


async def measure_contenders(contenders: list[Contender], notes: list[str], *, rounds: int,
                             round_seconds: float) -> tuple[list[Contender], list[str]]:
    """Check each contender, warm it up, then time them all in interleaved rounds."""
    usable = []
    for contender in contenders:
        problem = await contender.check()  # type: ignore[attr-defined]
        if problem:
            notes.append(f"skipped, failed its check request: {problem}")
        else:
            usable.append(contender)
    # Warm up (caches, lazy imports) and size each contender's rounds to
    # ``round_seconds`` so fast and slow contenders get similar sampling time.
    sizes: dict[str, int] = {}
    for contender in usable:
        await timed(contender, 20)
        rate = await timed(contender, 50)
        sizes[contender.name] = max(20, min(50_000, int(rate * round_seconds)))
        contender.errors = 0
        contender.cpu_costs.clear()
    for _ in range(rounds):
        for contender in usable:  # interleaved: every contender once per round
            contender.rates.append(await timed(contender, sizes[contender.name]))
    for contender in usable:
        contender.note = (contender.note + "; " if contender.note else "") + f"{sizes[contender.name]} req/round"
    return usable, notes


def report(
    query_name: str, contenders: list[Contender], notes: list[str], rounds: int
) -> tuple[str, list[tuple[str, bool]]]:
    by_name = {c.name: c for c in contenders}
    bare = by_name.get("Channels AsyncHttpConsumer (floor)")
    strawberry = by_name.get("Strawberry GraphQLHTTPConsumer")
    table = Table(["contender", "median req/s", "min", "max", "vs bare", "vs Strawberry", "CPU us/req", "errors"],
                  title=f"HTTP {QUERIES[query_name]}  ({rounds} interleaved rounds, median)")
    for c in contenders:
        table.add([
            c.name, f"{c.median:,.0f}", f"{min(c.rates):,.0f}", f"{max(c.rates):,.0f}",
            f"{c.median / bare.median:.2f}x" if bare else "-",
            f"{c.median / strawberry.median:.2f}x" if strawberry else "-",
            f"{statistics.median(c.cpu_costs) * 1e6:,.1f}",
            str(c.errors),
        ])
    lines = [table.render()]
    goals: list[tuple[str, bool]] = []
    floor = by_name.get(EXECUTE_FLOOR)
    raw = by_name.get(RAW_ASGI)
    for ours_name in ("ours: GraphQLHTTPConsumer", "ours: get_application()"):
        ours = by_name.get(ours_name)
        if ours is None:
            continue
        if query_name == "hello" and floor and floor.cpu_costs:
            cpu_ratio = statistics.median(ours.cpu_costs) / statistics.median(floor.cpu_costs)
            goals.append(goal_line(f"{ours_name} {{ hello }}: CPU per request <= 2x the cached-execution floor",
                                   cpu_ratio, 2.0, higher_is_better=False))
            if raw and raw.cpu_costs:
                above = (statistics.median(ours.cpu_costs) - statistics.median(floor.cpu_costs)) * 1e6
                lines.append(f"cost: {ours_name} spends {above:,.1f} us per {{ hello }} beside executing it "
                             f"(the raw ASGI floor: {statistics.median(raw.cpu_costs) * 1e6:,.1f} us)")
        if query_name == "hello":
            if bare:
                goals.append(goal_line(f"{ours_name} {{ hello }} >= 90% of bare consumer",
                                       ours.median / bare.median, 0.9))
            if strawberry:
                goals.append(goal_line(f"{ours_name} {{ hello }} >= 4x Strawberry",
                                       ours.median / strawberry.median, 4.0))
        elif strawberry:
            goals.append(goal_line(f"{ours_name} items(n: 100) >= 1.5x Strawberry",
                                   ours.median / strawberry.median, 1.5))
    by_id, by_text = by_name.get(BY_DOCUMENT_ID), by_name.get("ours: GraphQLHTTPConsumer")
    if by_id and by_text:
        goals.append(goal_line("{ hello } by documentId as fast as by text", by_id.median / by_text.median, 1.0))
    lines.extend(text for text, _ in goals)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines), goals


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    rounds = 3 if quick else 5
    round_seconds = 0.15 if quick else 0.5
    out: list[str] = []
    goals: list[tuple[str, bool]] = []
    for query_name in QUERIES:
        contenders, notes = await measure(query_name, rounds=rounds, round_seconds=round_seconds)
        text, query_goals = report(query_name, contenders, notes, rounds)
        print(text + "\n", flush=True)
        out.append(text)
        goals.extend(query_goals)
    return "\n\n".join(out), goals
