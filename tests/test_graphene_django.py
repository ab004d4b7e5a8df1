"""A graphene-django API on the ORM (tests/graphene_app) served unchanged, SYNC_EXECUTION left at its default.

Runs in ``tox -e graphene`` (graphene 3 pins graphql-core < 3.3). Where an
answer is graphene-django's to give (a query's result, its relay ids, its
middleware), it is compared with what graphene-django's own ``GraphQLView``
answers to the same request in the same test (tests/graphene_app/urls.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, override_settings

from tests.engine.library_schema import (
    close_sync_thread_connections,  # noqa: F401 (a fixture)
    create_library,
)
from tests.engine.test_sync_execution import run

pytestmark = [pytest.mark.graphene_env, pytest.mark.usefixtures("close_sync_thread_connections"),
              pytest.mark.django_db(transaction=True),
              pytest.mark.urls("tests.graphene_app.urls")]

TRANSPORTS = ["http", "graphql-transport-ws", "graphql-ws", "sse"]
MIDDLEWARE = {"MIDDLEWARE": ["tests.graphene_app.schema.ExclaimTitles"]}


@pytest.fixture
def library(transactional_db):
    from tests.graphene_app.schema import SEEN

    SEEN.clear()
    return create_library()


@pytest.fixture
def schema() -> Any:
    from tests.graphene_app.schema import schema

    return schema


async def graphene_view(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """graphene-django's own GraphQLView's answer, through Django's test client."""
    response = await AsyncClient().post("/graphql/", json.dumps({"query": query, "variables": variables}),
                                        content_type="application/json")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


async def assert_same_as_graphene_django(schema: Any, transport: str, query: str,
                                         variables: dict[str, Any] | None = None) -> dict[str, Any]:
    [ours] = await run(transport, query, variables, schema=schema)
    theirs = await graphene_view(query, variables)
    assert "errors" not in theirs, theirs
    assert ours == theirs
    return ours


