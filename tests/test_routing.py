"""The router: GraphQL paths to the consumers, the rest to Django; rebuilt from settings."""

import json

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

from django_gql_channels.routing import GraphQLProtocolTypeRouter, get_application
from tests import routing_stubs

STUBS = {
    "SCHEMA": "example_project.schema.schema",
    "HTTP_CONSUMER": "tests.routing_stubs.HTTPStub",
    "WS_CONSUMER": "tests.routing_stubs.WSStub",
}


async def django_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"consumer": "django"}'})


async def get(app, path, **scope):
    communicator = HttpCommunicator(app, "GET", path)
    communicator.scope.update(scope)
    response = await communicator.get_response()
    return response["status"], json.loads(response["body"] or b"null")


@pytest.fixture(autouse=True)
def stubs():
    routing_stubs.seen.clear()
    # The stubs only record which consumer a path reached; they are not real
    # consumer subclasses, so the start-up check for that (E009) is silenced.
    with override_settings(GQL_CHANNELS=STUBS, INSTALLED_APPS=["channels", "django_gql_channels"],
                           SILENCED_SYSTEM_CHECKS=["gql_channels.E009"]):
        yield routing_stubs.seen


@pytest.mark.parametrize("path", ["/graphql", "/graphql/"])
async def test_graphql_paths_reach_the_http_consumer(path):
    app = get_application(django_app)
    assert await get(app, path) == (200, {"consumer": "http"})


async def test_other_paths_reach_django():
    app = get_application(django_app)
    assert await get(app, "/admin/") == (200, {"consumer": "django"})
    assert await get(app, "/graphqlx") == (200, {"consumer": "django"})


async def test_without_django_other_paths_get_a_json_404():
    status, body = await get(get_application(), "/elsewhere")
    assert status == 404
    assert body == {"errors": [{"message": "Not found."}]}


async def test_root_path_is_stripped():
    assert await get(get_application(), "/api/graphql", root_path="/api") == (200, {"consumer": "http"})


async def test_consumers_get_options_from_settings(stubs):
    with override_settings(GQL_CHANNELS={**STUBS, "GRAPHQL_IDE": None, "KEEP_ALIVE": True}):
        app = get_application()
        await get(app, "/graphql")
        communicator = WebsocketCommunicator(app, "/graphql", headers=[(b"origin", b"http://testserver")])
        await communicator.connect()
        await communicator.disconnect()
    (_, _, http_kwargs), (_, _, ws_kwargs) = stubs
    assert http_kwargs["graphql_ide"] is None and http_kwargs["allow_queries_via_get"] is True
    assert ws_kwargs["keep_alive"] is True
    assert ws_kwargs["subscription_protocols"] == ("graphql-transport-ws", "graphql-ws")


async def test_url_pattern_groups_land_in_url_route(stubs):
    with override_settings(GQL_CHANNELS={**STUBS, "URL_PATTERN": r"^api/(?P<version>v\d)/graphql$"}):
        assert await get(get_application(), "/api/v2/graphql") == (200, {"consumer": "http"})
    assert stubs[0][1]["url_route"] == {"args": (), "kwargs": {"version": "v2"}}


async def test_settings_change_rebuilds_the_application():
    app = get_application()
    assert (await get(app, "/graphql"))[0] == 200
    with override_settings(GQL_CHANNELS={**STUBS, "URL_PATTERN": r"^gql$"}):
        assert (await get(app, "/graphql"))[0] == 404
        assert (await get(app, "/gql"))[0] == 200


async def test_websockets_elsewhere_are_closed_or_handed_on():
    app = get_application()
    communicator = WebsocketCommunicator(app, "/elsewhere", headers=[(b"origin", b"http://testserver")])
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4404)

    async def other(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})

    communicator = WebsocketCommunicator(get_application(websocket_application=other), "/elsewhere")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_origin_check_is_on_by_default():
    app = get_application()
    communicator = WebsocketCommunicator(app, "/graphql", headers=[(b"origin", b"http://evil.example")])
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        connected, _ = await communicator.connect()
    assert not connected
    with override_settings(GQL_CHANNELS={**STUBS, "ALLOWED_ORIGINS_CHECK": False}, ALLOWED_HOSTS=["testserver"]):
        communicator = WebsocketCommunicator(get_application(), "/graphql",
                                             headers=[(b"origin", b"http://evil.example")])
        connected, _ = await communicator.connect()
        assert connected
        await communicator.disconnect()


async def test_auth_middleware_when_auth_and_sessions_are_installed(stubs):
    apps = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "channels", "django_gql_channels"]
    with override_settings(INSTALLED_APPS=apps):
        await get(get_application(), "/graphql")
        with override_settings(GQL_CHANNELS={**STUBS, "AUTH_MIDDLEWARE": False}):
            await get(get_application(), "/graphql")
    assert "user" in stubs[0][1] and "session" in stubs[0][1]
    assert "user" not in stubs[1][1]


async def test_lifespan_is_answered():
    app = GraphQLProtocolTypeRouter("example_project.schema.schema")
    sent = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_unknown_scope_types_are_refused():
    with pytest.raises(ValueError, match="cannot serve ASGI scope type 'carrier-pigeon'"):
        await GraphQLProtocolTypeRouter(None)({"type": "carrier-pigeon"}, None, None)


def test_start_up_checks_stop_get_application_with_the_check_message():
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(GQL_CHANNELS={**STUBS, "MAX_QUERY_DEPHT": 3}), \
            pytest.raises(ImproperlyConfigured, match="MAX_QUERY_DEPHT"):
        get_application()


def test_start_up_checks_require_the_app_installed():
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(INSTALLED_APPS=["channels"]), pytest.raises(ImproperlyConfigured, match="E110"):
        get_application()


def test_start_up_warnings_are_logged_once(caplog):
    with override_settings(GQL_CHANNELS={**STUBS, "DEBUG": True, "MASK_ERRORS": True}):
        get_application()
    assert [r.getMessage() for r in caplog.records if "W031" in r.getMessage()].__len__() == 1
