"""What ``METRICS`` and ``TRACING`` cost, both on against both off, in one run (docs/observing.rst).

- ``{ hello }`` over HTTP, in process (driven like :mod:`.http_bench`): our
  ``GraphQLHTTPConsumer`` with the switches off and on, in interleaved rounds;
  CPU per request is the process's CPU time over a round's requests.
- Fan-out to 500 WebSocket subscribers in process (driven like
  :mod:`.inprocess_fanout`): off and on alternately, CPU per delivery.

"On" is both switches with a real OpenTelemetry SDK behind them: a
``TracerProvider`` whose ``BatchSpanProcessor`` hands spans to an exporter that
discards them (so the cost is making, recording and queueing spans, not a
backend's network), and metrics in ``prometheus_client``'s default registry.
Twice: every trace recorded (the SDK's default sampler), and 1 trace in 100
recorded (``ParentBased(TraceIdRatioBased(0.01))``, a common production
setting; the others still get their span objects, non-recording ones).
Goals: at most 10% more CPU per ``{ hello }`` request, at most 5% per delivery,
on the best round of each row (load from other processes only ever adds CPU
time, so the least a round took is the steadiest figure on a shared machine);
the medians are printed beside.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .http_bench import QUERIES, Contender, asgi_contender, measure_contenders
from .report import Table, goal_line

OFF = "ours: METRICS and TRACING off"
ON = "ours: METRICS and TRACING on, every trace"
SAMPLED = "ours: METRICS and TRACING on, 1% of traces"
METRICS_ONLY = "ours: METRICS on, TRACING off"
#: (row, METRICS, TRACING, fraction of traces recorded)
ROWS = ((OFF, False, False, 1.0), (ON, True, True, 1.0), (SAMPLED, True, True, 0.01),
        (METRICS_ONLY, True, False, 1.0))
#: Fraction of traces the SDK records while a row runs (1.0 unless the row samples).
_ratio = [1.0]
HELLO_GOAL = 1.10
FANOUT_GOAL = 1.05


def _install_tracer_provider() -> None:
    """A real SDK provider whose exporter discards: spans are made and queued as in production."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

    class Discarding(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    sampled = ParentBased(TraceIdRatioBased(0.01))
    every = ParentBased(ALWAYS_ON)

    class Switchable(Sampler):
        """The default sampler, or 1 in 100 traces while a sampled row runs (a provider is set only once)."""

        def should_sample(self, *args: Any, **kwargs: Any) -> Any:
            return (every if _ratio[0] == 1.0 else sampled).should_sample(*args, **kwargs)

        def get_description(self) -> str:
            return "every trace, or 1 in 100"

    provider = TracerProvider(sampler=Switchable())
    # A queue deep enough that no span is dropped while the worker thread waits for the GIL.
    provider.add_span_processor(BatchSpanProcessor(Discarding(), max_queue_size=100_000))
    trace.set_tracer_provider(provider)


@contextmanager
def switched(metrics: bool, tracing: bool, ratio: float = 1.0) -> Iterator[None]:
    from django.test import override_settings

    from django_gql_channels.conf import gql_settings

    _ratio[0] = ratio
    try:
        with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "METRICS": metrics, "TRACING": tracing}):
            yield
    finally:
        _ratio[0] = 1.0


def _switched_contender(contender: Contender, metrics: bool, tracing: bool, ratio: float) -> Contender:
    run = contender.run

    async def run_switched(n: int) -> int:
        with switched(metrics, tracing, ratio):
            return await run(n)

    contender.run = run_switched
    check = contender.check  # type: ignore[attr-defined]

    async def check_switched() -> str | None:
        with switched(metrics, tracing, ratio):
            return await check()

    contender.check = check_switched  # type: ignore[attr-defined]
    return contender


def _cpu_us(contender: Contender) -> float:
    return statistics.median(contender.cpu_costs) * 1e6 if contender.cpu_costs else 0.0


def _best_cpu_us(contender: Contender) -> float:
    """The least CPU a round took per request: other processes' load only ever adds to it."""
    return min(contender.cpu_costs) * 1e6 if contender.cpu_costs else 0.0


async def _hello(quick: bool) -> tuple[list[str], list[tuple[str, bool]]]:
    from graphql import execute, parse

    from django_gql_channels import GraphQLHTTPConsumer
    from django_gql_channels.schema import get_graphql_schema

    from . import schemas

    query = QUERIES["hello"]
    expected = {"data": execute(get_graphql_schema(schemas.schema), parse(query)).data}
    contenders = [
        _switched_contender(asgi_contender(name, GraphQLHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None),
                                           "/graphql", query, expected), metrics, tracing, ratio)
        for name, metrics, tracing, ratio in ROWS
    ]
    rounds = 5 if quick else 9
    measured, notes = await measure_contenders(contenders, [], rounds=rounds, round_seconds=0.2 if quick else 0.5)
    table = Table(["contender", "median req/s", "min", "max", "CPU us/req", "best CPU us/req", "errors"],
                  title=f"Observability, in-process HTTP {query}  ({rounds} interleaved rounds)")
    for c in measured:
        table.add([c.name, f"{c.median:,.0f}", f"{min(c.rates):,.0f}", f"{max(c.rates):,.0f}",
                   f"{_cpu_us(c):,.1f}", f"{_best_cpu_us(c):,.1f}", str(c.errors)])
    lines = [table.render(), *(f"note: {n}" for n in notes)]
    by_name = {c.name: c for c in measured}
    goals: list[tuple[str, bool]] = []
    off = by_name.get(OFF)
    for name in (ON, SAMPLED, METRICS_ONLY):
        on = by_name.get(name)
        if off is None or on is None:
            continue
        ratio = _best_cpu_us(on) / _best_cpu_us(off)
        lines.append(f"cost: {name[6:]}: +{_best_cpu_us(on) - _best_cpu_us(off):,.1f} us of CPU per {query} "
                     f"({ratio:.3f}x best, {_cpu_us(on) / _cpu_us(off):.3f}x median); requests/s "
                     f"{on.median / off.median:.3f}x")
        goals.append(goal_line(f"{query} CPU/request, {name[6:]} vs off", ratio, HELLO_GOAL,
                               higher_is_better=False))
    return lines, goals


