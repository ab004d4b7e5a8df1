"""``django_gql_channels.testing.GraphQLWebsocketCommunicator`` as users will use it."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from graphql import ExecutionResult, GraphQLError

from django_gql_channels import ConnectionRejectionError, GraphQLWSConsumer
from django_gql_channels.routing import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator, WebSocketClosed
from tests import ws_schema

pytestmark = pytest.mark.usefixtures("clean_layer")

BOTH = pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])


def app(**kwargs):
    return GraphQLWSConsumer.as_asgi(schema=ws_schema.schema, **kwargs)


@BOTH
async def test_context_manager_connects_initialises_and_disconnects(protocol):
    client = GraphQLWebsocketCommunicator(app(), "/graphql", protocol=protocol)
    async with client as entered:
        assert entered is client
        assert client.connected and client.subprotocol == protocol
        assert await client.gql_init() is None  # already initialised: not sent again
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
    assert not client.connected
    assert client.future.done()  # the app finished


@BOTH
async def test_subscribe_is_an_async_iterator_of_results(protocol):
    async with GraphQLWebsocketCommunicator(app(), "/graphql", protocol=protocol) as client:
        results = [r async for r in client.subscribe("subscription Count($to: Int!) { count(to: $to) }",
                                                    {"to": 2})]
        assert results == [{"data": {"count": 1}}, {"data": {"count": 2}}]
        errors = [r async for r in client.subscribe("{ nope }")]
        assert len(errors) == 1 and errors[0]["data"] is None
        assert "Cannot query field 'nope'" in errors[0]["errors"][0]["message"]


@BOTH
async def test_results_read_like_execution_results_and_like_the_received_dict(protocol):
    async with GraphQLWebsocketCommunicator(app(), "/graphql", protocol=protocol) as client:
        result = await client.execute("{ hello }")
        assert isinstance(result, ExecutionResult)
        assert (result.data, result.errors, result.extensions) == ({"hello": "world"}, None, None)
        assert result["data"] == {"hello": "world"} and result.get("errors") is None and "errors" not in result
        assert result.formatted == {"data": {"hello": "world"}}
        data, errors = result  # graphql-core's tuple unpacking
        assert (data, errors) == ({"hello": "world"}, None)

        failed = await client.execute("mutation($t: String!) { echo(text: $t) }", {"t": 5})
        assert failed.data is None and isinstance(failed.errors[0], GraphQLError)
        assert "String cannot represent" in failed.errors[0].message
        assert failed.errors[0].locations and failed.errors[0].locations[0].line == 1
        assert failed.errors[0].formatted == failed["errors"][0]

        refused = [r async for r in client.subscribe("subscription { refused }")]
        assert refused[0].errors[0].message == "cannot subscribe"
        assert refused[0].errors[0].path == ["refused"]
        rejected = [r async for r in client.subscribe("{ nope }")]  # an `error` message
        assert rejected[0].data is None and "Cannot query field 'nope'" in rejected[0].errors[0].message


@BOTH
async def test_connection_params_and_the_settings_application(protocol):
    client = GraphQLWebsocketCommunicator(get_application(), "/graphql", {"token": "t0k"}, protocol)
    async with client:
        assert await client.execute('{ connectionParam(key: "token") }') == {"data": {"connectionParam": "t0k"}}


@BOTH
async def test_concurrent_subscriptions_are_routed_by_id(protocol, clean_layer):
    async with GraphQLWebsocketCommunicator(app(), "/graphql", protocol=protocol) as client:
        red = await client.subscribe('subscription { guarded(group: "red") }').start()
        blue = await client.subscribe('subscription { guarded(group: "blue") }').start()
        await clean_layer.group_send("blue", {"type": "note", "text": "b1"})
        await clean_layer.group_send("red", {"type": "note", "text": "r1"})
        await clean_layer.group_send("blue", {"type": "note", "text": "b2"})
        assert await red.__anext__() == {"data": {"guarded": None}}  # each confirms with a null first
        assert await blue.__anext__() == {"data": {"guarded": None}}
        assert await red.__anext__() == {"data": {"guarded": "r1"}}
        assert await blue.__anext__() == {"data": {"guarded": "b1"}}
        assert await blue.__anext__() == {"data": {"guarded": "b2"}}
        await red.complete()
        await blue.complete()
        await client.round_trip()
        assert clean_layer.groups == {}


@BOTH
async def test_subscription_as_context_manager_starts_and_completes(protocol, clean_layer):
    async with GraphQLWebsocketCommunicator(app(), "/graphql", protocol=protocol) as client:
        async with client.subscribe('subscription { guarded(group: "g") }') as subscription:
            assert "g" in clean_layer.groups
            await clean_layer.group_send("g", {"type": "note", "text": "x"})
            results = []
            async for result in subscription:
                results.append(result)
                if len(results) == 2:
                    break
            assert results == [{"data": {"guarded": None}}, {"data": {"guarded": "x"}}]
        await client.round_trip()
        assert clean_layer.groups == {}
        assert ws_schema.EVENTS[-1] == ("end", "guarded", "g")


async def test_the_timeout_is_settable_and_leaves_the_app_running():
    client = GraphQLWebsocketCommunicator(app(), "/graphql", timeout=0.05)
    async with client:
        subscription = await client.subscribe('subscription { guarded(group: "quiet") }').start()
        assert await subscription.__anext__() == {"data": {"guarded": None}}
        with pytest.raises(TimeoutError):
            await subscription.__anext__()
        assert not client.future.done()
        client.timeout = 2
        await get_channel_layer().group_send("quiet", {"type": "note", "text": "late"})
        assert await subscription.__anext__() == {"data": {"guarded": "late"}}


@BOTH
async def test_rejection_raises_connection_rejection_error(protocol):
    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            raise ConnectionRejectionError("no")

    client = GraphQLWebsocketCommunicator(Consumer.as_asgi(schema=ws_schema.schema), "/graphql",
                                          protocol=protocol)
    with pytest.raises(ConnectionRejectionError):
        async with client:
            pass  # pragma: no cover
    await client.disconnect()


async def test_a_server_close_raises_websocket_closed_with_code_and_reason():
    client = GraphQLWebsocketCommunicator(app(), "/graphql")
    await client.connect()
    subscription = client.subscribe("{ hello }")
    with pytest.raises(WebSocketClosed) as info:
        await subscription.__anext__()  # before connection_init: 4401
    assert (info.value.code, info.value.reason) == (4401, "Unauthorized")
    assert client.close_code == 4401 and not client.connected
    await client.disconnect()


async def test_refused_subprotocol_raises_on_init():
    client = GraphQLWebsocketCommunicator(app(), "/graphql", protocol="something-else")
    with pytest.raises(WebSocketClosed) as info:
        await client.gql_init()
    assert info.value.code == 4406
    await client.disconnect()


async def test_server_pings_are_answered_and_kept_aside():
    client = GraphQLWebsocketCommunicator(app(keep_alive=True, keep_alive_interval=0.02), "/graphql")
    async with client:
        await asyncio.sleep(0.1)
        assert await client.execute("{ hello }") == {"data": {"hello": "world"}}
        assert {"type": "ping"} in client.control_messages


async def test_an_app_exception_is_raised_in_the_test():
    async def broken(scope, receive, send):
        await receive()
        raise RuntimeError("app bug")

    client = GraphQLWebsocketCommunicator(broken, "/graphql")
    with pytest.raises(RuntimeError, match="app bug"):
        await client.gql_init()


async def test_concurrent_communicators_pause_db_hygiene_only_while_one_waits():
    """Many communicators waiting at once must not leave Channels' DB hygiene switched off, or on mid-wait."""
    import channels.db

    original = channels.db.close_old_connections
    patched_while_waiting = []

    class Consumer(GraphQLWSConsumer):
        async def on_ws_connect(self, context):
            patched_while_waiting.append(channels.db.close_old_connections is not original)
            await asyncio.sleep(0)

    application = Consumer.as_asgi(schema=ws_schema.schema)

    async def one() -> None:
        async with GraphQLWebsocketCommunicator(application, "/graphql") as client:
            assert await client.execute("{ hello }") == {"data": {"hello": "world"}}

    await asyncio.gather(*(one() for _ in range(30)))
    assert patched_while_waiting == [True] * 30
    assert channels.db.close_old_connections is original