def test_sync_execution_is_on_by_default_for_graphene(schema):
    from django_gql_channels.engine import get_engine

    assert get_engine(schema).sync_execution is True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_model_types_with_foreign_keys_and_many_to_many(library, schema, transport):
    result = await assert_same_as_graphene_django(
        schema, transport, "{ books { id title year author { name } tags { name } } authors { name } }")
    assert [book["author"]["name"] for book in result["data"]["books"]] == ["Ada", "Ada", "Bob"]
    assert result["data"]["books"][0]["tags"] == [{"name": "python"}, {"name": "django"}]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_relay_connection_filtered_by_django_filter(library, schema, transport):
    query = """query ($y: Int, $a: String) {
      allBooks(year_Gte: $y, author_Name: $a, first: 5) {
        edges { cursor node { id title author { name books { edges { node { title } } } } } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    result = await assert_same_as_graphene_django(schema, transport, query, {"y": 2002, "a": "Ada"})
    assert [edge["node"]["title"] for edge in result["data"]["allBooks"]["edges"]] == ["Second"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_node_field_and_nested_foreign_keys(library, schema, transport):
    [listed] = await run("http", "{ allBooks(title: \"Third\") { edges { node { id } } } }", schema=schema)
    node_id = listed["data"]["allBooks"]["edges"][0]["node"]["id"]
    query = "query ($id: ID!) { book(id: $id) { title author { name books { edges { node { title year } } } } } }"
    result = await assert_same_as_graphene_django(schema, transport, query, {"id": node_id})
    assert result["data"]["book"]["author"]["name"] == "Bob"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mutation_creates_rows(library, schema, transport):
    from tests.library.models import Book

    mutation = ('mutation ($title: String!) { addBook(title: $title, author: "Cy", tags: ["new"])'
                ' { book { title author { name } tags { name } } } }')
    [ours] = await run(transport, mutation, {"title": f"ours-{transport}"}, schema=schema)
    theirs = await graphene_view(mutation, {"title": f"theirs-{transport}"})
    assert ours == {"data": {"addBook": {"book": {"title": f"ours-{transport}", "author": {"name": "Cy"},
                                                  "tags": [{"name": "new"}]}}}}
    assert theirs == {"data": {"addBook": {"book": {"title": f"theirs-{transport}", "author": {"name": "Cy"},
                                                    "tags": [{"name": "new"}]}}}}
    titles = await sync_to_async(
        lambda: sorted(Book.objects.filter(author__name="Cy").values_list("title", flat=True)))()
    assert titles == [f"ours-{transport}", f"theirs-{transport}"]


@pytest.mark.parametrize("transport", ["graphql-transport-ws", "graphql-ws", "sse"])
async def test_subscription_events_read_the_orm(library, schema, transport):
    ids = [str(library["second"].pk), str(library["third"].pk)]
    results = await run(transport, "subscription ($ids: [ID!]!) { bookById(ids: $ids) { title author { name } } }",
                        {"ids": ids}, schema=schema)
    assert results == [{"data": {"bookById": {"title": "Second", "author": {"name": "Ada"}}}},
                       {"data": {"bookById": {"title": "Third", "author": {"name": "Bob"}}}}]


@pytest.fixture
def graphene_middleware(monkeypatch):
    """GRAPHENE["MIDDLEWARE"] set, for graphene-django's view too.

    graphene-django replaces its settings object when GRAPHENE changes, but its
    views module keeps the one it imported, so the view is handed a fresh one.
    """
    from graphene_django import settings, views

    with override_settings(GRAPHENE=MIDDLEWARE):
        monkeypatch.setattr(views, "graphene_settings",
                            settings.GrapheneSettings(None, settings.DEFAULTS, settings.IMPORT_STRINGS))
        yield


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_graphene_middleware_setting_is_honoured(library, schema, transport, graphene_middleware):
    from tests.graphene_app.schema import SEEN
    from tests.settings import GQL_CHANNELS

    result = await assert_same_as_graphene_django(schema, transport, "{ books { title } }")
    assert result == {"data": {"books": [{"title": "First!"}, {"title": "Second!"}, {"title": "Third!"}]}}
    assert SEEN.count("books") == 2  # once through us, once through graphene-django's view
    # GQL_CHANNELS["MIDDLEWARE"], once set, wins (here: none at all).
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "MIDDLEWARE": []}):
        [plain] = await run(transport, "{ books { title } }", schema=schema)
    assert plain == {"data": {"books": [{"title": "First"}, {"title": "Second"}, {"title": "Third"}]}}


async def test_graphene_middleware_in_subscription_events(library, schema, graphene_middleware):
    results = await run("graphql-transport-ws", "subscription ($ids: [ID!]!) { bookById(ids: $ids) { title } }",
                        {"ids": [str(library["first"].pk)]}, schema=schema)
    assert results == [{"data": {"bookById": {"title": "First!"}}}]


def test_checks_report_unimportable_graphene_middleware(schema):
    from django_gql_channels.checks import collect_problems
    from tests.settings import GQL_CHANNELS

    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SCHEMA": "tests.graphene_app.schema.schema"},
                           GRAPHENE={"MIDDLEWARE": ["tests.graphene_app.schema.Nope"]}):
        problems = [p for p in collect_problems() if p.id == "gql_channels.E060"]
    assert len(problems) == 1 and "GRAPHENE['MIDDLEWARE']" in str(problems[0])


# -- info.context.user in an ORM resolver, on every transport -------------------------------


@pytest.fixture
def session_cookie(library) -> str:
    """The session cookie of a browser logged in as "ada" (Django's test client logs in)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_user("ada", password="pw"))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def viewer_over(transport: str, schema: Any, cookie: str | None) -> Any:
    """``{ viewer }`` through the router (its auth middleware), the cookie on the request or the handshake."""
    from django_gql_channels.routing import GraphQLProtocolTypeRouter
    from django_gql_channels.testing import GraphQLWebsocketCommunicator
    from tests.sse_support import StreamingRequest, request

    app = GraphQLProtocolTypeRouter(schema)
    headers = [("Origin", "http://testserver"), *([("Cookie", cookie)] if cookie else [])]
    if transport == "http":
        reply = await request(app, payload={"query": "{ viewer }"}, accept="application/json", headers=headers)
        return json.loads(reply.body)
    if transport == "sse":
        stream = await StreamingRequest(app, payload={"query": "{ viewer }"}, headers=headers).start()
        name, data = await stream.next_event()
        assert name == "next", (name, data)
        await stream.rest()
        return data
    ws_headers = [(name.lower().encode(), value.encode()) for name, value in [("Host", "testserver"), *headers]]
    async with GraphQLWebsocketCommunicator(app, "/graphql", protocol=transport, headers=ws_headers) as client:
        result = await client.execute("{ viewer }")
    return {"data": result.data}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_context_user_in_an_orm_resolver(session_cookie, schema, transport):
    assert await viewer_over(transport, schema, session_cookie) == {"data": {"viewer": "ada"}}
    assert await viewer_over(transport, schema, None) == {"data": {"viewer": "anonymous"}}


async def test_context_user_as_graphene_django_sees_it(session_cookie):
    logged_in = AsyncClient()
    logged_in.cookies.load(session_cookie)
    for client, viewer in [(logged_in, "ada"), (AsyncClient(), "anonymous")]:
        response = await client.post("/graphql/", json.dumps({"query": "{ viewer }"}), content_type="application/json")
        assert json.loads(response.content) == {"data": {"viewer": viewer}}