async def _fanout(quick: bool, n: int) -> tuple[list[str], list[tuple[str, bool]]]:
    from django_gql_channels import GraphQLWSConsumer

    from .inprocess_fanout import measure_one
    from .schemas import schema

    m = 10 if quick else 20
    rounds = 2 if quick else 5
    samples: dict[str, list[Any]] = {name: [] for name, *_ in ROWS}
    for _ in range(rounds):  # alternated, so drifting load hits all alike
        for name, metrics, tracing, ratio in ROWS:
            with switched(metrics, tracing, ratio):
                samples[name].append(await measure_one(name, GraphQLWSConsumer.as_asgi(schema=schema), n=n, m=m))
    table = Table(["contender", "median deliveries/s", "CPU us/delivery", "best CPU us/delivery", "rounds",
                   "status"],
                  title=f"Observability, in-process fan-out: {n} subscribers x {m} group messages, "
                        f"{rounds} alternated rounds")
    cpu: dict[str, float] = {}
    best: dict[str, float] = {}
    notes: list[str] = []
    for name, *_ in ROWS:
        results = samples[name]
        good = [r for r in results if not r.errors and r.delivered]
        notes += [f"{r.contender}: {e}" for r in results for e in r.errors]
        cpu[name] = statistics.median(r.cpu_s / r.delivered for r in good) * 1e6 if good else 0.0
        best[name] = min(r.cpu_s / r.delivered for r in good) * 1e6 if good else 0.0
        rate = statistics.median(r.rate for r in good) if good else 0.0
        table.add([name, f"{rate:,.0f}", f"{cpu[name]:,.1f}", f"{best[name]:,.1f}", str(len(good)),
                   "ok" if len(good) == len(results) else "FAILED"])
    lines = [table.render(), *(f"note: {n}" for n in notes)]
    goals: list[tuple[str, bool]] = []
    for name in (ON, SAMPLED, METRICS_ONLY):
        if best[OFF] and best[name]:
            ratio = best[name] / best[OFF]
            lines.append(f"cost: {name[6:]}: +{best[name] - best[OFF]:,.1f} us of CPU per delivery ({ratio:.3f}x best, "
                         f"{cpu[name] / cpu[OFF]:.3f}x median)")
            goals.append(goal_line(f"fan-out {n} subscribers CPU/delivery, {name[6:]} vs off", ratio, FANOUT_GOAL,
                                   higher_is_better=False))
    return lines, goals


class _Operation:
    kind = "subscription"
    name = "Bench"


async def _isolated(quick: bool) -> list[str]:
    """The watches alone, without a request around them: CPU per operation and per subscription event."""
    import time

    from graphql import ExecutionResult

    from django_gql_channels.observability.watches import Observer

    result = ExecutionResult({"n": 1}, None)
    scope = {"headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]}
    operations, events = (2_000, 20_000) if quick else (10_000, 100_000)

    async def source(count: int) -> Any:
        for _ in range(count):
            await asyncio.sleep(0)
            yield result

    async def drain(stream: Any) -> None:
        async for _ in stream:
            pass

    table = Table(["outputs", "CPU us/operation", "CPU us/event"],
                  title="Observability, the watches alone (best of 5; every trace recorded; an event per result "
                        "up to the SDK's 128)")
    base_event = 0.0
    for label, metrics, tracing in (("none (the bare stream)", False, False), ("METRICS", True, False),
                                    ("TRACING", False, True), ("both", True, True)):
        observer = Observer(metrics=metrics, tracing=tracing, log=False) if metrics or tracing else None
        per_operation = per_event = float("inf")
        for _ in range(5):
            if observer is not None:
                started = time.process_time()
                for _ in range(operations):
                    connection = observer.connection("http", scope)
                    watch = observer.operation("http", scope)
                    watch.connection = connection
                    watch.enter(_Operation)
                    watch.finish()
                    connection.close()
                per_operation = min(per_operation, (time.process_time() - started) / operations)
                watch = observer.operation("graphql-transport-ws", scope)
                watch.enter(_Operation)
                stream: Any = watch.observe_stream(source(events))
            else:
                stream = source(events)
            started = time.process_time()
            await drain(stream)
            per_event = min(per_event, (time.process_time() - started) / events)
            if observer is not None:
                watch.finish()
        if observer is None:
            base_event = per_event
            table.add([label, "-", f"{per_event * 1e6:.2f}"])
        else:
            table.add([label, f"{per_operation * 1e6:.1f}", f"+{(per_event - base_event) * 1e6:.2f}"])
    return [table.render()]


async def run(*, quick: bool = False, n: int = 500) -> tuple[str, list[tuple[str, bool]]]:
    _install_tracer_provider()
    isolated = await _isolated(quick)
    print("\n".join(isolated) + "\n", flush=True)
    hello_lines, hello_goals = await _hello(quick)
    print("\n".join(hello_lines) + "\n", flush=True)
    await asyncio.sleep(0)
    fanout_lines, fanout_goals = await _fanout(quick, n)
    print("\n".join(fanout_lines) + "\n", flush=True)
    return "\n".join(isolated + [""] + hello_lines + [""] + fanout_lines), hello_goals + fanout_goals
