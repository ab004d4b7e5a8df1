"""HTTP batching: CPU per operation, ten ``{ hello }`` in one batch against ten requests of one.

Both run through ``GraphQLHTTPConsumer.as_asgi(schema=..., batching=True)``
in process, driven as :mod:`.http_bench` drives its contenders (one ASGI call
per request, no sockets). The batch saves what each request costs apart from
its operation: the consumer instance, the body read, the headers, the reply.
Rounds are interleaved and the median kept; process CPU is counted, so the
figures hold better than rates on a busy machine.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from typing import Any

from .http_bench import make_scope, request
from .report import Table, goal_line

BATCH = 10
QUERY = "{ hello }"


async def _cpu_per_operation(app: Any, body: bytes, requests: int, operations_per_request: int) -> float:
    scope = make_scope("/graphql", body)
    gc.collect()
    cpu = time.process_time()
    for _ in range(requests):
        status, _content = await request(app, scope, body)
        assert status == 200, status
    return (time.process_time() - cpu) / (requests * operations_per_request)


async def run(*, quick: bool = False) -> tuple[str, list[tuple[str, bool]]]:
    from django_gql_channels import GraphQLHTTPConsumer

    from .schemas import schema

    app = GraphQLHTTPConsumer.as_asgi(schema=schema, graphql_ide=None, batching=True)
    single = json.dumps({"query": QUERY}).encode()
    batch = json.dumps([{"query": QUERY}] * BATCH).encode()
    # Check the answers once, and warm the caches.
    _status, content = await request(app, make_scope("/graphql", batch), batch)
    assert len(json.loads(content)) == BATCH and "errors" not in content.decode(), content[:200]
    operations, rounds = (1000, 3) if quick else (5000, 5)
    costs: dict[str, list[float]] = {"separate": [], "batched": []}
    for _ in range(rounds):
        costs["separate"].append(await _cpu_per_operation(app, single, operations, 1))
        costs["batched"].append(await _cpu_per_operation(app, batch, operations // BATCH, BATCH))
    separate, batched = statistics.median(costs["separate"]), statistics.median(costs["batched"])
    table = Table(["form", "requests", "CPU us/operation (median)", "min", "max"],
                  title=f"HTTP batching: {BATCH} x {QUERY} ({rounds} interleaved rounds)")
    table.add([f"{BATCH} separate requests", f"{operations:,}", f"{separate * 1e6:.1f}",
               f"{min(costs['separate']) * 1e6:.1f}", f"{max(costs['separate']) * 1e6:.1f}"])
    table.add([f"1 batch of {BATCH}", f"{operations // BATCH:,}", f"{batched * 1e6:.1f}",
               f"{min(costs['batched']) * 1e6:.1f}", f"{max(costs['batched']) * 1e6:.1f}"])
    goal = goal_line(f"a batch of {BATCH} {QUERY}: CPU per operation vs separate requests", batched / separate,
                     1.0, higher_is_better=False)
    text = table.render() + "\n" + goal[0]
    print(text + "\n", flush=True)
    return text, [goal]
