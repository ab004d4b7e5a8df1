"""A Strawberry schema with extensions is handed the engine's cached document: no re-parse, no re-validation.

Unless an extension parses or validates in its own way: then Strawberry does
what it does under its own views (see engine/strawberry.py).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any
from unittest import mock

import pytest

from django_gql_channels.engine import Engine

strawberry = pytest.importorskip("strawberry")

import strawberry.schema.schema as strawberry_execution  # noqa: E402
from strawberry.extensions import (  # noqa: E402
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)


class SeesDocument(SchemaExtension):
    """Notes the document Strawberry executes."""

    seen: list[Any] = []

    def on_execute(self) -> Iterator[None]:
        SeesDocument.seen.append(self.execution_context.graphql_document)
        yield


@strawberry.type
class Node:
    name: str

    @strawberry.field
    def child(self) -> Node:
        return Node(name=self.name + "+")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def node(self) -> Node:
        return Node(name="root")


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int) -> AsyncGenerator[int, None]:
        for value in range(1, to + 1):
            yield value


def schema(*extensions: Any) -> Any:
    return strawberry.Schema(query=Query, subscription=Subscription, extensions=[*extensions, SeesDocument])


@pytest.fixture(autouse=True)
def _fresh():
    SeesDocument.seen.clear()


class Counted:
    """Strawberry's own parse and validation calls, counted (the engine's own are not)."""

    def __init__(self) -> None:
        self.parse = mock.patch.object(strawberry_execution, "parse", wraps=strawberry_execution.parse)
        self.validate = mock.patch.object(strawberry_execution, "validate_document",
                                          wraps=strawberry_execution.validate_document)

    def __enter__(self) -> Counted:
        self.parses = self.parse.__enter__()
        self.validations = self.validate.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.parse.__exit__(*exc)
        self.validate.__exit__(*exc)


async def run_twice(engine: Engine, query: str) -> list[Any]:
    results = []
    for _ in range(2):
        results.append(await engine.execute(engine.prepare(query), context={}))
    return results


async def test_strawberry_runs_the_engines_document_without_parsing_or_validating_it_again():
    user_schema = schema()
    engine = Engine(user_schema)
    with Counted() as counted:
        results = await run_twice(engine, "{ hello }")
    assert [r.data for r in results] == [{"hello": "world"}] * 2
    assert counted.parses.call_count == 0 and counted.validations.call_count == 0
    document = engine.prepare("{ hello }").document
    assert SeesDocument.seen == [document, document]
    # The user's schema is not changed: Strawberry's own execution of it parses as ever.
    assert list(user_schema.extensions) == [SeesDocument]
    with Counted() as counted:
        assert (await user_schema.execute("{ hello }")).data == {"hello": "world"}
    assert counted.parses.call_count == 1 and counted.validations.call_count == 1


async def test_a_subscription_is_not_parsed_again_either():
    engine = Engine(schema())
    with Counted() as counted:
        stream = await engine.subscribe(engine.prepare("subscription { count(to: 2) }"), context={})
        assert [item.data async for item in stream] == [{"count": 1}, {"count": 2}]
    assert counted.parses.call_count == 0 and counted.validations.call_count == 0


async def test_an_extension_adding_rules_keeps_strawberrys_validation():
    engine = Engine(schema(lambda: QueryDepthLimiter(max_depth=2)))
    with Counted() as counted:
        results = await run_twice(engine, "{ hello }")
        deep = await engine.execute(engine.prepare("{ node { child { child { name } } } }"), context={})
    assert [r.data for r in results] == [{"hello": "world"}] * 2
    assert counted.parses.call_count == 0  # the document is still the engine's
    assert counted.validations.call_count == 3  # but validated by Strawberry, with the limiter's rule
    assert "exceeds maximum operation depth" in deep.errors[0].message


async def test_a_token_limit_keeps_strawberrys_parser():
    engine = Engine(schema(lambda: MaxTokensLimiter(max_token_count=5)))
    with Counted() as counted:
        results = await run_twice(engine, "{ hello }")
        many = await engine.execute(engine.prepare("{ a: hello b: hello c: hello }"), context={})
    assert [r.data for r in results] == [{"hello": "world"}] * 2
    assert counted.parses.call_count == 3
    assert "more than 5 tokens" in many.errors[0].message


async def test_parser_and_validation_caches_do_their_own_work():
    engine = Engine(schema(ParserCache, ValidationCache))
    with Counted() as counted:
        results = await run_twice(engine, "{ hello }")
    assert [r.data for r in results] == [{"hello": "world"}] * 2
    assert counted.parses.call_count == 0  # ParserCache parses, with its own cache
    assert SeesDocument.seen[0] is SeesDocument.seen[1] is not engine.prepare("{ hello }").document
