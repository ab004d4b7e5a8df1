"""Production switches against a live uvicorn: masked errors on every transport, the message-size limit, CORS.

One server for the module, with ``tests.e2e.production_settings`` (DEBUG off,
so ``MASK_ERRORS`` is on by default).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import run_asgi_server

WAIT = 10
MASKED = {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
FIELD_MASKED = {**MASKED, "locations": [{"line": 1, "column": 3}], "path": ["fail"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp("production"), settings="tests.e2e.production_settings") as live:
        yield live


def open_socket(server, protocol: str, **kwargs):
    return connect(f"{server.ws_url}/graphql", subprotocols=[protocol], open_timeout=WAIT, close_timeout=WAIT,
                   max_size=None, **kwargs)


async def recv(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def close_code(ws) -> int:
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert info.value.rcvd is not None, "dropped without a close frame"
    return info.value.rcvd.code


# -- masked errors ---------------------------------------------------------------


async def test_http_masks_resolver_exceptions(server):
    async with httpx.AsyncClient(timeout=WAIT) as http:
        reply = await http.post(f"{server.url}/graphql", json={"query": "{ fail hello }"})
    assert reply.status_code == 200
    assert reply.json() == {"data": {"fail": None, "hello": "Hello, world!"}, "errors": [FIELD_MASKED]}
    assert "This field always fails." in server.log()  # logged in full server-side


async def test_transport_ws_masks_field_and_stream_errors(server):
    async with open_socket(server, "graphql-transport-ws") as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await recv(ws) == {"type": "connection_ack"}
        await ws.send(json.dumps({"id": "f", "type": "subscribe", "payload": {"query": "{ fail }"}}))
        assert await recv(ws) == {"id": "f", "type": "next", "payload": {"data": {"fail": None},
                                                                         "errors": [FIELD_MASKED]}}
        assert await recv(ws) == {"id": "f", "type": "complete"}
        await ws.send(json.dumps({"id": "g", "type": "subscribe",
                                  "payload": {"query": "subscription { failAfter(n: 1) }"}}))
        assert await recv(ws) == {"id": "g", "type": "next", "payload": {"data": {"failAfter": 0}}}
        assert await recv(ws) == {"id": "g", "type": "error", "payload": [MASKED]}
    assert "The subscription generator failed." in server.log()


async def test_legacy_ws_masks_field_and_stream_errors(server):
    async with open_socket(server, "graphql-ws") as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await recv(ws) == {"type": "connection_ack"}
        await ws.send(json.dumps({"id": "f", "type": "start", "payload": {"query": "{ fail }"}}))
        assert await recv(ws) == {"id": "f", "type": "data", "payload": {"data": {"fail": None},
                                                                         "errors": [FIELD_MASKED]}}
        assert await recv(ws) == {"id": "f", "type": "complete"}
        await ws.send(json.dumps({"id": "g", "type": "start",
                                  "payload": {"query": "subscription { failAfter(n: 1) }"}}))
        assert await recv(ws) == {"id": "g", "type": "data", "payload": {"data": {"failAfter": 0}}}
        assert await recv(ws) == {"id": "g", "type": "error", "payload": {"message": MASKED["message"],
                                                                          "errors": [MASKED]}}


# -- MAX_MESSAGE_SIZE ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_frame_over_max_message_size_closes_1009(server, protocol):
    async with open_socket(server, protocol) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await recv(ws))["type"] == "connection_ack"
        await ws.send('{"type": "connection_init", "payload": "' + "x" * 65536 + '"}')  # 65536 + 39 bytes
        assert await close_code(ws) == 1009


# -- CORS -------------------------------------------------------------------------------


async def test_cors_preflight_and_request_through_the_live_server(server):
    origin = "https://app.example"
    async with httpx.AsyncClient(timeout=WAIT) as http:
        preflight = await http.options(f"{server.url}/graphql", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "content-type" in preflight.headers["access-control-allow-headers"]
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-max-age"] == "86400"
        assert preflight.headers["vary"] == "Origin"

        reply = await http.post(f"{server.url}/graphql", json={"query": "{ hello }"}, headers={"Origin": origin})
        assert reply.json() == {"data": {"hello": "Hello, world!"}}
        assert reply.headers["access-control-allow-origin"] == origin
        assert reply.headers["access-control-expose-headers"] == "x-request-id"
        assert reply.headers["vary"] == "Origin"

        preview = "https://pr7.preview.example"
        reply = await http.post(f"{server.url}/graphql", json={"query": "{ hello }"}, headers={"Origin": preview})
        assert reply.headers["access-control-allow-origin"] == preview

        for method in ("options", "post"):
            kwargs = {"json": {"query": "{ hello }"}} if method == "post" else {}
            other = await getattr(http, method)(f"{server.url}/graphql", headers={
                "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, **kwargs)
            assert other.status_code == 200
            assert not [name for name in other.headers if name.startswith("access-control-")]
