"""The seed page's examples (Strawberry's "Channels" page), run against this app.

Each example is exercised with a Strawberry schema shaped like the page's
(``tests/seed_schema.py``), with only the import path changed
(``strawberry.channels`` -> ``django_gql_channels``), through the three ways
the page builds an application: the settings-built one (``get_application``
in the project's ``asgi.py``), ``GraphQLProtocolTypeRouter``, and a hand-made
``ProtocolTypeRouter``. The page's slips are not copied: its test reads
``data["currentUser"]`` where the data is keyed by the field, and checks for
"hello" in a greeting that says "Hello".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from channels.auth import AuthMiddlewareStack
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.core.asgi import get_asgi_application
from django.urls import re_path

pytest.importorskip("strawberry")  # a test dependency, absent from the graphql-core 3.2 (graphene) env

from django_gql_channels import (  # noqa: E402
    ChannelsConsumer,
    ChannelsRequest,
    ChannelsResponse,
    GraphQLHTTPConsumer,
    GraphQLProtocolTypeRouter,
    GraphQLWSConsumer,
    TemporalResponse,
    get_application,
)
from django_gql_channels.exceptions import ConnectionRejectionError  # noqa: E402
from django_gql_channels.testing import GraphQLWebsocketCommunicator  # noqa: E402
from example_project.chat.consumers import ChatConsumer  # noqa: E402
from tests import seed_schema  # noqa: E402

pytestmark = pytest.mark.usefixtures("clean_layer")

PROTOCOLS = pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
ORIGIN = [(b"origin", b"http://testserver")]

chat_subscription_query = """
subscription fooChat {
  joinChatRooms(rooms: [{ roomName: "room1" }, { roomName: "room2" }], user: "foo") {
    roomName
    message
    currentUser
  }
}
"""


def chat_websocket_urlpatterns():
    """The Channels tutorial's ``chat/routing.py``."""
    return [re_path(r"ws/chat/(?P<room_name>\w+)/$", ChatConsumer.as_asgi())]


def settings_application(settings, schema_path: str):
    """The project's own ``asgi.py`` with the settings-built router (``GQL_CHANNELS["SCHEMA"]``)."""
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "SCHEMA": schema_path}
    django_asgi_app = get_asgi_application()
    return get_application(django_asgi_app,
                           websocket_application=AuthMiddlewareStack(URLRouter(chat_websocket_urlpatterns())))


def graphql_protocol_type_router(schema):
    """The page's "Creating the consumers", first form."""
    django_asgi_app = get_asgi_application()
    return GraphQLProtocolTypeRouter(schema, django_application=django_asgi_app)


def hand_made_protocol_type_router(schema, http_consumer=GraphQLHTTPConsumer, ws_consumer=GraphQLWSConsumer,
                                   **ws_options: Any):
    """The page's "Creating the consumers", second form: a ``ProtocolTypeRouter`` of its own."""
    django_asgi_app = get_asgi_application()
    gql_http_consumer = AuthMiddlewareStack(http_consumer.as_asgi(schema=schema))
    gql_ws_consumer = ws_consumer.as_asgi(schema=schema, **ws_options)
    websocket_urlpatterns = chat_websocket_urlpatterns() + [re_path(r"graphql", gql_ws_consumer)]
    return ProtocolTypeRouter({
        "http": URLRouter([
            re_path("^graphql", gql_http_consumer),
            re_path("^", django_asgi_app),
        ]),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    })


APPLICATIONS = ["settings", "GraphQLProtocolTypeRouter", "ProtocolTypeRouter"]


def build(kind: str, settings, confirming: bool = False):
    schema = seed_schema.confirming_schema if confirming else seed_schema.schema
    if kind == "settings":
        return settings_application(settings, f"tests.seed_schema.{'confirming_schema' if confirming else 'schema'}")
    if kind == "GraphQLProtocolTypeRouter":
        return graphql_protocol_type_router(schema)
    return hand_made_protocol_type_router(schema)


async def http_post(application, payload: dict[str, Any], path: str = "/graphql") -> tuple[int, Any]:
    communicator = HttpCommunicator(application, "POST", path, body=json.dumps(payload).encode(),
                                    headers=[(b"content-type", b"application/json"), (b"host", b"testserver")])
    response = await communicator.get_response(timeout=5)
    return response["status"], json.loads(response["body"])


async def http_get(application, path: str, accept: bytes = b"text/html") -> dict[str, Any]:
    communicator = HttpCommunicator(application, "GET", path, headers=[(b"accept", accept), (b"host", b"testserver")])
    return await communicator.get_response(timeout=5)


