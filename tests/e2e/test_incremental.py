"""Incremental delivery (``@defer``, ``@stream``) against live uvicorn and daphne.

Real clients: Apollo Client over HTTP (``multipart/mixed;deferSpec=20220824``),
graphql-ws (graphql-transport-ws) and graphql-sse; raw ``httpx`` requests
check the multipart framing as it goes over the wire (parts, boundaries,
``hasNext``, content types) and the refusal without a multipart ``Accept``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import run_asgi_server, run_node
from tests.incremental_support import APOLLO_ACCEPT, needs_incremental, split_parts

pytestmark = needs_incremental

DEFERRED = '{ hello ... @defer(label: "late") { slow(ms: 1000) } }'


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(request, tmp_path_factory):
    with run_asgi_server(tmp_path_factory.mktemp(request.param), server=request.param,
                         settings="tests.e2e.defer_settings") as live:
        yield live


def test_real_clients(server, node_modules):
    process = run_node("incremental_clients.mjs", f"{server.url}/graphql", f"{server.ws_url}/graphql")
    assert process.returncode == 0, process.stdout + process.stderr
    out = json.loads(process.stdout)
    first = {"data": {"hello": "world"}, "hasNext": True}
    deferred = {"incremental": [{"data": {"slow": "finally"}, "path": [], "label": "late"}], "hasNext": False}
    # Apollo Client: its HttpLink asked for multipart and read each part; its cache merged them.
    assert out["apolloChunks"] == [first, deferred]
    assert all(exchange == {"accept": APOLLO_ACCEPT, "status": 200,
                            "contentType": 'multipart/mixed; boundary="-"; deferSpec=20220824'}
               for exchange in out["exchanges"])
    assert out["apolloWatch"][0]["data"] == {"hello": "world"}
    assert out["apolloWatch"][-1]["data"] == {"hello": "world", "slow": "finally", "__typename": "Query"}
    # Errors of deferred parts reach Apollo Client masked (MASK_ERRORS), each with its part.
    last = out["apolloErrors"][-1]
    assert [item["name"] for item in last["data"]["items"]] == ["item 1", "item 2", "item 3"]
    assert last["errors"] == ["Internal server error"] * 3
    assert "hunter2" not in process.stdout
    # graphql-ws and graphql-sse: one `next` per payload.
    for name in ("wsDefer", "sseDefer", "sseSingleDefer"):
        assert out[name] == [first, deferred], name
    for name in ("wsStream", "sseStream"):
        payloads = out[name]
        assert payloads[0] == {"data": {"letters": ["a"]}, "hasNext": True}
        letters = ["a"]
        for entry in (entry for payload in payloads[1:] for entry in payload.get("incremental", ())):
            assert entry["path"] == ["letters", len(letters)]
            letters.extend(entry["items"])
        assert letters == ["a", "b", "c"] and payloads[-1]["hasNext"] is False
    assert "hunter2" in server.log()  # logged, not sent


def test_multipart_framing_on_the_wire(server):
    with httpx.Client(timeout=10) as client, client.stream(
            "POST", f"{server.url}/graphql", json={"query": DEFERRED}, headers={"accept": APOLLO_ACCEPT}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == 'multipart/mixed; boundary="-"; deferSpec=20220824'
        assert "content-length" not in reply.headers
        assert reply.headers["transfer-encoding"] == "chunked"
        received = b""
        chunks = reply.iter_raw()
        while b'"hasNext":true}\r\n---' not in received:
            received += next(chunks)
        # The first part came on its own, while the deferred field was still sleeping.
        assert received == (b'\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n'
                            b'{"data":{"hello":"world"},"hasNext":true}\r\n---')
        received += b"".join(chunks)
    assert [payload for _, payload in split_parts(received)] == [
        {"data": {"hello": "world"}, "hasNext": True},
        {"incremental": [{"data": {"slow": "finally"}, "path": [], "label": "late"}], "hasNext": False},
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_stream_over_get_and_post(server, method):
    query = "{ letters @stream }"
    request = {"params": {"query": query}} if method == "GET" else {"json": {"query": query}}
    reply = httpx.request(method, f"{server.url}/graphql", headers={"accept": "multipart/mixed"}, timeout=10,
                          **request)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("multipart/mixed")
    parts = split_parts(reply.content)
    assert {headers["content-type"] for headers, _ in parts} == {"application/json; charset=utf-8"}
    payloads = [payload for _, payload in parts]
    assert payloads[0] == {"data": {"letters": []}, "hasNext": True}
    assert [item for payload in payloads[1:] for entry in payload.get("incremental", ())
            for item in entry["items"]] == ["a", "b", "c"]
    assert [payload["hasNext"] for payload in payloads] == [True] * (len(payloads) - 1) + [False]


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json", None])
def test_without_multipart_accept_the_refusal_is_a_406_not_a_hang(server, accept):
    headers = {"accept": accept} if accept else {}
    reply = httpx.post(f"{server.url}/graphql", json={"query": DEFERRED}, headers=headers, timeout=10)
    assert reply.status_code == 406
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert "multipart/mixed;deferSpec=20220824" in reply.json()["errors"][0]["message"]
