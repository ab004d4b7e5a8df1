"""``info.context`` for Graphene schemas: the documented dict, plus the request attributes
graphene-django resolvers read (``.user``, ``.session``, ``.headers``, ``.META``, ``.method``).

The context type is checked on its own, and its ``META`` against Django's own
``ASGIRequest`` for the same scope; then a small Graphene schema's resolvers
read it over every transport (HTTP, SSE in both modes, both WebSocket
protocols), through the router with Channels' auth middleware and a real
logged-in session. Graphene runs in ``tox -e graphene`` only (graphene 3 pins
graphql-core < 3.3), hence the ``graphene_env`` marks.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.asgi import ASGIRequest
from django.test import override_settings
from graphql import GraphQLField, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString

from django_gql_channels import ChannelsRequest, GraphQLHTTPConsumer, GraphQLWSConsumer, TemporalResponse
from django_gql_channels.context import GrapheneContext, scope_meta, wants_request_attributes
from django_gql_channels.engine import Engine
from django_gql_channels.routing import GraphQLProtocolTypeRouter
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from tests.sse_support import StreamingRequest, request

PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
TOKEN = "X-GraphQL-Event-Stream-Token"


def http_scope(**extra: Any) -> dict[str, Any]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/graphql", "raw_path": b"/api/graphql", "root_path": "/api", "query_string": b"a=1&b=%C3%A9&a=2",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), (b"content-length", b"17"),
                    (b"x-team", b"blue"), (b"accept", b"text/html"), (b"accept", b"application/json"),
                    (b"x_spoofed", b"no"), (b"cookie", b"a=1; b=2")],
        "client": ("10.0.0.7", 51234), "server": ("testserver", 8000),
    }
    scope.update(extra)
    return scope


def django_meta(scope: dict[str, Any]) -> dict[str, Any]:
    """Django's own ``META`` for ``scope``.

    Django's releases with the header-spoofing fix drop headers whose names hold an underscore, as
    ``scope_meta`` does; the floor we support (5.2.0) predates it and keeps them, so they are left
    out of the comparison.
    """
    meta = ASGIRequest(scope, io.BytesIO()).META
    underscored = {"HTTP_" + name.decode("latin-1").upper() for name, _ in scope.get("headers", ()) if b"_" in name}
    return {key: value for key, value in meta.items() if key not in underscored}


def http_request(scope: dict[str, Any]) -> ChannelsRequest:
    consumer = GraphQLHTTPConsumer(schema=plain_schema())
    consumer.scope = scope
    return ChannelsRequest(consumer, b"", None, scope["method"], "application/json")


def plain_schema() -> GraphQLSchema:
    def context_keys(root: Any, info: Any) -> list[str]:
        return [type(info.context).__name__, *sorted(info.context)]

    return GraphQLSchema(GraphQLObjectType("Query", {
        "contextKeys": GraphQLField(GraphQLList(GraphQLString), resolve=context_keys),
    }))


# -- the context type ----------------------------------------------------------------------


def test_it_is_the_documented_dict_unchanged():
    request = http_request(http_scope())
    response = TemporalResponse()
    context = GrapheneContext(request=request, response=response)
    assert isinstance(context, dict)
    assert context == {"request": request, "response": response}
    assert list(context) == ["request", "response"]
    assert context["request"] is request and context.get("response") is response
    assert "request" in context and "user" not in context and context.get("user") is None
    assert context.setdefault("ws", "the consumer") == "the consumer" and context["ws"] == "the consumer"
    assert context.setdefault("ws", "another") == "the consumer"
    context["loaders"] = {}
    assert sorted(context.keys()) == ["loaders", "request", "response", "ws"]
    assert len(context) == 4 and context.pop("loaders") == {}
    # dict's own methods are dict's: no request attribute shadows one
    assert {"items", "keys", "values", "get", "pop", "update", "copy"}.isdisjoint(vars(GrapheneContext))
    assert GrapheneContext({"a": 1}, b=2) == {"a": 1, "b": 2}  # made as a dict is


def test_attributes_follow_the_request_entry():
    handshake = GraphQLWSConsumer(schema=plain_schema())
    handshake.scope = {"type": "websocket", "path": "/graphql", "headers": [(b"x-team", b"red")], "user": "u"}
    context = GrapheneContext(request=handshake, ws=handshake, connection_params={})
    assert (context.user, context.method, context.headers["X-Team"]) == ("u", "GET", "red")
    with pytest.raises(AttributeError, match="no 'request' entry"):
        GrapheneContext(loaders={}).user  # noqa: B018
    assert getattr(GrapheneContext(), "META", None) is None


def test_copies_keep_keys_and_attributes():
    request = http_request(http_scope())
    context = GrapheneContext(request=request)
    assert context.method == "POST"
    duplicate = copy.copy(context)
    assert duplicate == context and duplicate.method == "POST" and duplicate.headers["x-team"] == "blue"
    assert type(context.copy()) is dict  # as dict.copy() answers for any subclass


def test_attributes_from_a_scope_without_auth_middleware():
    request = http_request(http_scope())
    context = GrapheneContext(request=request)
    assert isinstance(context.user, AnonymousUser)
    assert context.session is None
    assert context.headers["X-Team"] == "blue" and context.headers is request.headers
    assert context.method == "POST"
    assert context.path == "/api/graphql"
    assert context.GET.getlist("a") == ["1", "2"] and context.GET["b"] == "é"
    assert context.COOKIES == {"a": "1", "b": "2"}


def test_attributes_from_a_scope_with_user_and_session():
    user, session = object(), {"color": "teal"}
    request = http_request(http_scope(user=user, session=session))
    context = GrapheneContext(request=request)
    assert context.user is user and context.session is session


def test_attributes_are_computed_once_and_may_be_set_as_on_a_request():
    scope = http_scope()
    context = GrapheneContext(request=http_request(scope))
    meta = context.META
    scope["headers"] = []
    assert context.META is meta
    # django-graphql-jwt's middleware sets the user it authenticated; graphene-django's debug
    # middleware adds its own attribute.
    context.user = "jwt user"
    context.django_debug = "debug"
    assert context.user == "jwt user" and context.django_debug == "debug" and list(context) == ["request"]
    with pytest.raises(AttributeError):
        context.POST  # noqa: B018  # not a request: only the documented attributes


@pytest.mark.parametrize("extra", [{}, {"root_path": "", "path": "/graphql"}, {"client": None, "server": None},
                                   {"method": "get", "query_string": b""}])
def test_meta_is_what_django_builds_for_the_same_scope(extra):
    scope = http_scope(**extra)
    assert scope_meta(scope) == django_meta(scope)
    assert "HTTP_X_SPOOFED" not in scope_meta(scope)  # x_spoofed could pose as X-Spoofed


def test_meta_with_force_script_name_and_a_websocket_handshake():
    scope = http_scope()
    with override_settings(FORCE_SCRIPT_NAME="/mounted"):
        assert scope_meta(scope)["SCRIPT_NAME"] == "/mounted"
        assert scope_meta(scope) == django_meta(scope)
    handshake = {"type": "websocket", "path": "/graphql", "query_string": b"", "headers": [(b"host", b"testserver")],
                 "subprotocols": ["graphql-ws"]}
    meta = scope_meta(handshake)
    assert meta["REQUEST_METHOD"] == "GET" and meta["PATH_INFO"] == "/graphql" and meta["HTTP_HOST"] == "testserver"
    assert (meta["SERVER_NAME"], meta["SERVER_PORT"]) == ("unknown", "0") and "REMOTE_ADDR" not in meta


def test_repeated_cookie_headers_join_as_cookies():
    # HTTP/2 may split Cookie into several headers; they join with "; " (RFC 9113 8.2.3), so
    # COOKIES sees each pair.
    scope = http_scope(headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2")])
    assert scope_meta(scope)["HTTP_COOKIE"] == "a=1; b=2"
    assert GrapheneContext(request=http_request(scope)).COOKIES == {"a": "1", "b": "2"}


def test_only_graphene_schemas_get_it():
    assert wants_request_attributes(Engine(plain_schema()).library) is False


# Channels' auth middleware looks sessions up in Django's sync thread: the database must be open.
@pytest.mark.django_db(transaction=True)
async def test_a_graphql_core_schema_keeps_its_plain_dict_on_every_transport():
    app = GraphQLProtocolTypeRouter(plain_schema())
    reply = await request(app, payload={"query": "{ contextKeys }"}, accept="application/json")
    assert json.loads(reply.body) == {"data": {"contextKeys": ["dict", "request", "response"]}}
    reply = await request(app, payload={"query": "{ contextKeys }"})
    assert b'"contextKeys":["dict","request","response","ws"]' in reply.body
    for protocol in PROTOCOLS:
        async with GraphQLWebsocketCommunicator(app, "/graphql", protocol=protocol) as client:
            result = await client.execute("{ contextKeys }")
        assert result.data == {"contextKeys": ["dict", "connection_params", "request", "ws"]}


# -- a Graphene schema's resolvers, on every transport ---------------------------------------


def read_request(context: Any) -> dict[str, Any]:
    """What graphene-django resolvers typically read from ``info.context``."""
    user = context.user
    return {
        "type": type(context).__name__,
        "keys": sorted(context),
        "user": user.get_username() if user.is_authenticated else "anonymous",
        "color": context.session.get("color") if context.session is not None else None,
        "header": context.headers.get("X-Team"),
        "meta": context.META.get("HTTP_X_TEAM"),
        "method": context.method,
        "path": context.path,
    }


def graphene_schema() -> Any:
    import graphene

    class Query(graphene.ObjectType):
        seen = graphene.JSONString()

        def resolve_seen(root, info):
            return read_request(info.context)

    class Subscription(graphene.ObjectType):
        seen = graphene.JSONString()

        async def subscribe_seen(root, info):
            yield read_request(info.context)

    return graphene.Schema(query=Query, subscription=Subscription)


@pytest.fixture
def logged_in(transactional_db) -> list[tuple[str, str]]:
    """Headers of a browser logged in as "ada", with "color" in its session."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_user("ada", password="pw"))
    session = client.session
    session["color"] = "teal"
    session.save()
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [("Cookie", cookie), ("X-Team", "blue"), ("Origin", "http://testserver")]


