"""Property-based fuzzing of a live server (hypothesis): random and malformed HTTP requests and WebSocket frames.

Whatever arrives, the server answers in the protocol's own terms: no 5xx,
every HTTP error a JSON body, every WebSocket message JSON and every close a
protocol close code (never 1011/4500 "internal error", never a dropped
connection), no socket left open but unresponsive, and the server alive at
the end. Bounded in examples and per-step timeouts so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import run_asgi_server

WAIT = 5
#: Examples per test; GQL_FUZZ_SCALE=10 runs ten times as many (a deeper hunt, by hand).
SCALE = float(os.environ.get("GQL_FUZZ_SCALE", "1"))
HTTP_EXAMPLES = int(120 * SCALE)
WS_EXAMPLES = int(50 * SCALE)


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


#: Close codes a well-behaved server may use for bad input (graphql-ws' codes, 1009, a normal close).
PROTOCOL_CLOSE_CODES = {1000, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp("fuzz"), settings="tests.e2e.production_settings") as live:
        yield live
        assert live.process.poll() is None, "the server died"
        with httpx.Client(timeout=WAIT) as http:
            assert http.post(f"{live.url}/graphql", json={"query": "{ hello }"}).json() == {
                "data": {"hello": "Hello, world!"}}


# -- strategies -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
queries = st.sampled_from([
    "{ hello }", "query ($n: Int!) { items(n: $n) { id name } }", "{ fail }", "{ nope }", "{ hello(name: 1) }",
    "mutation ($t: String!) { echo(text: $t) }", "subscription ($n: Int!) { count(to: $n) }",
    "subscription { failAfter(n: 1) }", "query A { hello } query B { hello }", "{ __typename", "",
    "{ items(n: 3) { ...F } } fragment F on Item { ...F }", "{" * 50 + "}" * 50,
]) | st.text(max_size=60)
variables = st.none() | st.fixed_dictionaries({}, optional={"n": st.integers(-3, 5) | json_values,
                                                            "t": json_values})
operation_payloads = st.fixed_dictionaries({}, optional={
    "query": queries | json_values, "variables": variables | json_values,
    "operationName": st.none() | st.sampled_from(["A", "B", "X"]) | json_values,
    "extensions": json_values,
})
message_types = st.sampled_from(["connection_init", "ping", "pong", "subscribe", "complete", "start", "stop",
                                 "connection_terminate", "next", "error", "ka", "data"]) | json_values
ids = st.text(max_size=6) | json_values
messages = st.fixed_dictionaries({"type": message_types}, optional={"id": ids, "payload": operation_payloads
                                                                     | json_values})
frames = st.one_of(
    messages.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=120),
    st.binary(max_size=120),
    messages.map(lambda m: json.dumps(m).encode()),
)


# -- HTTP -------------------------------------------------------------------------------

http_requests = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    "content_type": st.sampled_from(["application/json", "application/json; charset=latin-1",
                                     "application/graphql-response+json", "text/plain", "multipart/form-data",
                                     "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", None])
                    | st.text(max_size=20),
    "accept": st.sampled_from(["application/json", "application/graphql-response+json", "text/html", "*/*",
                               "image/png", None]) | st.text(max_size=20),
    "body": operation_payloads.map(lambda p: json.dumps(p).encode()) | json_values.map(lambda v: json.dumps(v).encode())
            | st.binary(max_size=200),
    "params": st.dictionaries(st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
                              st.text(max_size=40) | queries, max_size=4),
    "extra": st.dictionaries(st.sampled_from(["origin", "access-control-request-method", "graphql-require-preflight",
                                              "content-length"]), st.text(st.characters(min_codepoint=33,
                                                                                       max_codepoint=126),
                                                                          max_size=12), max_size=2),
})


def _printable(value: str) -> bool:
    """A header value the HTTP client will send: visible ASCII, inner spaces only (h11 refuses the rest)."""
    return all(32 <= ord(c) < 127 for c in value) and value == value.strip(" ")


def test_random_http_requests_get_protocol_answers(server):
    with httpx.Client(timeout=WAIT) as http:

        @fuzz(HTTP_EXAMPLES)
        @given(request=http_requests)
        def check(request):
            headers = {k: v for k, v in request["extra"].items() if k != "content-length"}
            for name in ("content_type", "accept"):
                value = request[name]
                if value is not None and _printable(value):
                    headers[name.replace("_", "-")] = value
            body = request["body"] if request["method"] not in ("GET", "HEAD", "OPTIONS") else b""
            reply = http.request(request["method"], f"{server.url}/graphql", params=request["params"],
                                 content=body, headers=headers)
            assert reply.status_code < 500, (request, reply.status_code, reply.text)
            if request["method"] == "HEAD" or not reply.content:
                return
            if reply.status_code >= 400:
                assert isinstance(reply.json()["errors"], list), reply.text
            elif "json" in reply.headers.get("content-type", ""):
                reply.json()

        check()


# -- WebSockets ------------------------------------------------------------------------


async def _probe(ws, protocol: str) -> None:
    """The socket answers something (a message or a close frame) to one more message, promptly."""
    probe_id = f"probe-{uuid.uuid4().hex[:8]}"
    if protocol == "graphql-transport-ws":
        probe = {"type": "ping", "payload": {"probe": probe_id}}
    else:
        probe = {"type": "start", "id": probe_id, "payload": {"query": "{ hello }"}}
    try:
        await ws.send(json.dumps(probe))
        while True:
            text = await asyncio.wait_for(ws.recv(), WAIT)
            assert isinstance(text, str)
            if probe_id in text:
                return
            json.loads(text)
    except ConnectionClosed as closed:
        _check_close(closed)


def _check_close(closed: ConnectionClosed) -> None:
    assert closed.rcvd is not None, "the server dropped the connection without a close frame"
    assert closed.rcvd.code in PROTOCOL_CLOSE_CODES, closed.rcvd


async def _run_frames(server, protocol: str, init: bool, sequence: list[str | bytes]) -> None:
    async with connect(f"{server.ws_url}/graphql", subprotocols=[protocol], open_timeout=WAIT,
                       close_timeout=WAIT, max_size=None) as ws:
        try:
            if init:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            for frame in sequence:
                await ws.send(frame)
            # Whatever came back so far must be JSON.
            while True:
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.05)
                except TimeoutError:
                    break
                assert isinstance(text, str)
                json.loads(text)
        except ConnectionClosed as closed:
            _check_close(closed)
            return
        await _probe(ws, protocol)


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_random_websocket_frames_get_protocol_answers(server, protocol):
    @fuzz(WS_EXAMPLES)
    @given(init=st.booleans(), sequence=st.lists(frames, min_size=1, max_size=6))
    def check(init, sequence):
        asyncio.run(_run_frames(server, protocol, init, sequence))

    check()
