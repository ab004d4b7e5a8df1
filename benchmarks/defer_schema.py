"""The ``--only defer`` benchmark's schema: a fast list and a slow field, with ``@defer`` declared (graphql-core 3.3).

``slow`` sleeps ``BENCH_DEFER_SLOW_MS`` milliseconds (default 200): the work a
client would rather not wait for before it shows the rest.
"""

from __future__ import annotations

import asyncio
import os

from graphql import build_schema

SLOW_MS = int(os.environ.get("BENCH_DEFER_SLOW_MS", "200"))

schema = build_schema("""
directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @stream(label: String, if: Boolean! = true, initialCount: Int! = 0) on FIELD
type Item { id: Int!, name: String! }
type Query { items: [Item!]!, slow: String }
""")


async def _slow(root: object, info: object) -> str:
    await asyncio.sleep(SLOW_MS / 1000)
    return "done"


_ITEMS = [{"id": n, "name": f"item {n}"} for n in range(20)]
schema.query_type.fields["items"].resolve = lambda root, info: _ITEMS  # type: ignore[union-attr]
schema.query_type.fields["slow"].resolve = _slow  # type: ignore[union-attr]
