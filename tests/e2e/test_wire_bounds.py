"""Attacks on the wire against live uvicorn and daphne (issue 18).

- a ``Host`` outside ALLOWED_HOSTS is refused with 400 on the HTTP and SSE
  endpoints, and the host is echoed nowhere;
- deeply nested JSON over a WebSocket closes it as an invalid message (4400)
  without a traceback in the server log, and over HTTP it is a 400.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import run_asgi_server

WAIT = 10
EVIL = "evil.example"
NESTED = "[" * 5000 + "]" * 5000


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request, tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp(request.param), server=request.param,
                         settings="tests.e2e.wire_settings") as live:
        yield live


# -- Host -------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "kwargs"), [
    ("POST", {"json": {"query": "{ hello }"}}),
    ("GET", {"params": {"query": "{ hello }"}}),
    ("POST", {"json": {"query": "{ hello }"}, "headers": {"accept": "text/event-stream"}}),
    ("PUT", {}),
])
def test_a_foreign_host_is_refused(server, method, kwargs):
    headers = {**kwargs.pop("headers", {}), "host": EVIL}
    reply = httpx.request(method, f"{server.url}/graphql", headers=headers, timeout=WAIT, **kwargs)
    assert reply.status_code == 400
    assert reply.json() == {"errors": [{"message": "Invalid Host header: it is not in ALLOWED_HOSTS."}]}
    assert "evil" not in reply.text and not any("evil" in v for v in reply.headers.values())


def test_an_allowed_host_is_served(server):
    for host in ("api.example.com", "api.example.com:443", server.url.removeprefix("http://")):
        reply = httpx.post(f"{server.url}/graphql", json={"query": "{ hello }"}, headers={"host": host},
                           timeout=WAIT)
        assert reply.status_code == 200, (host, reply.text)


# -- deeply nested JSON ------------------------------------------------------------

@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_deeply_nested_json_over_a_websocket_is_an_invalid_message(server, subprotocol):
    url = server.url.replace("http", "ws", 1) + "/graphql"
    async with connect(url, subprotocols=[subprotocol], open_timeout=WAIT,
                       origin="http://127.0.0.1") as ws:
        if subprotocol == "graphql-transport-ws":
            await ws.send(NESTED)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd.code == 4400
        else:
            await ws.send('{"type": "connection_init"}')
            assert '"connection_ack"' in await asyncio.wait_for(ws.recv(), WAIT)
            await ws.send(NESTED)
            reply = await asyncio.wait_for(ws.recv(), WAIT)
            # Python 3.13's decoder takes 5,000 levels: then the message is refused as no object.
            assert '"connection_error"' in reply
            assert "nested too deeply" in reply or "expected to be an object" in reply
            # the socket lives on
            await ws.send('{"type": "start", "id": "1", "payload": {"query": "{ hello }"}}')
            assert '"data"' in await asyncio.wait_for(ws.recv(), WAIT)
    assert "Traceback" not in server.log() and "RecursionError" not in server.log()


def test_deeply_nested_json_over_http_is_a_400(server):
    reply = httpx.post(f"{server.url}/graphql", content=NESTED.encode(),
                       headers={"content-type": "application/json"}, timeout=WAIT)
    assert reply.status_code == 400
    # "not valid JSON" where the decoder gives up; Python 3.13's decodes 5,000 levels: an array, refused too.
    message = reply.json()["errors"][0]["message"]
    assert "not valid JSON" in message or message.startswith("Batched requests")
    assert "Traceback" not in server.log()


# -- SSE reservations ----------------------------------------------------------------

TOKEN = "X-GraphQL-Event-Stream-Token"


async def test_5000_anonymous_puts_hold_only_the_per_client_cap(server):
    statuses: dict[int, int] = {}
    # From its own loopback address, so its reservations leave other tests' address alone.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2", limits=httpx.Limits(max_connections=16))
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT, transport=transport) as http:
        async def put_many(count: int) -> None:
            for _ in range(count):
                reply = await http.put("/graphql")
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        await asyncio.gather(*(put_many(5000 // 16 + (i < 5000 % 16)) for i in range(16)))
    assert statuses == {201: 16, 429: 5000 - 16}


async def test_another_client_holding_the_token_is_refused(server):
    # Anonymous clients are told apart by address here (the live servers' database has
    # no session table; user and session binding are in tests/http/test_sse_reservations.py).
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as owner, \
            httpx.AsyncClient(base_url=server.url, timeout=WAIT,
                              transport=httpx.AsyncHTTPTransport(local_address="127.0.0.3")) as intruder:
        reply = await owner.put("/graphql")
        assert reply.status_code == 201
        token = reply.text
        operation = {"query": "{ hello }", "extensions": {"operationId": "q"}}
        stolen = await intruder.post("/graphql", headers={TOKEN: token}, json=operation)
        assert stolen.status_code == 404 and token not in stolen.text
        async with intruder.stream("GET", "/graphql", headers={TOKEN: token, "accept": "text/event-stream"}) as s:
            assert s.status_code == 404
        assert (await owner.post("/graphql", headers={TOKEN: token}, json=operation)).status_code == 202
