"""A strawberry-django API on the ORM (tests/library) over every transport, Strawberry's extensions on.

Where an answer is Strawberry's to give (masked errors, limits, a permission's
message), it is compared with Strawberry's own ``AsyncGraphQLView`` answering
the same request in the same test (tests/strawberry_django_app/urls.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.db import connections
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from tests.engine.library_schema import (
    close_sync_thread_connections,  # noqa: F401 (a fixture)
    create_library,
)
from tests.engine.test_sync_execution import run

pytest.importorskip("strawberry_django")  # not in the graphene / strawberry-only tox envs
from tests.strawberry_django_app import schema as app  # noqa: E402

pytestmark = [pytest.mark.usefixtures("close_sync_thread_connections"),
              pytest.mark.django_db(transaction=True),
              pytest.mark.urls("tests.strawberry_django_app.urls")]

TRANSPORTS = ["http", "graphql-transport-ws", "graphql-ws", "sse"]
NESTED = "{ books { title author { name } tags { name } } }"
NESTED_DATA = {"books": [
    {"title": "First", "author": {"name": "Ada"}, "tags": [{"name": "python"}, {"name": "django"}]},
    {"title": "Second", "author": {"name": "Ada"}, "tags": [{"name": "django"}]},
    {"title": "Third", "author": {"name": "Bob"}, "tags": []},
]}


@pytest.fixture
def library(transactional_db):
    app.HOOKS.clear()
    return create_library()


async def strawberry_view(path: str, query: str, **headers: str) -> dict[str, Any]:
    """Strawberry's own Django view's answer, through Django's test client."""
    response = await AsyncClient().post(path, json.dumps({"query": query}), content_type="application/json",
                                        headers=headers)
    return json.loads(response.content)


class SyncThreadQueries:
    """The queries run in asgiref's shared sync thread, where strawberry-django's resolvers use the ORM."""

    def __enter__(self) -> SyncThreadQueries:
        # That thread's own connection object, not the thread-local proxy.
        self.captured = SyncToAsync.single_thread_executor.submit(
            lambda: CaptureQueriesContext(connections["default"])).result()
        SyncToAsync.single_thread_executor.submit(self.captured.__enter__).result()
        return self

    def __exit__(self, *exc: object) -> None:
        SyncToAsync.single_thread_executor.submit(self.captured.__exit__, None, None, None).result()

    def __len__(self) -> int:
        return len(self.captured)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_optimizer_runs_fewer_queries(library, transport):
    with SyncThreadQueries() as unoptimized:
        assert await run(transport, NESTED, schema=app.plain) == [{"data": NESTED_DATA}]
    with SyncThreadQueries() as optimized:
        assert await run(transport, NESTED, schema=app.optimized) == [{"data": NESTED_DATA}]
    # Without: the books, then an author and the tags per book; with: books joined to authors, one tags prefetch.
    assert len(unoptimized) == 1 + 3 + 3, unoptimized.captured.captured_queries
    assert len(optimized) == 2, optimized.captured.captured_queries


async def test_optimizer_through_our_django_view(library):
    with SyncThreadQueries() as queries:
        ours = await strawberry_view("/ours/optimized/", NESTED)
    assert ours == {"data": NESTED_DATA}
    assert len(queries) == 2, queries.captured.captured_queries
    assert await strawberry_view("/optimized/", NESTED) == ours


GUARDED = [
    "{ broken }",
    "{ books { author { books { author { name } } } } }",
    "{ a: books { title } b: books { title } c: books { title } }",
    "{ staffBooks { title } }",
    # Strawberry's MaskErrors masks graphql-core's own validation errors as well; our
    # engine validates before the delegate runs, so they reach the client unmasked.
    pytest.param("{ nope }", marks=pytest.mark.xfail(strict=True, reason="validation errors are not masked")),
]


@pytest.mark.parametrize("query", GUARDED)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_extensions_and_permission_answer_as_strawberry_does(library, transport, query):
    [ours] = await run(transport, query, schema=app.guarded)
    theirs = await strawberry_view("/guarded/", query)
    if transport == "http" and "data" not in ours:
        # A request error (rejected before execution) has no ``data`` entry over
        # GraphQL over HTTP; Strawberry's view sends ``"data": null``.
        assert theirs.pop("data") is None
    assert ours["errors"] and ours == theirs
    assert "internal detail" not in json.dumps(ours)


async def test_permission_allows_by_context_and_our_view_matches(library):
    query = "{ staffBooks { title } }"
    expected = {"data": {"staffBooks": [{"title": "First"}, {"title": "Second"}, {"title": "Third"}]}}
    assert await strawberry_view("/ours/guarded/", query, x_role="staff") == expected
    assert await strawberry_view("/guarded/", query, x_role="staff") == expected
    denied = await strawberry_view("/ours/guarded/", query)
    assert denied == await strawberry_view("/guarded/", query)
    # MaskErrors (Strawberry's default predicate) masks the permission's message too.
    assert denied["errors"][0]["message"] == "Unexpected error."


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_custom_schema_extension_hooks_run(library, transport):
    [result] = await run(transport, "{ books { title } }", schema=app.guarded)
    assert result == {"data": {"books": [{"title": "First"}, {"title": "Second"}, {"title": "Third"}]}}
    assert app.HOOKS == ["operation", "execute", "operation done"]