def expected(keys: list[str], method: str = "POST", user: str = "ada", color: str | None = "teal") -> dict[str, Any]:
    return {"type": "GrapheneContext", "keys": keys, "user": user, "color": color, "header": "blue",
            "meta": "blue", "method": method, "path": "/graphql"}


def seen(data: Any) -> Any:
    return json.loads(data["seen"])


@pytest.mark.graphene_env
def test_graphene_schemas_get_it():
    assert wants_request_attributes(Engine(graphene_schema()).library) is True


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)
async def test_over_http(logged_in):
    app = GraphQLProtocolTypeRouter(graphene_schema())
    reply = await request(app, payload={"query": "{ seen }"}, accept="application/json", headers=logged_in)
    assert seen(json.loads(reply.body)["data"]) == expected(["request", "response"])
    reply = await request(app, "GET", query_string="query=%7B%20seen%20%7D", accept="application/json",
                          headers=[("X-Team", "blue")])
    assert seen(json.loads(reply.body)["data"]) == expected(["request", "response"], "GET", "anonymous", None)


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)
async def test_over_sse_in_both_modes(logged_in):
    app = GraphQLProtocolTypeRouter(graphene_schema())
    # distinct connections mode
    stream = await StreamingRequest(app, payload={"query": "subscription { seen }"}, headers=logged_in).start()
    name, payload = await stream.next_event()
    assert name == "next" and seen(payload["data"]) == expected(["request", "response", "ws"])
    await stream.rest()
    # single connection mode: the operation's request, with the reserving consumer as "ws"
    # (a reservation belongs to who made it: the same session reserves, streams and sends)
    token = (await request(app, "PUT", accept=None, headers=logged_in)).body.decode()
    stream = await StreamingRequest(app, "GET", headers=[*logged_in, (TOKEN, token)]).start()
    reply = await request(app, payload={"query": "subscription { seen }", "extensions": {"operationId": "s"}},
                          accept=None, headers=[*logged_in, (TOKEN, token)])
    assert reply.status == 202
    name, message = await stream.next_event()
    assert name == "next" and seen(message["payload"]["data"]) == expected(["request", "response", "ws"])
    await stream.disconnect()


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_over_websockets_from_the_handshake(logged_in, protocol):
    app = GraphQLProtocolTypeRouter(graphene_schema())
    headers = [(name.lower().encode(), value.encode()) for name, value in [("Host", "testserver"), *logged_in]]
    keys = ["connection_params", "request", "ws"]
    async with GraphQLWebsocketCommunicator(app, "/graphql", {"token": "t"}, protocol, headers=headers) as client:
        assert seen((await client.execute("{ seen }")).data) == expected(keys, "GET")
        results = [result async for result in client.subscribe("subscription { seen }")]
        assert [seen(result.data) for result in results] == [expected(keys, "GET")]


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)  # SYNC_EXECUTION's connection hygiene
async def test_an_overridden_get_context_is_the_users():
    class HTTPConsumer(GraphQLHTTPConsumer):
        async def get_context(self, request, response):
            return {"mine": True}

    class WSConsumer(GraphQLWSConsumer):
        async def get_context(self, request, connection_params):
            return {"mine": True}

    import graphene

    class Query(graphene.ObjectType):
        kind = graphene.String()

        def resolve_kind(root, info):
            return f"{type(info.context).__name__} {sorted(info.context)}"

    schema = graphene.Schema(query=Query)
    reply = await request(HTTPConsumer.as_asgi(schema=schema), payload={"query": "{ kind }"}, accept="application/json")
    assert json.loads(reply.body) == {"data": {"kind": "dict ['mine']"}}
    async with GraphQLWebsocketCommunicator(WSConsumer.as_asgi(schema=schema), "/graphql") as client:
        assert (await client.execute("{ kind }")).data == {"kind": "dict ['mine']"}


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)  # SYNC_EXECUTION's connection hygiene
async def test_super_get_context_gives_it_to_extend():
    class HTTPConsumer(GraphQLHTTPConsumer):
        async def get_context(self, request, response):
            context = await super().get_context(request, response)
            context["loaders"] = "made per request"
            return context

    import graphene

    class Query(graphene.ObjectType):
        kind = graphene.String()

        def resolve_kind(root, info):
            graphene_context = isinstance(info.context, GrapheneContext)
            return f"{graphene_context} {info.context['loaders']} {info.context.method}"

    reply = await request(HTTPConsumer.as_asgi(schema=graphene.Schema(query=Query)), payload={"query": "{ kind }"},
                          accept="application/json")
    assert json.loads(reply.body) == {"data": {"kind": "True made per request POST"}}


