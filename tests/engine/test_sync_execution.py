"""SYNC_EXECUTION: synchronous ORM resolvers on every transport, mixed with async ones, and the error when off.

The schema (tests/engine/library_schema.py) is graphql-core's, over the
tests.library models, so ``SYNC_EXECUTION`` is forced on here; a Graphene
schema gets it by default (tests/test_graphene_django.py). Rows are created in
``transaction=True`` tests so Django's sync thread sees them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import override_settings

from django_gql_channels import GraphQLHTTPConsumer, GraphQLWSConsumer
from django_gql_channels.engine import SYNC_ONLY_HINT, Engine, db_hygiene, get_engine, in_sync_thread
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from tests.engine import library_schema
from tests.engine.library_schema import (
    BATCHES,
    WHERE,
    close_sync_thread_connections,  # noqa: F401 (a fixture)
    create_library,
)
from tests.http.test_http import call
from tests.library.models import Author, Book
from tests.settings import GQL_CHANNELS
from tests.sse_support import StreamingRequest

pytestmark = pytest.mark.usefixtures("close_sync_thread_connections")

SYNC_ON = {**GQL_CHANNELS, "SYNC_EXECUTION": True}
SYNC_OFF = {**GQL_CHANNELS, "SYNC_EXECUTION": False}
TRANSPORTS = ["engine", "http", "graphql-transport-ws", "graphql-ws", "sse"]

BOOKS = "{ books { title year author { name } tags { name } } }"
BOOKS_DATA = {"books": [
    {"title": "First", "year": 2001, "author": {"name": "Ada"}, "tags": [{"name": "python"}, {"name": "django"}]},
    {"title": "Second", "year": 2002, "author": {"name": "Ada"}, "tags": [{"name": "django"}]},
    {"title": "Third", "year": 2003, "author": {"name": "Bob"}, "tags": []},
]}
MIXED = "{ books { title loadedAuthor { name books { title } } } }"
MIXED_DATA = {"books": [
    {"title": "First", "loadedAuthor": {"name": "Ada", "books": [{"title": "First"}, {"title": "Second"}]}},
    {"title": "Second", "loadedAuthor": {"name": "Ada", "books": [{"title": "First"}, {"title": "Second"}]}},
    {"title": "Third", "loadedAuthor": {"name": "Bob", "books": [{"title": "Third"}]}},
]}


@pytest.fixture
def library(transactional_db):
    WHERE.clear()
    BATCHES.clear()
    return create_library()


async def run(transport: str, query: str, variables: dict[str, Any] | None = None, *,
              schema: Any = library_schema.schema) -> list[dict[str, Any]]:
    """Every result the transport delivers for one operation, as the client sees them (formatted)."""
    if transport == "engine":
        engine = get_engine(schema)
        operation = engine.prepare(query)
        if operation.kind == "subscription":
            stream = await engine.subscribe(operation, variables=variables, context={})
            return [engine.format_result(result) async for result in stream]
        return [engine.format_result(await engine.execute(operation, variables=variables, context={}))]
    if transport == "http":
        reply = await call(GraphQLHTTPConsumer.as_asgi(schema=schema), payload={"query": query, "variables": variables})
        assert reply is not None and reply.status == 200, reply
        return [reply.json]
    if transport == "sse":
        stream = await StreamingRequest(GraphQLHTTPConsumer.as_asgi(schema=schema),
                                        payload={"query": query, "variables": variables}).start()
        results = []
        while True:
            name, data = await stream.next_event()
            if name == "complete":
                break
            assert name == "next"
            results.append(data)
        await stream.rest()
        return results
    app = GraphQLWSConsumer.as_asgi(schema=schema)
    async with GraphQLWebsocketCommunicator(app, "/graphql", protocol=transport) as client:
        return [result.formatted async for result in client.subscribe(query, variables)]


def sync_threads(*fields: str) -> set[tuple[str, bool]]:
    """The (thread, loop running) pairs the named fields' resolvers ran in."""
    return {(thread, on_loop) for field, thread, on_loop in WHERE if not fields or field in fields}