async def send_chat_message(application, room: str, message: str) -> None:
    """Tab #2: the ``sendChatMessage`` mutation over HTTP."""
    status, body = await http_post(application, {
        "query": "mutation echo($room: String!, $message: String!) "
                 "{ sendChatMessage(message: $message, room: { roomName: $room }) }",
        "variables": {"room": room, "message": message},
    })
    assert (status, body) == (200, {"data": {"sendChatMessage": None}})


# -- Testing: the page's communicator example ---------------------------------------------


@pytest.fixture
async def gql_communicator(settings):
    # The page's fixture, on the project's ASGI application ("from myapp.asgi import application").
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "SCHEMA": "tests.seed_schema.schema"}
    from django_gql_channels.asgi import application

    client = GraphQLWebsocketCommunicator(application=application, path="/graphql")
    await client.gql_init()
    yield client
    await client.disconnect()


async def test_joinChatRooms_sends_welcome_message(gql_communicator):  # noqa: N802 - the page's name
    rooms = []
    async for result in gql_communicator.subscribe(query=chat_subscription_query):
        data = result.data
        assert data["joinChatRooms"]["currentUser"] == "foo"
        assert "Hello my name is foo!" in data["joinChatRooms"]["message"]
        rooms.append(data["joinChatRooms"]["roomName"])
        if len(rooms) == 2:  # we subscribed to two rooms: two welcome messages
            break
    assert rooms == ["chat_room1", "chat_room2"]


# -- the tutorial, three tabs, through each way of building the application ---------------------


# The tutorial's room page is a plain Channels consumer: it closes old database
# connections on every message (and its communicator's disconnect does not
# pause that), so it may touch a connection an earlier test left in the shared
# worker thread.
@pytest.mark.django_db
@pytest.mark.parametrize("kind", APPLICATIONS)
@PROTOCOLS
async def test_the_tutorial_greets_both_rooms_then_relays_each_message_once(kind, protocol, settings):
    application = build(kind, settings)
    # Tab #1: the subscription.
    async with GraphQLWebsocketCommunicator(application, "/graphql", protocol=protocol) as tab1:
        chat = tab1.subscribe(chat_subscription_query)
        greetings = [await chat.__anext__(), await chat.__anext__()]
        assert [g.data["joinChatRooms"]["roomName"] for g in greetings] == ["chat_room1", "chat_room2"]
        assert all("Hello my name is foo!" in g.data["joinChatRooms"]["message"] for g in greetings)
        assert all(g.errors is None for g in greetings)

        # Tab #2: the mutation, to each room in turn; each message arrives once, in order.
        await send_chat_message(application, "room1", "hello room 1")
        await send_chat_message(application, "room2", "hello room 2")
        await send_chat_message(application, "elsewhere", "not for us")
        await send_chat_message(application, "room1", "last")
        received = [(await chat.__anext__()).data["joinChatRooms"] for _ in range(3)]
        assert received == [
            {"roomName": "chat_room1", "message": "hello room 1", "currentUser": "foo"},
            {"roomName": "chat_room2", "message": "hello room 2", "currentUser": "foo"},
            {"roomName": "chat_room1", "message": "last", "currentUser": "foo"},
        ]

        if kind == "GraphQLProtocolTypeRouter":  # the page's first form routes no chat page
            await chat.complete()
            return
        # Tab #3: the Channels tutorial's room page, joined to room1.
        tab3 = WebsocketCommunicator(application, "/ws/chat/room1/", headers=ORIGIN)
        connected, _ = await tab3.connect()
        assert connected
        try:
            await tab3.send_json_to({"message": "typed in the room page"})
            assert await tab3.receive_json_from() == {"message": "typed in the room page"}
            assert (await chat.__anext__()).data["joinChatRooms"]["message"] == "typed in the room page"
            await send_chat_message(application, "room1", "from tab 2")
            assert await tab3.receive_json_from() == {"message": "from tab 2"}
            assert (await chat.__anext__()).data["joinChatRooms"]["message"] == "from tab 2"
        finally:
            await tab3.disconnect()
        await chat.complete()


@pytest.mark.parametrize("kind", APPLICATIONS)
@PROTOCOLS
async def test_confirming_subscriptions_send_null_first(kind, protocol, settings):
    application = build(kind, settings, confirming=True)
    async with GraphQLWebsocketCommunicator(application, "/graphql", protocol=protocol) as client:
        chat = client.subscribe(chat_subscription_query)
        confirmation = await chat.__anext__()
        assert confirmation.data == {"joinChatRooms": None} and confirmation.errors is None
        assert confirmation == {"data": {"joinChatRooms": None}}  # as the client receives it
        # Confirmed: the channel layer subscription has started, so a message published now arrives.
        greetings = [(await chat.__anext__()).data["joinChatRooms"]["roomName"] for _ in range(2)]
        assert greetings == ["chat_room1", "chat_room2"]
        await send_chat_message(application, "room2", "after the null")
        assert (await chat.__anext__()).data["joinChatRooms"]["message"] == "after the null"
        await chat.complete()


