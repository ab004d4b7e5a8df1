"""The benchmark schema, written once in Strawberry and served by every contender.

Strawberry's consumers get the Strawberry ``schema`` object; ours get the same
object (``GQL_CHANNELS["SCHEMA"]`` points here, and the direct consumer is
built with ``schema=schema``), which django-gql-channels unwraps into the
graphql-core schema inside it. So both execute the very same resolvers, and
the execution floor runs ``graphql.execute`` on that same graphql-core schema.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    tags: list[str]


ITEMS = [Item(id=strawberry.ID(str(i)), name=f"item {i}", tags=["red", "green", f"t{i % 7}"])
         for i in range(1000)]


@strawberry.type
class GroupMessage:
    """Resolved straight from the group message dict the subscription yields.

    Every listener of a group in one process receives the same dict, so with
    ``SHARED_SUBSCRIPTION_RESULTS`` our subscribers share each message's
    execution; Strawberry executes it per subscriber either way.
    """

    @strawberry.field
    def text(self) -> str | None:
        return self.get("text")  # type: ignore[attr-defined]  # self is the message dict

    @strawberry.field
    def n(self) -> int | None:
        return self.get("n")  # type: ignore[attr-defined]


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"Hello, {name}!"

    @strawberry.field
    def items(self, n: int = 10) -> list[Item]:
        return ITEMS[:max(0, min(n, len(ITEMS)))]


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def on_group_message(self, info: strawberry.Info, group: str) -> AsyncGenerator[GroupMessage, None]:
        # Both consumers put themselves in the context under "ws" and offer
        # the same ``listen_to_channel`` API, so one resolver serves both.
        async with info.context["ws"].listen_to_channel("group.message", groups=[group]) as messages:
            async for message in messages:
                yield message  # type: ignore[misc]  # GroupMessage's fields read the dict


schema = strawberry.Schema(query=Query, subscription=Subscription)