# -- on: every transport ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_query_with_foreign_keys_and_many_to_many(library, transport):
    with override_settings(GQL_CHANNELS=SYNC_ON):
        assert await run(transport, BOOKS) == [{"data": BOOKS_DATA}]
    threads = sync_threads()
    assert len(threads) == 1, WHERE  # one thread for the whole operation...
    thread, on_loop = threads.pop()
    assert not on_loop and thread != threading.current_thread().name  # ...never the event loop's


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mutation_creates_rows(library, transport):
    mutation = ('mutation ($t: [String!]!) { addBook(title: "New", author: "Cy", tags: $t)'
                ' { title author { name } tags { name } } }')
    with override_settings(GQL_CHANNELS=SYNC_ON):
        results = await run(transport, mutation, {"t": ["new", "python"]})
    # The tags come in primary-key order: "python" existed before "new".
    assert results == [{"data": {"addBook": {"title": "New", "author": {"name": "Cy"},
                                             "tags": [{"name": "python"}, {"name": "new"}]}}}]
    created = await sync_to_async(
        lambda: list(Book.objects.filter(title="New").values_list("author__name", flat=True)))()
    assert created == ["Cy"]
    assert {on_loop for _, _, on_loop in WHERE} == {False}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_nested_foreign_key_and_reverse_relations(library, transport):
    query = "query ($id: ID!) { book(id: $id) { title author { name books { title tags { name } } } } }"
    with override_settings(GQL_CHANNELS=SYNC_ON):
        results = await run(transport, query, {"id": str(library["second"].pk)})
    assert results == [{"data": {"book": {"title": "Second", "author": {"name": "Ada", "books": [
        {"title": "First", "tags": [{"name": "python"}, {"name": "django"}]},
        {"title": "Second", "tags": [{"name": "django"}]},
    ]}}}}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["engine", "graphql-transport-ws", "graphql-ws", "sse"])
async def test_subscription_events_read_the_orm(library, transport):
    ids = [str(library["third"].pk), str(library["first"].pk)]
    query = "subscription ($ids: [ID!]!) { booksById(ids: $ids) { title author { name } tags { name } } }"
    with override_settings(GQL_CHANNELS=SYNC_ON):
        results = await run(transport, query, {"ids": ids})
    assert results == [
        {"data": {"booksById": {"title": "Third", "author": {"name": "Bob"}, "tags": []}}},
        {"data": {"booksById": {"title": "First", "author": {"name": "Ada"},
                                "tags": [{"name": "python"}, {"name": "django"}]}}},
    ]
    # The source stream stays on the loop; each event's execution runs in the thread.
    assert sync_threads("booksById.subscribe") == {(threading.current_thread().name, True)}
    assert {on_loop for _, on_loop in sync_threads("booksById", "author", "tags")} == {False}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_async_dataloader_field_with_sync_orm_resolvers_below_it(library, transport):
    with override_settings(GQL_CHANNELS=SYNC_ON):
        assert await run(transport, MIXED) == [{"data": MIXED_DATA}]
    # The async field ran on the loop and its loads were batched into one query...
    assert sync_threads("loadedAuthor") == {(threading.current_thread().name, True)}
    assert BATCHES == [sorted({library["ada"].pk, library["bob"].pk})]
    # ...and the sync ORM resolvers under it went back to the thread.
    assert {on_loop for _, on_loop in sync_threads("books", "author.books")} == {False}


@pytest.mark.django_db(transaction=True)
async def test_mixed_mutation_fields_run_serially_in_the_thread(library):
    """A later mutation field executed on the loop (after an awaited one) hops to the thread."""
    engine = Engine(library_schema.schema, sync_execution=True)
    query = ('mutation { a: addBook(title: "A", author: "Ada") { loadedAuthor { name } }'
             ' b: addBook(title: "B", author: "Ada") { title author { books { title } } } }')
    result = await engine.execute(engine.prepare(query), context={})
    assert result.errors is None
    assert result.data == {"a": {"loadedAuthor": {"name": "Ada"}},
                           "b": {"title": "B", "author": {"books": [{"title": t} for t in
                                                                   ("First", "Second", "A", "B")]}}}
    assert {on_loop for _, on_loop in sync_threads("addBook", "author", "author.books")} == {False}