@pytest.mark.graphene_env
@pytest.mark.django_db(transaction=True)
async def test_graphene_djangos_debug_middleware_writes_its_attribute(logged_in):
    # DjangoDebugMiddleware keeps its state on the context ("the context to be writable"):
    # a plain dict would refuse it.
    pytest.importorskip("graphene_django")
    import graphene
    from django.contrib.auth import get_user_model
    from graphene_django.debug import DjangoDebug

    class Query(graphene.ObjectType):
        usernames = graphene.List(graphene.String)
        debug = graphene.Field(DjangoDebug, name="_debug")

        def resolve_usernames(root, info):
            return [user.username for user in get_user_model().objects.all()]

    middleware = {**settings.GQL_CHANNELS, "MIDDLEWARE": ["graphene_django.debug.DjangoDebugMiddleware"]}
    with override_settings(GQL_CHANNELS=middleware):
        reply = await request(GraphQLProtocolTypeRouter(graphene.Schema(query=Query)), accept="application/json",
                              payload={"query": "{ usernames _debug { sql { rawSql } } }"}, headers=logged_in)
    data = json.loads(reply.body)
    assert data["data"]["usernames"] == ["ada"], data
    assert any("auth_user" in query["rawSql"] for query in data["data"]["_debug"]["sql"])
