"""A graphql-core schema declaring ``@defer`` and ``@stream`` (graphql-core 3.3), for the incremental-delivery tests.

``slow(gate:)`` waits for ``GATES[gate]`` (an ``asyncio.Event`` a test in the
same process sets) or, with ``ms:``, sleeps that long (live servers);
``letters`` is an async generator, so ``@stream`` sends its items one by one;
``Item.secret`` raises (masked with ``MASK_ERRORS``), ``Item.fragile`` is non-null and raises.
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import build_schema

#: name -> event that ``slow(gate: name)`` waits for
GATES: dict[str, asyncio.Event] = {}
#: the gates whose ``slow`` was cancelled while waiting (the client left, the operation was stopped)
CANCELLED: set[str] = set()

DIRECTIVES = """
directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @stream(label: String, if: Boolean! = true, initialCount: Int! = 0) on FIELD
"""

SDL = """
type Item { id: Int!, name: String, secret: String, fragile: String! }
type Query {
  hello: String
  slow(gate: String, ms: Int): String
  items: [Item!]!
  letters: [String!]!
}
type Mutation { touch: String }
"""


class Item:
    def __init__(self, number: int) -> None:
        self.id = number
        self.name = f"item {number}"

    @property
    def secret(self) -> str:
        raise ValueError("the database password is hunter2")

    @property
    def fragile(self) -> str:
        raise ValueError("fragile broke")


async def _slow(root: Any, info: Any, gate: str | None = None, ms: int | None = None) -> str:
    if gate is not None:
        try:
            await GATES[gate].wait()
        except asyncio.CancelledError:
            CANCELLED.add(gate)
            raise
    elif ms:
        await asyncio.sleep(ms / 1000)
    return "finally"


async def _letters(root: Any, info: Any) -> Any:
    for letter in "abc":
        await asyncio.sleep(0)
        yield letter


# graphql-core 3.2 takes the declarations for custom directives: the engine refuses them there.
schema = build_schema(DIRECTIVES + SDL)
schema.query_type.fields["hello"].resolve = lambda root, info: "world"  # type: ignore[union-attr]
schema.query_type.fields["slow"].resolve = _slow  # type: ignore[union-attr]
schema.query_type.fields["items"].resolve = lambda root, info: [Item(1), Item(2), Item(3)]  # type: ignore[union-attr]
schema.query_type.fields["letters"].resolve = _letters  # type: ignore[union-attr]
schema.mutation_type.fields["touch"].resolve = lambda root, info: "touched"  # type: ignore[union-attr]
