"""MIDDLEWARE: graphql-core middleware around every resolver, on every transport, and its system checks."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from django.test import override_settings
from graphql import build_schema

from django_gql_channels.checks import collect_problems
from django_gql_channels.engine import Engine, get_engine
from tests.engine import library_schema
from tests.engine.library_schema import (
    close_sync_thread_connections,  # noqa: F401 (a fixture)
    create_library,
)
from tests.engine.test_sync_execution import TRANSPORTS, run
from tests.settings import GQL_CHANNELS

pytestmark = pytest.mark.usefixtures("close_sync_thread_connections")

SEEN: list[str] = []


def shout(next_: Any, root: Any, info: Any, **args: Any) -> Any:
    """A function middleware: strings come back upper-cased (awaited ones too)."""
    result = next_(root, info, **args)
    if inspect.isawaitable(result):
        async def awaited() -> Any:
            value = await result
            return value.upper() if isinstance(value, str) else value
        return awaited()
    return result.upper() if isinstance(result, str) else result


class Recorder:
    """A class middleware: instantiated once, notes every field it wraps."""

    instances = 0

    def __init__(self) -> None:
        Recorder.instances += 1

    def resolve(self, next_: Any, root: Any, info: Any, **args: Any) -> Any:
        SEEN.append(info.field_name)
        return next_(root, info, **args)


NOT_MIDDLEWARE = 42
MIDDLEWARE = ["tests.engine.test_middleware.shout", "tests.engine.test_middleware.Recorder"]
WITH_MIDDLEWARE = {**GQL_CHANNELS, "SYNC_EXECUTION": True, "MIDDLEWARE": MIDDLEWARE}


@pytest.fixture
def library(transactional_db):
    SEEN.clear()
    return create_library()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_queries_and_mutations_pass_through_middleware(library, transport):
    with override_settings(GQL_CHANNELS=WITH_MIDDLEWARE):
        assert await run(transport, "{ books { title author { name } } }") == [{"data": {"books": [
            {"title": "FIRST", "author": {"name": "ADA"}},
            {"title": "SECOND", "author": {"name": "ADA"}},
            {"title": "THIRD", "author": {"name": "BOB"}},
        ]}}]
        assert await run(transport, 'mutation { addBook(title: "New", author: "Cy") { title } }') == [
            {"data": {"addBook": {"title": "NEW"}}}]
    assert SEEN.count("books") == 1 and SEEN.count("title") == 4 and SEEN.count("addBook") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["engine", "graphql-transport-ws", "graphql-ws", "sse"])
async def test_each_subscription_event_passes_through_middleware(library, transport):
    ids = [str(library["first"].pk), str(library["third"].pk)]
    with override_settings(GQL_CHANNELS=WITH_MIDDLEWARE):
        results = await run(transport, "subscription ($ids: [ID!]!) { booksById(ids: $ids) { title } }",
                            {"ids": ids})
    assert results == [{"data": {"booksById": {"title": "FIRST"}}}, {"data": {"booksById": {"title": "THIRD"}}}]
    assert SEEN == ["booksById", "title", "booksById", "title"]


@pytest.mark.django_db(transaction=True)
async def test_async_resolvers_under_middleware(library):
    with override_settings(GQL_CHANNELS=WITH_MIDDLEWARE):
        [result] = await run("engine", "{ books { loadedAuthor { name } } }")
    assert result == {"data": {"books": [{"loadedAuthor": {"name": n}} for n in ("ADA", "ADA", "BOB")]}}


async def test_middleware_without_sync_execution():
    schema = build_schema("type Query { hello: String }")
    engine = Engine(schema, middleware=[shout])
    result = await engine.execute(engine.prepare("{ hello }"), root_value={"hello": "hi"})
    assert result.data == {"hello": "HI"}
    assert Engine(schema).middleware is None  # none by default: graphql-core's plain path


def test_classes_are_instantiated_once_per_settings():
    before = Recorder.instances
    with override_settings(GQL_CHANNELS=WITH_MIDDLEWARE):
        first = get_engine(library_schema.schema)
        second = get_engine(library_schema.schema, debug=not first.debug)
        assert first is not second
        assert first.middleware is not None and second.middleware is not None
        assert Recorder.instances == before + 1
        assert first.middleware.middlewares == second.middleware.middlewares


@pytest.mark.parametrize(("entries", "fragment"), [
    (["tests.engine.test_middleware.nope"], "could not import 'tests.engine.test_middleware.nope'"),
    (["tests.engine.test_middleware.NOT_MIDDLEWARE"], "is not graphql-core middleware"),
])
def test_checks_report_bad_middleware(entries, fragment):
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "MIDDLEWARE": entries}):
        problems = [p for p in collect_problems() if p.key == "MIDDLEWARE"]
    assert [p.id for p in problems] == ["gql_channels.E060"]
    assert fragment in problems[0].msg


@pytest.mark.parametrize(("key", "value"), [("MIDDLEWARE", "tests.engine.test_middleware.shout"),
                                            ("MIDDLEWARE", [shout]), ("SYNC_EXECUTION", "yes")])
def test_checks_report_wrong_types(key, value):
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, key: value}):
        problems = [p for p in collect_problems() if p.key == key]
    assert [p.id for p in problems] == ["gql_channels.E007"]


def test_good_middleware_passes_the_checks():
    with override_settings(GQL_CHANNELS=WITH_MIDDLEWARE):
        assert [p for p in collect_problems() if p.key in ("MIDDLEWARE", "SYNC_EXECUTION")] == []