@pytest.mark.django_db(transaction=True)
async def test_connections_are_closed_after_the_operation_in_the_thread(library):
    """Django's per-request hygiene: with CONN_MAX_AGE 0 the thread's connection is closed afterwards."""
    engine = Engine(library_schema.schema, sync_execution=True)
    for query in (BOOKS, MIXED):
        result = await engine.execute(engine.prepare(query), context={})
        assert result.errors is None
        assert await sync_to_async(lambda: connection.connection is None, thread_sensitive=True)()


@pytest.mark.django_db(transaction=True)
def test_hygiene_spares_a_connection_inside_a_transaction(library):
    from django.db import transaction

    with transaction.atomic():
        Author.objects.count()
        db_hygiene()
        assert connection.connection is not None and not connection.needs_rollback
    db_hygiene()  # outside: closed, CONN_MAX_AGE being 0
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
async def test_in_sync_thread_is_true_only_inside_the_hop():
    engine = Engine(library_schema.schema, sync_execution=True)
    seen = []
    query_type: Any = library_schema.schema.query_type
    original = query_type.fields["authors"].resolve
    query_type.fields["authors"].resolve = lambda root, info: seen.append(in_sync_thread()) or []
    try:
        assert (await engine.execute(engine.prepare("{ authors { name } }"))).data == {"authors": []}
    finally:
        query_type.fields["authors"].resolve = original
    assert seen == [True]
    assert not in_sync_thread()


def test_the_setting_picks_the_engine_option():
    with override_settings(GQL_CHANNELS=SYNC_ON):
        assert get_engine(library_schema.schema).sync_execution is True
    with override_settings(GQL_CHANNELS=SYNC_OFF):
        assert get_engine(library_schema.schema).sync_execution is False
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SYNC_EXECUTION": None}):
        assert get_engine(library_schema.schema).sync_execution is False  # graphql-core: off
    assert Engine(library_schema.schema).sync_execution is False  # the constructor as before


# -- off: the error names the setting -------------------------------------------------

# (graphql-core 3.3 reads a returned QuerySet with ``async for``, which Django runs in a
# thread itself, so a plain list field may work off; a QuerySet method call never does.)
OFF_QUERY = '{ book(id: "1") { title } }'


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_off_the_orm_error_names_the_setting(library, transport, caplog):
    with override_settings(GQL_CHANNELS=SYNC_OFF), caplog.at_level(logging.ERROR, "django_gql_channels"):
        results = await run(transport, OFF_QUERY)
    [result] = results
    assert result["data"] == {"book": None}
    [error] = result["errors"]
    assert "GQL_CHANNELS['SYNC_EXECUTION'] = True" in error["message"]
    assert error["message"].startswith(SYNC_ONLY_HINT)
    assert error["path"] == ["book"]
    logged = [record.getMessage() for record in caplog.records]
    assert any("SynchronousOnlyOperation" in line and "GQL_CHANNELS['SYNC_EXECUTION'] = True" in line
               for line in logged), logged


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["http", "graphql-transport-ws", "sse"])
async def test_off_and_masked_the_client_sees_only_internal_server_error(library, transport, caplog):
    with override_settings(GQL_CHANNELS={**SYNC_OFF, "MASK_ERRORS": True}), \
            caplog.at_level(logging.ERROR, "django_gql_channels"):
        [result] = await run(transport, OFF_QUERY)
    assert result["errors"] == [{"message": "Internal server error", "locations": [{"line": 1, "column": 3}],
                                 "path": ["book"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    assert any("GQL_CHANNELS['SYNC_EXECUTION'] = True" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
async def test_off_subscription_event_error_names_the_setting(library):
    with override_settings(GQL_CHANNELS=SYNC_OFF):
        [result] = await run("engine", "subscription ($ids: [ID!]!) { booksById(ids: $ids) { title } }",
                             {"ids": [str(library["first"].pk)]})
    assert "GQL_CHANNELS['SYNC_EXECUTION'] = True" in result["errors"][0]["message"]