async def test_a_confirming_client_on_the_raw_protocol_sees_null_before_the_pong(settings):
    application = build("ProtocolTypeRouter", settings, confirming=True)
    async with GraphQLWebsocketCommunicator(application, "/graphql") as client:
        await client.send_json_to({"id": "1", "type": "subscribe", "payload": {"query": chat_subscription_query}})
        await client.send_json_to({"type": "ping"})
        assert await client.receive_json() == {"id": "1", "type": "next",
                                               "payload": {"data": {"joinChatRooms": None}}}
        # The greetings already wait in the listener, so they may go out before the pong does.
        while (message := await client.receive_json()) != {"type": "pong"}:
            assert "Hello my name is foo!" in message["payload"]["data"]["joinChatRooms"]["message"]


# -- Passing connection params -----------------------------------------------------------------


@pytest.mark.parametrize("kind", APPLICATIONS)
async def test_passing_connection_params(kind, settings):
    application = build(kind, settings)
    client = GraphQLWebsocketCommunicator(application=application, path="/graphql",
                                          connection_params={"token": "strawberry"})
    async with client:
        result = await client.execute('{ connectionParam(key: "token") }')
        assert result.data == {"connectionParam": "strawberry"}


# -- GraphQLHTTPConsumer: options, context, render_graphql_ide ---------------------------------


async def test_http_context_request_headers_and_response(settings):
    application = build("settings", settings)
    communicator = HttpCommunicator(application, "POST", "/graphql",
                                    body=json.dumps({"query": '{ header(name: "x-Custom") }'}).encode(),
                                    headers=[(b"content-type", b"application/json"), (b"X-CUSTOM", b"42")])
    response = await communicator.get_response(timeout=5)
    assert json.loads(response["body"]) == {"data": {"header": "42"}}


async def test_http_options(settings):
    schema = seed_schema.schema
    ide = await http_get(GraphQLHTTPConsumer.as_asgi(schema=schema), "/graphql")
    assert ide["status"] == 200 and b"graphiql" in ide["body"].lower()
    no_ide = await http_get(GraphQLHTTPConsumer.as_asgi(schema=schema, graphql_ide=None), "/graphql")
    assert no_ide["status"] == 404 and b"graphiql" not in no_ide["body"].lower()

    via_get = await http_get(GraphQLHTTPConsumer.as_asgi(schema=schema), "/graphql?query={hello}",
                             accept=b"application/json")
    assert (via_get["status"], json.loads(via_get["body"])) == (200, {"data": {"hello": "world"}})
    refused = await http_get(GraphQLHTTPConsumer.as_asgi(schema=schema, allow_queries_via_get=False),
                             "/graphql?query={hello}", accept=b"application/json")
    assert refused["status"] == 405

    body = (b'--B\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query": "{ hello }"}\r\n'
            b'--B\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--B--\r\n')
    headers = [(b"content-type", b"multipart/form-data; boundary=B"), (b"graphql-require-preflight", b"1")]
    for enabled, ok in ((False, False), (True, True)):
        consumer = GraphQLHTTPConsumer.as_asgi(schema=schema, multipart_uploads_enabled=enabled)
        response = await HttpCommunicator(consumer, "POST", "/graphql", body=body, headers=headers).get_response(5)
        assert (response["status"] == 200) is ok, response


async def test_render_graphql_ide_override():
    class MyGraphQLHTTPConsumer(GraphQLHTTPConsumer):
        async def render_graphql_ide(self, request: ChannelsRequest) -> ChannelsResponse:
            custom_html = """<html><body><h1>Custom GraphQL IDE</h1></body></html>"""
            return ChannelsResponse(content=custom_html, content_type="text/html")

    response = await http_get(MyGraphQLHTTPConsumer.as_asgi(schema=seed_schema.schema), "/graphql")
    assert response["status"] == 200
    assert response["body"] == b"<html><body><h1>Custom GraphQL IDE</h1></body></html>"


# -- GraphQLWSConsumer: options, on_ws_connect, context ----------------------------------------


@PROTOCOLS
async def test_ws_debug_and_keep_alive_options(protocol):
    application = GraphQLWSConsumer.as_asgi(schema=seed_schema.schema, debug=True, keep_alive=True,
                                            keep_alive_interval=0.05)
    async with GraphQLWebsocketCommunicator(application, "/graphql", protocol=protocol) as client:
        result = await client.execute("{ boom }")
        assert result.errors[0].message == "boom"
        assert "ValueError" in "".join(result.errors[0].extensions["exception"]["stacktrace"])
        while True:  # keep-alive messages keep coming, whatever else happens
            message = await client.receive_json()
            if message.get("type") == ("ka" if protocol == "graphql-ws" else "ping"):
                break