RUNTIME_DEPS_ONLY = r"""
import asyncio, importlib.abc, sys

# Everything a plain `pip install django-gql-channels` does not bring in.
BLOCKED = {"daphne", "twisted", "autobahn", "channels_redis", "redis", "uvicorn", "strawberry",
           "graphene", "ariadne", "pytest", "environ"}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a runtime dependency)")
        return None

sys.meta_path.insert(0, Blocker())

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["channels", "django_gql_channels"],
    GQL_CHANNELS={"SCHEMA": "tests.ws_schema.schema"},
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    ALLOWED_HOSTS=["*"],
)
django.setup()

from django_gql_channels import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator

async def main():
    async with GraphQLWebsocketCommunicator(get_application(), "/graphql") as client:
        results = [r.data async for r in client.subscribe("subscription { count(to: 2) }")]
    assert results == [{"count": 1}, {"count": 2}], results
    assert "channels.testing" not in sys.modules and "daphne" not in sys.modules
    print("ok")

asyncio.run(main())
"""


def test_the_communicator_works_with_the_runtime_dependencies_alone():
    """No daphne (which ``channels.testing`` imports), nor any other extra: only django, channels, graphql-core."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "-c", RUNTIME_DEPS_ONLY], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


async def test_http_communicator_returns_data_and_status():
    from django_gql_channels import GraphQLHTTPConsumer
    from django_gql_channels.testing import GraphQLHTTPCommunicator

    client = GraphQLHTTPCommunicator(get_application())
    result = await client.query("query Q($n: String) { hello(name: $n) } query R { hello }",
                                variables={"n": "you"}, operation_name="Q")
    assert result.status_code == 200
    assert result.data == {"hello": "Hello, you!"} and result.errors is None
    assert result.headers["content-type"].startswith("application/")
    from example_project.schema import schema

    direct = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=schema), headers={"x-test": "1"})
    assert (await direct.query("{ hello }")).data == {"hello": "Hello, world!"}


async def test_http_communicator_reports_errors_and_non_json_bodies():
    from django_gql_channels.testing import GraphQLHTTPCommunicator

    client = GraphQLHTTPCommunicator(get_application())
    result = await client.query("{ nope }")
    assert result.status_code in (200, 400)
    assert result.data is None and result.errors and "nope" in result.errors[0].message
    missing = await GraphQLHTTPCommunicator(get_application(), path="/elsewhere").query("{ hello }")
    assert missing.status_code == 404
    garbage = await client.post(b"{not json")
    assert garbage.status_code == 400 and garbage.errors


async def test_process_result_may_return_the_execution_result():
    from django_gql_channels import GraphQLHTTPConsumer
    from django_gql_channels.testing import GraphQLHTTPCommunicator
    from example_project.schema import schema

    class Consumer(GraphQLHTTPConsumer):
        async def process_result(self, request, result):
            result.extensions = {"seen": True}
            return result

    result = await GraphQLHTTPCommunicator(Consumer.as_asgi(schema=schema)).query("{ hello }")
    assert result.status_code == 200
    assert result.formatted == {"data": {"hello": "Hello, world!"}, "extensions": {"seen": True}}
