"""What the limits cost: CPU per operation in the engine, limits on against limits off, in one process.

For ``{ hello }`` and ``items(n: 100)``, the engine prepares (cache hit: the
byte check only) and executes each operation; a second pair runs with the
document cache off, so every operation is parsed, counted (aliases,
directives, complexity, merges) and validated. The limits' defaults are the
settings' defaults. Runs of the pair are interleaved and the best of several
rounds kept, so the figures compare like with like on a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .report import Table

QUERIES = {
    "{ hello }": "{ hello }",
    "items(n: 100)": "{ items(n: 100) { id name tags } }",
}
#: A difference below this share of the limits-off figure is noise, not cost.
NOISE = 0.05


async def _cpu_per_operation(engine: Any, query: str, repeats: int) -> float:
    cpu = time.process_time()
    for _ in range(repeats):
        operation = engine.prepare(query)
        result = await engine.execute(operation, context={})
        assert not result.errors, result.errors
    return (time.process_time() - cpu) / repeats


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    from django_gql_channels.engine import DocumentLimits, Engine

    from .schemas import schema

    repeats, rounds = (300, 3) if quick else (1000, 5)
    table = Table(["operation", "cache", "limits off us", "limits on us", "difference"],
                  title="Limits' cost in the engine: CPU per prepared + executed operation")
    worst = 0.0
    for label, query in QUERIES.items():
        for cached in (True, False):
            size = 1000 if cached else 0
            off = Engine(schema, cache_size=size, limits=DocumentLimits(None, None, None, None, None))
            on = Engine(schema, cache_size=size, limits=DocumentLimits())
            best = {"off": float("inf"), "on": float("inf")}
            for _ in range(rounds):
                for name, engine in (("off", off), ("on", on)):
                    best[name] = min(best[name], await _cpu_per_operation(engine, query, repeats))
            share = (best["on"] - best["off"]) / best["off"]
            worst = max(worst, share)
            table.add([label, "hit" if cached else "off (parse + count + validate)",
                       f"{best['off'] * 1e6:.1f}", f"{best['on'] * 1e6:.1f}", f"{share:+.1%}"])
    text = table.render()
    goal = (f"[{'PASS' if worst < NOISE else 'MISS'}] limits on vs off, CPU per operation: worst "
            f"{worst:+.1%} (goal < {NOISE:.0%}, within noise)")
    print(text + "\n" + goal + "\n", flush=True)
    return text, [(goal, worst < NOISE)]


if __name__ == "__main__":  # python -m benchmarks.inprocess_limits
    import django

    django.setup()
    asyncio.run(run(quick=True))
