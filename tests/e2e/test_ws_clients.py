"""GraphQL over WebSockets against the example project under live uvicorn and daphne.

Raw ``websockets`` clients check every message type and close code of both
protocols; the npm ``graphql-ws`` and ``subscriptions-transport-ws`` clients
and the Python ``gql`` client check interoperability.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import run_asgi_server, run_node

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
WAIT = 10


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request, tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp(request.param), server=request.param,
                         settings="tests.e2e.ws_settings") as live:
        live.kind = request.param
        yield live


def open_socket(server, protocol: str | None = TRANSPORT, query: str = ""):
    return connect(f"{server.ws_url}/graphql{query}", subprotocols=[protocol] if protocol else None,
                   open_timeout=WAIT, close_timeout=WAIT)


async def send(ws, message) -> None:
    await ws.send(message if isinstance(message, str) else json.dumps(message))


async def recv(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def closed_with(ws) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert info.value.rcvd is not None, "the server dropped the connection without a close frame"
    return info.value.rcvd.code, info.value.rcvd.reason


def check_reason(server, reason: str, expected: str) -> None:
    # Daphne does not send close reasons.
    if server.kind == "uvicorn":
        assert expected in reason


async def init(ws, payload=None) -> dict:
    await send(ws, {"type": "connection_init", "payload": payload or {}})
    return await recv(ws)


# -- graphql-transport-ws, raw ---------------------------------------------------


async def test_transport_ws_messages(server):
    async with open_socket(server) as ws:
        assert ws.subprotocol == TRANSPORT
        await send(ws, {"type": "ping", "payload": {"early": True}})
        assert await recv(ws) == {"type": "pong", "payload": {"early": True}}
        assert await init(ws, {"ack": {"hello": "raw"}}) == {"type": "connection_ack", "payload": {"hello": "raw"}}
        await send(ws, {"type": "pong"})
        await send(ws, {"id": "q", "type": "subscribe", "payload": {"query": "{ hello }"}})
        assert await recv(ws) == {"id": "q", "type": "next", "payload": {"data": {"hello": "Hello, world!"}}}
        assert await recv(ws) == {"id": "q", "type": "complete"}
        await send(ws, {"id": "m", "type": "subscribe", "payload": {"query": 'mutation { echo(text: "e") }'}})
        assert await recv(ws) == {"id": "m", "type": "next", "payload": {"data": {"echo": "e"}}}
        assert await recv(ws) == {"id": "m", "type": "complete"}
        await send(ws, {"id": "s", "type": "subscribe", "payload": {"query": "subscription { count(to: 2) }"}})
        assert [await recv(ws) for _ in range(3)] == [
            {"id": "s", "type": "next", "payload": {"data": {"count": 1}}},
            {"id": "s", "type": "next", "payload": {"data": {"count": 2}}},
            {"id": "s", "type": "complete"}]
        await send(ws, {"id": "v", "type": "subscribe", "payload": {"query": "{ nope }"}})
        error = await recv(ws)
        assert error["type"] == "error" and error["id"] == "v" and "nope" in error["payload"][0]["message"]
        await send(ws, {"id": "f", "type": "subscribe", "payload": {"query": "{ fail }"}})
        result = await recv(ws)
        assert result["type"] == "next" and result["payload"]["errors"][0]["message"] == "This field always fails."
        assert await recv(ws) == {"id": "f", "type": "complete"}
        await send(ws, {"id": "g", "type": "subscribe", "payload": {"query": "subscription { failAfter(n: 1) }"}})
        assert await recv(ws) == {"id": "g", "type": "next", "payload": {"data": {"failAfter": 0}}}
        failure = await recv(ws)
        assert failure["type"] == "error" and "generator failed" in failure["payload"][0]["message"]


async def test_transport_ws_client_complete_stops_the_subscription(server):
    async with open_socket(server) as ws:
        await init(ws)
        await send(ws, {"id": "chat", "type": "subscribe", "payload": {
            "query": 'subscription { joinChatRooms(rooms: [{roomName: "raw"}], user: "raw") { message } }'}})
        assert await recv(ws) == {"id": "chat", "type": "next", "payload": {"data": {"joinChatRooms": None}}}
        greeting = await recv(ws)
        assert greeting["id"] == "chat"
        assert "Hello, my name is raw!" in greeting["payload"]["data"]["joinChatRooms"]["message"]
        await send(ws, {"id": "chat", "type": "complete"})
        await send(ws, {"id": "say", "type": "subscribe", "payload": {
            "query": 'mutation { sendChatMessage(room: {roomName: "raw"}, message: "anyone?") }'}})
        assert await recv(ws) == {"id": "say", "type": "next", "payload": {"data": {"sendChatMessage": True}}}
        assert await recv(ws) == {"id": "say", "type": "complete"}
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}  # nothing for the completed subscription in between
        # The id can be used again.
        await send(ws, {"id": "chat", "type": "subscribe", "payload": {"query": "{ hello }"}})
        assert (await recv(ws))["type"] == "next"


async def test_transport_ws_server_pings_with_keep_alive(server):
    async with open_socket(server, query="?keepalive=0.05") as ws:
        await init(ws)
        assert await recv(ws) == {"type": "ping"}
        await send(ws, {"type": "pong"})


async def test_no_subprotocol_gets_graphql_transport_ws(server):
    async with open_socket(server, protocol=None) as ws:
        assert ws.subprotocol is None
        assert await init(ws) == {"type": "connection_ack"}


@pytest.mark.parametrize(("messages", "code", "reason"), [
    pytest.param(["{not json"], 4400, "Invalid JSON", id="4400-json"),
    pytest.param([{"type": "bogus"}], 4400, "Invalid message 'type'", id="4400-type"),
    pytest.param([[1, 2]], 4400, "but got array", id="4400-array"),
    pytest.param([{"type": "subscribe", "id": "1"}], 4400, "'payload'", id="4400-payload"),
    pytest.param([{"type": "connection_init", "payload": {"reject": "Go away"}}], 4403, "Go away", id="4403"),
    pytest.param([{"type": "connection_init"}, {"type": "connection_init"}], 4429, "Too many initialisation",
                 id="4429"),
    pytest.param([{"type": "connection_init", "payload": {"crash": True}}], 4500, "Internal server error",
                 id="4500"),
], )
async def test_transport_ws_close_codes(server, messages, code, reason):
    async with open_socket(server) as ws:
        for message in messages:
            await send(ws, message)
        got_code, got_reason = await closed_with(ws)
        assert got_code == code
        check_reason(server, got_reason, reason)


async def test_transport_ws_4401_before_ack(server):
    async with open_socket(server) as ws:
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}})
        code, reason = await closed_with(ws)
        assert code == 4401
        check_reason(server, reason, "Unauthorized")


async def test_transport_ws_4406_unacceptable_subprotocol(server):
    async with open_socket(server, protocol="mqtt") as ws:
        code, reason = await closed_with(ws)
        assert code == 4406
        check_reason(server, reason, "Subprotocol not acceptable")


async def test_transport_ws_4408_no_init(server):
    async with open_socket(server) as ws:
        code, reason = await closed_with(ws)  # CONNECTION_INIT_WAIT_TIMEOUT is 2 s here
        assert code == 4408
        check_reason(server, reason, "Connection initialisation timeout")


async def test_transport_ws_4409_duplicate_id(server):
    async with open_socket(server) as ws:
        await init(ws)
        subscribe = {"id": "dup", "type": "subscribe", "payload": {
            "query": 'subscription { joinChatRooms(rooms: [{roomName: "dup"}], user: "d") { message } }'}}
        await send(ws, subscribe)
        await recv(ws)  # the confirming null: it runs
        await send(ws, subscribe)
        code, reason = await closed_with(ws)
        assert code == 4409
        check_reason(server, reason, "Subscriber for dup already exists")


async def test_long_close_reasons_are_cut_and_still_delivered(server):
    async with open_socket(server) as ws:
        await send(ws, {"type": "connection_init", "payload": {"reject": "ü" * 200}})
        code, reason = await closed_with(ws)
        assert code == 4403
        if server.kind == "uvicorn":
            assert reason == "ü" * 61


# -- legacy graphql-ws, raw ------------------------------------------------------


async def test_legacy_messages(server):
    async with open_socket(server, LEGACY, "?keepalive=0.2") as ws:
        assert ws.subprotocol == LEGACY
        assert await init(ws) == {"type": "connection_ack"}
        assert await recv(ws) == {"type": "ka"}

        async def recv_no_ka():
            while True:
                message = await recv(ws)
                if message != {"type": "ka"}:
                    return message

        await send(ws, {"id": "q", "type": "start", "payload": {"query": "{ hello }"}})
        assert await recv_no_ka() == {"type": "data", "id": "q", "payload": {"data": {"hello": "Hello, world!"}}}
        assert await recv_no_ka() == {"type": "complete", "id": "q"}
        await send(ws, {"id": "m", "type": "start", "payload": {"query": 'mutation { echo(text: "l") }'}})
        assert await recv_no_ka() == {"type": "data", "id": "m", "payload": {"data": {"echo": "l"}}}
        assert await recv_no_ka() == {"type": "complete", "id": "m"}
        await send(ws, {"id": "v", "type": "start", "payload": {"query": "{ nope }"}})
        error = await recv_no_ka()
        assert error["type"] == "error" and "nope" in error["payload"]["message"]
        query = "subscription { count(to: 1000000, delay: 0.05) }"
        await send(ws, {"id": "s", "type": "start", "payload": {"query": query}})
        assert (await recv_no_ka())["type"] == "data"
        await send(ws, {"id": "s", "type": "stop"})
        while (message := await recv_no_ka())["type"] == "data":
            pass
        assert message == {"type": "complete", "id": "s"}
        await send(ws, "{broken")
        assert (await recv_no_ka())["type"] == "connection_error"
        await send(ws, {"type": "start", "id": "np"})
        assert (await recv_no_ka())["type"] == "error"
        assert await recv(ws) == {"type": "ka"}  # still alive
        await send(ws, {"type": "connection_terminate"})
        code, _ = await closed_with(ws)
        assert code == 1000


async def test_legacy_rejection(server):
    async with open_socket(server, LEGACY) as ws:
        assert await init(ws, {"reject": {"message": "nope"}}) == {"type": "connection_error",
                                                                   "payload": {"message": "nope"}}
        code, _ = await closed_with(ws)
        assert code == 4403


# -- real clients ----------------------------------------------------------------


def node_output(result) -> dict:
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return json.loads(lines[-1])


def test_npm_graphql_ws_client(server, node_modules):
    out = node_output(run_node("graphql_ws_client.mjs", f"{server.ws_url}/graphql"))
    assert out["ack"] == {"welcome": "node"}
    assert out["query"] == [{"data": {"hello": "Hello, node!", "connectionParam": "from-node"}}]
    assert out["mutation"] == [{"data": {"echo": "echoed"}}]
    assert out["count"] == [{"data": {"count": i}} for i in (1, 2, 3)]
    assert "nope" in json.dumps(out["validation"]["rejected"])
    assert out["failing"][0]["errors"][0]["message"] == "The subscription generator failed."
    assert out["chat"][0] == {"data": {"joinChatRooms": None}}
    assert "Hello, my name is node!" in out["chat"][1]["data"]["joinChatRooms"]["message"]
    assert out["chat"][2] == {"data": {"joinChatRooms": {"roomName": "chat_nodejs", "message": "typed in node"}}}
    assert out["early"] == [{"data": {"count": 1}}, {"data": {"count": 2}}]
    assert out["after"] == [{"data": {"hello": "Hello, world!"}}]


def test_npm_graphql_ws_client_sees_the_rejection(server, node_modules):
    out = node_output(run_node("graphql_ws_client.mjs", f"{server.ws_url}/graphql", "rejected"))
    assert out["closed"]["code"] == 4403
    check_reason(server, out["closed"]["reason"], '{"message":"no entry"}')


def test_npm_subscriptions_transport_ws_client(server, node_modules):
    out = node_output(run_node("subscriptions_transport_ws_client.mjs", f"{server.ws_url}/graphql"))
    assert out["query"] == [{"data": {"hello": "Hello, legacy!", "connectionParam": "from-legacy"}}]
    assert out["mutation"] == [{"data": {"echo": "old"}}]
    assert out["count"] == [{"data": {"count": i}} for i in (1, 2, 3)]
    assert "nope" in json.dumps(out["validation"])
    assert "The subscription generator failed." in json.dumps(out["failing"])
    assert out["chat"][0] == {"data": {"joinChatRooms": None}}
    assert "Hello, my name is old!" in out["chat"][1]["data"]["joinChatRooms"]["message"]
    assert out["chat"][2] == {"data": {"joinChatRooms": {"roomName": "chat_legacy", "message": "typed in legacy"}}}
    assert out["early"] == [{"data": {"count": 1}}, {"data": {"count": 2}}]
    assert out["after"] == [{"data": {"hello": "Hello, world!"}}]
    assert out["keepAlives"] >= 1


def test_npm_subscriptions_transport_ws_client_sees_the_rejection(server, node_modules):
    out = node_output(run_node("subscriptions_transport_ws_client.mjs", f"{server.ws_url}/graphql", "rejected"))
    assert out["connectionError"] == {"message": "no entry"}


@pytest.mark.parametrize("subprotocol", [TRANSPORT, LEGACY])
async def test_python_gql_client(server, subprotocol):
    from gql import Client, gql
    from gql.transport.websockets import WebsocketsTransport

    transport = WebsocketsTransport(url=f"{server.ws_url}/graphql", subprotocols=[subprotocol],
                                    init_payload={"token": "from-gql"})
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        assert await session.execute(gql('{ hello(name: "gql") connectionParam(key: "token") }')) == {
            "hello": "Hello, gql!", "connectionParam": "from-gql"}
        assert await session.execute(gql('mutation { echo(text: "g") }')) == {"echo": "g"}
        counted = [r async for r in session.subscribe(gql("subscription { count(to: 3) }"))]
        assert counted == [{"count": 1}, {"count": 2}, {"count": 3}]
        chat = session.subscribe(gql(
            'subscription { joinChatRooms(rooms: [{roomName: "gql"}], user: "py") { roomName message } }'))
        assert await chat.__anext__() == {"joinChatRooms": None}  # confirmed: it listens
        greeting = await chat.__anext__()
        assert "Hello, my name is py!" in greeting["joinChatRooms"]["message"]
        await session.execute(gql('mutation { sendChatMessage(room: {roomName: "gql"}, message: "from gql") }'))
        assert await chat.__anext__() == {"joinChatRooms": {"roomName": "chat_gql", "message": "from gql"}}
        await chat.aclose()
        assert await session.execute(gql("{ hello }")) == {"hello": "Hello, world!"}
