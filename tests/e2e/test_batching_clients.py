"""HTTP batching against live uvicorn and daphne: Apollo Client's BatchHttpLink, and raw requests."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.e2e.conftest import run_node


@pytest.mark.parametrize("server_name", ["uvicorn", "daphne"])
def test_apollo_batch_http_link(live_server_factory, node_modules, server_name):
    server = live_server_factory(server=server_name, settings="tests.e2e.batching_settings")
    result = run_node("apollo_batch_client.mjs", f"{server.url}/graphql")
    out = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    assert result.returncode == 0, (result.stdout, result.stderr, server.log())

    # Five operations issued together: one POST with an array, five results in order.
    [exchange] = out["togetherExchanges"]
    assert exchange["method"] == "POST"
    assert exchange["operations"] == ["One", "Echo", "Two", "Broken", "Partial"]
    assert exchange["status"] == 200
    assert exchange["contentType"] == "application/json; charset=utf-8"  # the link accepts */*
    one, echo, two, broken, partial = out["together"]
    assert one == {"data": {"hello": "Hello, one!"}}
    assert echo == {"data": {"echo": "echoed"}}
    assert two == {"data": {"hello": "Hello, two!"}}
    # The invalid one fails alone (Apollo's default errorPolicy makes it an error)...
    assert "Cannot query field 'nope'" in broken["error"]
    assert "data" not in exchange["body"][3]
    # ...and the others were answered beside it.
    assert partial == {"data": {"hello": "Hello, p!"}}

    # Twelve at once is over MAX_BATCH_SIZE (10): one 400, and the link fails every operation of it.
    [refused] = out["tooManyExchanges"]
    assert (refused["status"], len(refused["operations"])) == (400, 12)
    assert refused["body"]["errors"][0]["extensions"] == {"code": "BATCH_LIMIT_EXCEEDED"}
    assert all("status code 400" in outcome["error"] for outcome in out["tooMany"])

    # APQ per element: both hashes miss in one batch, both are resent with their text in the next; a
    # new client then gets both by hash alone.
    assert out["apqFirst"] == [{"data": {"hello": "Hello, Apq1!"}}, {"data": {"hello": "Hello, Apq2!"}}]
    miss, register = out["apqFirstExchanges"]
    assert (miss["status"], miss["withText"], register["withText"]) == (200, [False, False], [True, True])
    assert [r["errors"][0]["message"] for r in miss["body"]] == ["PersistedQueryNotFound"] * 2
    assert out["apqAgain"] == out["apqFirst"]
    [hit] = out["apqAgainExchanges"]
    assert (hit["status"], hit["withText"]) == (200, [False, False])


def _post(url: str, payload: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], object]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/graphql", json.dumps(payload),
                           {"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("server_name", ["uvicorn", "daphne"])
def test_raw_batches_on_a_live_server(live_server_factory, server_name):
    server = live_server_factory(server=server_name, settings="tests.e2e.batching_settings")
    status, _headers, body = _post(server.url, [{"query": "{ hello }"}, {"query": "{ hello"},
                                                {"query": 'mutation { echo(text: "x") }'}])
    assert status == 200
    assert body[0] == {"data": {"hello": "Hello, world!"}}
    assert set(body[1]) == {"errors"}
    assert body[2] == {"data": {"echo": "x"}}
    status, _headers, body = _post(server.url, [{"query": "{ hello }"}] * 11)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BATCH_LIMIT_EXCEEDED"
    # Off: the same array is refused, as before batching existed.
    plain = live_server_factory(server=server_name)
    status, _headers, body = _post(plain.url, [{"query": "{ hello }"}])
    assert status == 400 and body["errors"][0]["message"].startswith("Batched requests")