class MyGraphQLWSConsumer(GraphQLWSConsumer):
    """The page's ``on_ws_connect`` example, as written there."""

    async def on_ws_connect(self, context: dict[str, object]):
        connection_params = context["connection_params"]

        if not isinstance(connection_params, dict):
            # Reject without a custom graphql-ws error payload
            raise ConnectionRejectionError()

        if connection_params.get("password") != "secret":
            # Reject with a custom graphql-ws error payload
            raise ConnectionRejectionError({"reason": "Invalid password"})

        if username := connection_params.get("username"):
            # Accept with a custom acknowledgment payload
            return {"message": f"Hello, {username}!"}

        # Accept without a acknowledgment payload
        return await super().on_ws_connect(context)


@PROTOCOLS
async def test_on_ws_connect_example(protocol):
    application = hand_made_protocol_type_router(seed_schema.schema, ws_consumer=MyGraphQLWSConsumer)

    async def connect(params):
        client = GraphQLWebsocketCommunicator(application, "/graphql", params, protocol, headers=ORIGIN)
        try:
            return await client.gql_init()
        finally:
            await client.disconnect()

    assert await connect({"password": "secret", "username": "ada"}) == {"message": "Hello, ada!"}
    assert await connect({"password": "secret"}) is None
    with pytest.raises(ConnectionRejectionError) as rejected:
        await connect({"password": "wrong"})
    if protocol == "graphql-ws":  # the legacy protocol carries the payload
        assert rejected.value.payload == {"reason": "Invalid password"}


@PROTOCOLS
async def test_ws_context_headers(protocol, settings):
    application = build("settings", settings)
    client = GraphQLWebsocketCommunicator(application, "/graphql", protocol=protocol,
                                          headers=[*ORIGIN, (b"authorization", b"Bearer t")])
    async with client:
        result = await client.execute('{ header(name: "Authorization") }')
        assert result.data == {"header": "Bearer t"}


# -- Example for defining a custom context ------------------------------------------------------


@dataclass
class ChannelsContext:
    request: ChannelsRequest
    response: TemporalResponse

    @property
    def user(self):
        # Depends on Channels' AuthMiddlewareStack
        if "user" in self.request.consumer.scope:
            return self.request.consumer.scope["user"]
        return AnonymousUser()

    @property
    def session(self):
        # Depends on Channels' SessionMiddleware / AuthMiddlewareStack
        if "session" in self.request.consumer.scope:
            return self.request.consumer.scope["session"]
        return None


@dataclass
class ChannelsWSContext:
    request: ChannelsConsumer
    connection_params: dict[str, Any] | None = None

    @property
    def ws(self) -> ChannelsConsumer:
        return self.request

    @property
    def user(self):
        return self.request.scope.get("user", AnonymousUser())

    @property
    def session(self):
        return self.request.scope.get("session")


class ContextHTTPConsumer(GraphQLHTTPConsumer):
    async def get_context(self, request: ChannelsRequest, response: TemporalResponse) -> ChannelsContext:
        return ChannelsContext(request=request, response=response)


class ContextWSConsumer(GraphQLWSConsumer):
    async def get_context(self, request: ChannelsConsumer, connection_params: Any) -> ChannelsWSContext:
        return ChannelsWSContext(request=request, connection_params=connection_params)


@pytest.mark.django_db
async def test_custom_context_dataclasses_work_everywhere(settings):
    application = hand_made_protocol_type_router(seed_schema.context_schema, http_consumer=ContextHTTPConsumer,
                                                 ws_consumer=ContextWSConsumer)
    status, body = await http_post(application, {"query": "{ userIsAnonymous sessionPresent }"})
    assert (status, body) == (200, {"data": {"userIsAnonymous": True, "sessionPresent": True}})
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        client = GraphQLWebsocketCommunicator(application, "/graphql", protocol=protocol,
                                              headers=[*ORIGIN, (b"x-room", b"lobby")])
        async with client:
            result = await client.execute('{ userIsAnonymous wsHeader(name: "X-Room") }')
            assert result.data == {"userIsAnonymous": True, "wsHeader": "lobby"}
            room = client.subscribe('subscription { room(name: "lobby") }')
            assert (await room.__anext__()).data == {"room": None}
            await get_channel_layer().group_send("chat_lobby", {"type": "chat.message", "message": protocol})
            assert (await room.__anext__()).data == {"room": protocol}
            await room.complete()
