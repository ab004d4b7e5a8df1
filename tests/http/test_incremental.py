"""``@defer``/``@stream`` over HTTP (``multipart/mixed``) and SSE, in process; the refusals; graphql-core 3.2."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import override_settings

from django_gql_channels.engine import INCREMENTAL_AVAILABLE
from tests import defer_schema
from tests.incremental_support import APOLLO_ACCEPT, http_app, needs_incremental, split_parts
from tests.sse_support import StreamingRequest, request

DEFERRED = "query Deferred($gate: String) { hello ... @defer(label: \"late\") { slow(gate: $gate) } }"
PART_TYPE = {"content-type": "application/json; charset=utf-8"}


@needs_incremental
async def test_defer_is_sent_as_multipart_parts_the_first_before_the_deferred_work_ends():
    gate = defer_schema.GATES["http-first"] = asyncio.Event()
    streaming = StreamingRequest(http_app(), payload={"query": DEFERRED, "variables": {"gate": "http-first"}},
                                 accept=APOLLO_ACCEPT)
    await streaming.start()
    assert streaming.status == 200
    assert streaming.headers["content-type"] == 'multipart/mixed; boundary="-"; deferSpec=20220824'
    assert "content-length" not in streaming.headers
    # The first part arrives while the deferred field still waits.
    while b"hasNext" not in streaming.body:
        await streaming.next_chunk()
        assert not streaming.ended
    assert streaming.body == (b'\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n'
                              b'{"data":{"hello":"world"},"hasNext":true}\r\n---')
    gate.set()
    body = await streaming.rest()
    assert split_parts(body) == [
        (PART_TYPE, {"data": {"hello": "world"}, "hasNext": True}),
        (PART_TYPE, {"incremental": [{"data": {"slow": "finally"}, "path": [], "label": "late"}],
                     "hasNext": False}),
    ]


@needs_incremental
@pytest.mark.parametrize("accept", [
    "multipart/mixed", 'multipart/mixed; deferSpec="20220824"', "application/json, multipart/mixed;deferSpec=20220824",
    "application/json;q=0.9, multipart/mixed; q=0.5; deferSpec=20220824",
])
async def test_accept_values_that_admit_multipart(accept):
    reply = await request(http_app(), payload={"query": "{ items { id ... @defer { name } } }"}, accept=accept)
    assert reply.status == 200 and reply.headers["content-type"].startswith("multipart/mixed")
    parts = [payload for _, payload in split_parts(reply.body)]
    assert parts[0] == {"data": {"items": [{"id": 1}, {"id": 2}, {"id": 3}]}, "hasNext": True}
    delivered = [entry for payload in parts[1:] for entry in payload.get("incremental", ())]
    assert sorted(delivered, key=lambda entry: entry["path"]) == [
        {"data": {"name": f"item {n}"}, "path": ["items", n - 1]} for n in (1, 2, 3)]
    assert parts[-1]["hasNext"] is False


@needs_incremental
async def test_stream_items_carry_their_index():
    reply = await request(http_app(), payload={"query": "{ letters @stream(initialCount: 1) }"},
                          accept="multipart/mixed")
    parts = [payload for _, payload in split_parts(reply.body)]
    assert parts[0] == {"data": {"letters": ["a"]}, "hasNext": True}
    letters = ["a"]
    for entry in (entry for payload in parts[1:] for entry in payload.get("incremental", ())):
        assert entry["path"] == ["letters", len(letters)]  # the index of the entry's first item
        letters.extend(entry["items"])
    assert letters == ["a", "b", "c"]
    assert parts[-1]["hasNext"] is False


@needs_incremental
@pytest.mark.parametrize("accept", [None, "application/json", "application/graphql-response+json",
                                    "multipart/mixed;deferSpec=20990101, application/json", "*/*"])
async def test_without_multipart_in_accept_the_operation_is_refused_before_it_runs(accept):
    gate = defer_schema.GATES["never"] = asyncio.Event()  # never set: running it would hang
    reply = await request(http_app(), payload={"query": DEFERRED, "variables": {"gate": "never"}}, accept=accept)
    assert reply.status == 406
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    message = json.loads(reply.body)["errors"][0]["message"]
    assert "multipart/mixed;deferSpec=20220824" in message and "@defer" in message
    assert not gate.is_set()


@needs_incremental
async def test_operations_without_the_directives_are_answered_as_json_whatever_the_accept():
    reply = await request(http_app(), payload={"query": "{ hello }"}, accept=APOLLO_ACCEPT)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(reply.body) == {"data": {"hello": "world"}}


@needs_incremental
async def test_defer_if_false_is_one_json_result():
    reply = await request(http_app(), payload={"query": "{ hello ... @defer(if: false) { slow } }"},
                          accept=APOLLO_ACCEPT)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(reply.body) == {"data": {"hello": "world", "slow": "finally"}}


@needs_incremental
@override_settings(GQL_CHANNELS={"SCHEMA": "tests.defer_schema.schema", "MASK_ERRORS": True})
async def test_errors_in_deferred_payloads_are_masked_and_logged(caplog):
    reply = await request(http_app(), accept=APOLLO_ACCEPT, payload={
        "query": "{ items @stream(initialCount: 1) { id ... @defer { secret } } }"})
    body = reply.body.decode()
    assert "hunter2" not in body
    parts = [payload for _, payload in split_parts(reply.body)]
    errors = [error for payload in parts[1:] for entry in payload.get("incremental", ())
              for error in entry.get("errors", ())]
    assert len(errors) == 3
    assert {error["message"] for error in errors} == {"Internal server error"}
    assert "hunter2" in caplog.text


@needs_incremental
async def test_a_deferred_fragment_that_fails_as_a_whole_is_null_with_its_errors():
    reply = await request(http_app(), accept=APOLLO_ACCEPT,
                          payload={"query": "{ items { id ... @defer(label: \"f\") { fragile } } }"})
    parts = [payload for _, payload in split_parts(reply.body)]
    entries = sorted((entry for payload in parts[1:] for entry in payload.get("incremental", ())),
                     key=lambda entry: entry["path"])
    assert [(entry["data"], entry["path"], entry["label"]) for entry in entries] == [
        (None, ["items", n], "f") for n in range(3)]
    assert entries[0]["errors"][0]["message"] == "fragile broke"
    assert entries[0]["errors"][0]["path"] == ["items", 0, "fragile"]


@needs_incremental
async def test_a_client_that_leaves_stops_the_deferred_work():
    defer_schema.GATES["left"] = asyncio.Event()
    streaming = StreamingRequest(http_app(), payload={"query": DEFERRED, "variables": {"gate": "left"}},
                                 accept=APOLLO_ACCEPT)
    await streaming.start()
    await streaming.disconnect()  # returns once the consumer is done
    assert "left" in defer_schema.CANCELLED


@needs_incremental
async def test_defer_and_stream_over_sse_are_successive_next_events():
    app = http_app(sse_enabled=True)
    streaming = StreamingRequest(app, payload={"query": "{ hello ... @defer { letters @stream } }"})
    await streaming.start()
    assert streaming.headers["content-type"].startswith("text/event-stream")
    events = []
    while True:
        event, data = await streaming.next_event()
        events.append((event, data))
        if event == "complete":
            break
    assert events[0] == ("next", {"data": {"hello": "world"}, "hasNext": True})
    assert events[-1] == ("complete", None)
    payloads = [data for event, data in events[1:-1]]
    assert all(event == "next" for event, _ in events[1:-1])
    assert payloads[-1]["hasNext"] is False
    entries = [entry for payload in payloads for entry in payload.get("incremental", ())]
    assert entries[0] == {"data": {"letters": []}, "path": []}
    letters: list[str] = []
    for entry in entries[1:]:  # items may come one or several per payload; each path names the first's index
        assert entry["path"] == ["letters", len(letters)]
        letters.extend(entry["items"])
    assert letters == ["a", "b", "c"]


@needs_incremental
@pytest.mark.parametrize(("accept", "content_type"), [
    ("text/event-stream, application/json", "text/event-stream"),
    ("text/event-stream, multipart/mixed, application/json", "multipart/mixed"),
])
async def test_an_accept_with_event_stream_and_json_streams_incremental_operations(accept, content_type):
    reply = await request(http_app(sse_enabled=True), payload={"query": "{ hello ... @defer { slow } }"},
                          accept=accept)
    assert reply.status == 200 and reply.headers["content-type"].startswith(content_type)
    assert b"finally" in reply.body


@pytest.mark.skipif(INCREMENTAL_AVAILABLE, reason="graphql-core 3.2's refusal")
@pytest.mark.parametrize("directive", ["defer", "stream"])
async def test_graphql_core_3_2_refuses_the_directives_with_a_clear_validation_error(directive):
    query = "{ ... @defer { hello } }" if directive == "defer" else "{ letters @stream }"
    reply = await request(http_app(), payload={"query": query}, accept=APOLLO_ACCEPT)
    assert reply.status == 200
    message = json.loads(reply.body)["errors"][0]["message"]
    assert message.startswith(f"The @{directive} directive is not supported by this server")
    assert "graphql-core 3.3" in message


@pytest.mark.parametrize("directive", ["defer", "stream"])
async def test_a_schema_without_the_directives_refuses_them_with_a_clear_validation_error(directive):
    from example_project.schema import schema

    query = "{ ... @defer { hello } }" if directive == "defer" else "{ hello @stream }"
    reply = await request(http_app(schema=schema), payload={"query": query}, accept="application/graphql-response+json")
    assert reply.status == 400
    message = json.loads(reply.body)["errors"][0]["message"]
    assert message.startswith(f"The @{directive} directive is not supported by this server")
