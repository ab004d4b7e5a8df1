"""The engine's incremental delivery: which operations are incremental, the 2022-08-24 payloads, threads."""

from __future__ import annotations

import pytest
from graphql import build_schema

from django_gql_channels.engine import Engine, IncrementalResults, in_sync_thread
from tests import defer_schema
from tests.incremental_support import needs_incremental

pytestmark = needs_incremental


async def payloads(engine: Engine, query: str, **kwargs) -> list[dict]:
    results = await engine.execute_incrementally(engine.prepare(query), **kwargs)
    assert isinstance(results, IncrementalResults)
    try:
        return [results.initial_payload(engine.format_result(results.initial))] + [
            payload async for payload in results.subsequent()]
    finally:
        await results.aclose()


def test_an_operation_is_incremental_when_it_or_a_fragment_it_spreads_uses_the_directives():
    engine = Engine(defer_schema.schema)
    document = """
        query Plain { hello }
        query ViaFragment { ...F }
        query Streams { letters @stream }
        fragment F on Query { ... @defer { hello } }
    """
    assert not engine.prepare(document, "Plain").incremental
    assert engine.prepare(document, "ViaFragment").incremental
    assert engine.prepare(document, "Streams").incremental
    assert not engine.prepare("{ hello }").incremental


def test_a_schema_without_the_directives_is_not_incremental():
    assert Engine(defer_schema.schema).incremental
    assert not Engine(build_schema("type Query { hello: String }")).incremental


async def test_a_stream_inside_a_deferred_fragment_and_fragments_inside_streamed_items():
    engine = Engine(defer_schema.schema)
    out = await payloads(engine, "{ items @stream(initialCount: 2) { id ... @defer(label: \"n\") { name } } }")
    assert out[0] == {"data": {"items": [{"id": 1}, {"id": 2}]}, "hasNext": True}
    entries = [entry for payload in out[1:] for entry in payload.get("incremental", ())]
    assert {"items": [{"id": 3}], "path": ["items", 2]} in entries
    names = sorted((entry["path"], entry["data"]["name"]) for entry in entries if "data" in entry)
    assert names == [(["items", n], f"item {n + 1}") for n in range(3)]
    assert all(entry["label"] == "n" for entry in entries if "data" in entry)
    assert out[-1]["hasNext"] is False


# The thread's close_old_connections may meet a connection an earlier test left there.
@pytest.mark.django_db(transaction=True)
async def test_with_sync_execution_deferred_sync_resolvers_run_in_the_thread():
    schema = build_schema("""
        directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
        type Query { first: Boolean, later: Boolean }
    """)
    schema.query_type.fields["first"].resolve = lambda root, info: in_sync_thread()
    schema.query_type.fields["later"].resolve = lambda root, info: in_sync_thread()
    out = await payloads(Engine(schema, sync_execution=True), "{ first ... @defer { later } }")
    assert out == [{"data": {"first": True}, "hasNext": True},
                   {"incremental": [{"data": {"later": True}, "path": []}], "hasNext": False}]


async def test_a_strawberry_schema_with_incremental_execution_turned_on():
    strawberry = pytest.importorskip("strawberry")
    from strawberry.schema.config import StrawberryConfig

    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self) -> str:
            return "world"

        @strawberry.field
        async def slow(self) -> str:
            return "finally"

    schema = strawberry.Schema(Query, config=StrawberryConfig(enable_experimental_incremental_execution=True))
    engine = Engine(schema)
    assert engine.incremental
    assert await payloads(engine, "{ hello ... @defer { slow } }") == [
        {"data": {"hello": "world"}, "hasNext": True},
        {"incremental": [{"data": {"slow": "finally"}, "path": []}], "hasNext": False},
    ]


async def test_a_strawberry_schema_with_extensions_refuses_incremental_operations_clearly():
    strawberry = pytest.importorskip("strawberry")
    from strawberry.extensions import SchemaExtension
    from strawberry.schema.config import StrawberryConfig

    from django_gql_channels.checks import incremental_problems

    class Noop(SchemaExtension):
        pass

    @strawberry.type
    class Query:
        hello: str = "world"

    schema = strawberry.Schema(Query, extensions=[Noop],
                               config=StrawberryConfig(enable_experimental_incremental_execution=True))
    engine = Engine(schema)
    result = await engine.execute_incrementally(engine.prepare("{ ... @defer { hello } }"))
    assert not isinstance(result, IncrementalResults)
    assert "not available with this schema" in engine.format_result(result)["errors"][0]["message"]
    assert [problem.id for problem in incremental_problems(schema)] == ["gql_channels.W091"]


async def test_middleware_wraps_the_resolvers_of_every_payload_and_debug_tracebacks_reach_each():
    seen = []

    def record(next_, root, info, **args):
        seen.append(info.field_name)
        return next_(root, info, **args)

    engine = Engine(defer_schema.schema, middleware=[record], debug=True)
    out = await payloads(engine, "{ hello ... @defer { slow items { id ... @defer { secret } } } }")
    assert {"hello", "slow", "items", "secret"} <= set(seen)
    errors = [error for payload in out[1:] for entry in payload.get("incremental", ())
              for error in entry.get("errors", ())]
    assert len(errors) == 3
    assert all("hunter2" in "".join(error["extensions"]["exception"]["stacktrace"]) for error in errors)


@pytest.mark.django_db(transaction=True)
async def test_with_sync_execution_deferred_and_streamed_fields_use_the_orm():
    from asgiref.sync import sync_to_async

    from tests.library.models import Author, Book

    @sync_to_async
    def seed() -> None:
        author = Author.objects.create(name="Ann")
        for title in ("One", "Two", "Three"):
            Book.objects.create(title=title, author=author)

    await seed()
    schema = build_schema("""
        directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
        directive @stream(label: String, if: Boolean! = true, initialCount: Int! = 0) on FIELD
        type Book { title: String!, author: String! }
        type Query { count: Int!, books: [Book!]! }
    """)
    schema.query_type.fields["count"].resolve = lambda root, info: Book.objects.count()
    schema.query_type.fields["books"].resolve = lambda root, info: Book.objects.order_by("pk")
    schema.get_type("Book").fields["author"].resolve = lambda book, info: book.author.name  # a query per book
    engine = Engine(schema, sync_execution=True)
    out = await payloads(engine, "{ count ... @defer { books @stream(initialCount: 1) { title author } } }")
    assert out[0] == {"data": {"count": 3}, "hasNext": True}
    entries = [entry for payload in out[1:] for entry in payload.get("incremental", ())]
    assert all("errors" not in entry for entry in entries), entries
    books = entries[0]["data"]["books"]
    for entry in entries[1:]:
        assert entry["path"] == ["books", len(books)]
        books.extend(entry["items"])
    assert books == [{"title": title, "author": "Ann"} for title in ("One", "Two", "Three")]
