"""GraphQL over HTTP against the example project under real ASGI servers.

The graphql-http audit suite (``auditServer``) must report no MUST failure and
no SHOULD warning; its summary line is printed in the test output. Real HTTP
clients then check what the audit does not: uploads through a real server's
chunked bodies, the size limits, the IDE through the settings-built router.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.e2e.conftest import run_node

UPLOAD = "mutation ($file: Upload!) { uploadFile(file: $file) { name size } }"


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_graphql_http_audit(server, node_modules, live_server_factory, capsys):
    live = live_server_factory(server=server)
    result = run_node("audit.mjs", f"{live.url}/graphql")
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else "(no output)"
    problems = [line for line in lines if line.startswith(("FAIL", "WARN"))]
    with capsys.disabled():  # shown whether or not pytest captures output
        print(f"\n[{server}] {summary}")
        for line in problems:
            print(f"[{server}] {line}")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{live.log()}"
    assert summary.startswith("graphql-http audit: ")
    assert "0 MUST failure(s), 0 SHOULD warning(s)" in summary


@pytest.fixture
def live(live_server_factory):
    return live_server_factory()


def test_queries_over_post_and_get(live):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        reply = client.post("/graphql", json={"query": "{ hello }"})
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "application/json; charset=utf-8"
        assert reply.json() == {"data": {"hello": "Hello, world!"}}
        reply = client.get("/graphql/", params={"query": "{ hello(name: \"GET\") }"},
                           headers={"accept": "application/graphql-response+json"})
        assert reply.json() == {"data": {"hello": "Hello, GET!"}}
        assert reply.headers["content-type"].startswith("application/graphql-response+json")
        reply = client.get("/graphql", params={"query": 'mutation { echo(text: "x") }'})
        assert reply.status_code == 405 and reply.headers["allow"] == "POST"


def test_bad_input_over_a_real_server_is_json(live):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        for body, status in [(b"{", 400), (b"[]", 400), (b"7", 400), (b'{"query": 1}', 400)]:
            reply = client.post("/graphql", content=body, headers={"content-type": "application/json"})
            assert reply.status_code == status
            assert "errors" in reply.json()
        reply = client.post("/graphql", content=b"query=x", headers={"content-type": "text/plain"})
        assert reply.status_code == 415 and "errors" in reply.json()
        reply = client.patch("/graphql", json={"query": "{ hello }"})
        assert reply.status_code == 405 and reply.headers["allow"] == "GET, POST, PUT, DELETE"


def test_oversized_json_body_is_413(live):
    # Django's default DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB.
    payload = {"query": "{ hello }", "variables": {"pad": "x" * 3_000_000}}
    with httpx.Client(base_url=live.url, timeout=30) as client:
        reply = client.post("/graphql", json=payload)
        assert reply.status_code == 413
        assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in reply.json()["errors"][0]["message"]

        def chunks():  # no Content-Length: the limit is enforced while reading
            body = json.dumps(payload).encode()
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]

        reply = client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        assert reply.status_code == 413
        # The server is fine afterwards.
        assert client.post("/graphql", json={"query": "{ hello }"}).status_code == 200


def test_upload_through_a_real_server(live):
    content = os.urandom(3 * 1024 * 1024)  # past FILE_UPLOAD_MAX_MEMORY_SIZE: a temporary file
    files = {
        "operations": (None, json.dumps({"query": UPLOAD, "variables": {"file": None}})),
        "map": (None, json.dumps({"0": ["variables.file"]})),
        "0": ("big.bin", content, "application/octet-stream"),
    }
    with httpx.Client(base_url=live.url, timeout=30) as client:
        reply = client.post("/graphql", files=files, headers={"GraphQL-Require-Preflight": "1"})
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"data": {"uploadFile": {"name": "big.bin", "size": len(content)}}}
        reply = client.post("/graphql", files=files)  # no preflight header: the CSRF guard
        assert reply.status_code == 400
        assert "GraphQL-Require-Preflight" in reply.json()["errors"][0]["message"]


def test_ide_page_through_the_router(live):
    reply = httpx.get(f"{live.url}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert 'data-graphql-ide="graphiql"' in reply.text
