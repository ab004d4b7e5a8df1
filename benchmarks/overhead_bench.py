"""What two per-operation features cost, in-process (driven like ``benchmarks.http_bench``, no sockets).

- **The thread hop** (``SYNC_EXECUTION``): our ``GraphQLHTTPConsumer`` on the
  benchmark's Strawberry schema, its engine built with ``sync_execution``
  off and on (otherwise the options ``GQL_CHANNELS`` gives), on ``{ hello }``,
  which touches no ORM: on, each execution runs in Django's thread-sensitive
  executor, so the difference is the hop itself (and
  ``close_old_connections`` around it).
- **Strawberry extensions**: our consumer on the same schema without
  extensions (executed on graphql-core directly) and with one no-op custom
  ``SchemaExtension`` (then Strawberry's own execution runs, with the
  extension's hooks), and for reference Strawberry's ``GraphQLHTTPConsumer``
  on the schema with the extension.

CPU per request is the process's CPU time (every thread's) over the requests
of a round: a busy machine skews it much less than requests/s.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

from .http_bench import QUERIES, Contender, asgi_contender, measure_contenders
from .report import Table, goal_line

HOP_OFF = "ours: SYNC_EXECUTION off"
HOP_ON = "ours: SYNC_EXECUTION on (thread hop)"
NO_EXTENSIONS = "ours: schema without extensions"
NOOP_EXTENSION = "ours: one no-op SchemaExtension"
STRAWBERRY_NOOP = "Strawberry GraphQLHTTPConsumer, same extension"


def _noop_schema() -> Any:
    import strawberry
    from strawberry.extensions import SchemaExtension

    from . import schemas

    class NoOpExtension(SchemaExtension):
        """A custom extension as a team writes one, doing nothing around execution."""

        def on_execute(self) -> Iterator[None]:
            yield

    return strawberry.Schema(query=schemas.Query, subscription=schemas.Subscription, extensions=[NoOpExtension])


def _consumer_with_engine(schema: Any, *, sync_execution: bool) -> Any:
    """Our HTTP consumer whose engine is built with ``sync_execution`` forced, the other options as configured."""
    from django_gql_channels import GraphQLHTTPConsumer
    from django_gql_channels.engine import Engine, engine_options, mask_errors_setting

    engine = Engine(schema, mask_errors=mask_errors_setting(),
                    **{**engine_options(), "sync_execution": sync_execution})

    class Consumer(GraphQLHTTPConsumer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.engine = engine

    return Consumer.as_asgi(schema=schema, graphql_ide=None)


def build(query_name: str) -> tuple[list[Contender], list[str]]:
    from graphql import execute, parse
    from strawberry.channels import GraphQLHTTPConsumer as StrawberryHTTPConsumer

    from django_gql_channels import GraphQLHTTPConsumer
    from django_gql_channels.schema import get_graphql_schema

    from . import schemas

    query = QUERIES[query_name]
    expected = {"data": execute(get_graphql_schema(schemas.schema), parse(query)).data}
    noop = _noop_schema()
    contenders = []
    if query_name == "hello":
        contenders += [
            asgi_contender(HOP_OFF, _consumer_with_engine(schemas.schema, sync_execution=False),
                           "/graphql", query, expected),
            asgi_contender(HOP_ON, _consumer_with_engine(schemas.schema, sync_execution=True),
                           "/graphql", query, expected),
        ]
    contenders += [
        asgi_contender(NO_EXTENSIONS, GraphQLHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None),
                       "/graphql", query, expected),
        asgi_contender(NOOP_EXTENSION, GraphQLHTTPConsumer.as_asgi(schema=noop, graphql_ide=None),
                       "/graphql", query, expected),
        asgi_contender(STRAWBERRY_NOOP, StrawberryHTTPConsumer.as_asgi(schema=noop, graphql_ide=None),
                       "/graphql", query, expected),
    ]
    return contenders, []


def _cpu_us(contender: Contender | None) -> float:
    return statistics.median(contender.cpu_costs) * 1e6 if contender and contender.cpu_costs else 0.0


def report(query_name: str, contenders: list[Contender], notes: list[str],
           rounds: int) -> tuple[str, list[tuple[str, bool]]]:
    by_name = {c.name: c for c in contenders}
    base_of = {HOP_OFF: HOP_OFF, HOP_ON: HOP_OFF, NO_EXTENSIONS: NO_EXTENSIONS, NOOP_EXTENSION: NO_EXTENSIONS,
               STRAWBERRY_NOOP: NO_EXTENSIONS}
    table = Table(["contender", "median req/s", "min", "max", "CPU us/req", "+CPU us/req", "CPU vs base", "errors"],
                  title=f"Costs, in-process HTTP {QUERIES[query_name]}  ({rounds} interleaved rounds, median; "
                        f"base: the row above each pair)")
    for c in contenders:
        base = by_name.get(base_of[c.name])
        cpu, base_cpu = _cpu_us(c), _cpu_us(base)
        table.add([c.name, f"{c.median:,.0f}", f"{min(c.rates):,.0f}", f"{max(c.rates):,.0f}", f"{cpu:,.0f}",
                   f"{cpu - base_cpu:+,.0f}" if base is not c and base_cpu else "-",
                   f"{cpu / base_cpu:.2f}x" if base_cpu else "-", str(c.errors)])
    lines = [table.render()]
    goals: list[tuple[str, bool]] = []
    off, on = by_name.get(HOP_OFF), by_name.get(HOP_ON)
    if off and on:
        lines.append(f"cost: the thread hop adds {_cpu_us(on) - _cpu_us(off):,.0f} us of CPU to {QUERIES[query_name]} "
                     f"({_cpu_us(on) / _cpu_us(off):.2f}x); requests/s {on.median / off.median:.2f}x")
    plain, noop, strawberry = (by_name.get(n) for n in (NO_EXTENSIONS, NOOP_EXTENSION, STRAWBERRY_NOOP))
    if plain and noop:
        lines.append(f"cost: one no-op extension adds {_cpu_us(noop) - _cpu_us(plain):,.0f} us of CPU to "
                     f"{QUERIES[query_name]} ({_cpu_us(noop) / _cpu_us(plain):.2f}x); requests/s "
                     f"{noop.median / plain.median:.2f}x")
    if noop and strawberry:
        goals.append(goal_line(f"{QUERIES[query_name]} with a no-op extension: ours >= Strawberry's consumer",
                               noop.median / strawberry.median, 1.0))
    lines.extend(text for text, _ in goals)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines), goals


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    rounds = 3 if quick else 5
    round_seconds = 0.15 if quick else 0.5
    out: list[str] = []
    goals: list[tuple[str, bool]] = []
    for query_name in QUERIES:
        contenders, notes = build(query_name)
        measured, notes = await measure_contenders(contenders, notes, rounds=rounds, round_seconds=round_seconds)
        text, query_goals = report(query_name, measured, notes, rounds)
        print(text + "\n", flush=True)
        out.append(text)
        goals.extend(query_goals)
    return "\n\n".join(out), goals
