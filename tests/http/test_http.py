"""GraphQLHTTPConsumer: GraphQL over HTTP, in process (one ASGI call per request)."""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple
from unittest import mock

import pytest
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator
from django.test import override_settings
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from django_gql_channels import ChannelsRequest, ChannelsResponse, GraphQLHTTPConsumer, TemporalResponse
from django_gql_channels.http import HTTPError
from django_gql_channels.routing import get_application
from example_project.schema import schema as example_schema

GQL_JSON = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"


# -- driving the consumer --------------------------------------------------------


class Reply(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return self.json["errors"][0]["message"]


async def call(
    app: Any,
    method: str = "POST",
    *,
    body: bytes | None = None,
    payload: Any = None,
    content_type: str | None = "application/json",
    accept: str | None = None,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    query_string: str = "",
    path: str = "/graphql",
    chunks: list[bytes] | None = None,
    scope: dict[str, Any] | None = None,
    disconnect_after: int | None = None,
) -> Reply | None:
    """One request through ``app`` as an ASGI server would run it; None when nothing was sent."""
    if payload is not None:
        body = json.dumps(payload).encode()
    if chunks is None:
        chunks = [body or b""]
    raw_headers = [] if any(k.lower() == "host" for k, _ in headers) else [(b"host", b"testserver")]
    if content_type is not None:
        raw_headers.append((b"content-type", content_type.encode()))
    if accept is not None:
        raw_headers.append((b"accept", accept.encode()))
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers]
    full_scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query_string.encode(), "headers": raw_headers,
        "client": ("127.0.0.1", 1234), "server": ("testserver", 80), **(scope or {}),
    }
    sent: list[dict[str, Any]] = []
    remaining = list(chunks)
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if disconnect_after is not None and received >= disconnect_after:
            return {"type": "http.disconnect"}
        if remaining:
            received += 1
            chunk = remaining.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(remaining)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(full_scope, receive, send)
    if not sent:
        return None
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    assert all(m["type"] == "http.response.body" for m in bodies)
    body_bytes = b"".join(m.get("body", b"") for m in bodies)
    decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    content_length = [v for k, v in decoded if k == "content-length"]
    assert content_length == [str(len(body_bytes))]
    return Reply(start["status"], decoded, body_bytes)


def consumer(**kwargs: Any) -> Any:
    kwargs.setdefault("schema", example_schema)
    return GraphQLHTTPConsumer.as_asgi(**kwargs)


@pytest.fixture
def app() -> Any:
    return consumer(graphql_ide="graphiql", allow_queries_via_get=True, multipart_uploads_enabled=False)


def assert_json_error(reply: Reply | None, status: int, *fragments: str) -> None:
    assert reply is not None
    assert reply.status == status, reply
    assert reply.header("content-type") == JSON
    body = reply.json
    assert set(body) == {"errors"}
    assert isinstance(body["errors"], list) and body["errors"]
    for fragment in fragments:
        assert fragment in body["errors"][0]["message"], body


# -- the happy path --------------------------------------------------------------


async def test_post_json_query(app):
    reply = await call(app, payload={"query": "{ hello }"})
    assert reply.status == 200
    assert reply.header("content-type") == JSON
    assert reply.json == {"data": {"hello": "Hello, world!"}}


async def test_post_with_variables_and_operation_name(app):
    reply = await call(app, payload={
        "query": "query A { a: hello } query B($n: String) { hello(name: $n) }",
        "operationName": "B", "variables": {"n": "Ada"}, "extensions": {"any": "thing"},
    })
    assert reply.json == {"data": {"hello": "Hello, Ada!"}}


async def test_mutation_over_post(app):
    reply = await call(app, payload={"query": 'mutation { echo(text: "hi") }'})
    assert reply.json == {"data": {"echo": "hi"}}


async def test_with_httpcommunicator():
    communicator = HttpCommunicator(consumer(), "POST", "/graphql", body=b'{"query": "{ hello }"}',
                                    headers=[(b"content-type", b"application/json")])
    response = await communicator.get_response()
    assert response["status"] == 200
    assert json.loads(response["body"]) == {"data": {"hello": "Hello, world!"}}


async def test_body_in_many_chunks(app):
    body = json.dumps({"query": "{ hello }"}).encode()
    reply = await call(app, chunks=[body[i:i + 3] for i in range(0, len(body), 3)])
    assert reply.json == {"data": {"hello": "Hello, world!"}}


@pytest.mark.parametrize("null_param", ["variables", "operationName", "extensions"])
async def test_null_optional_parameters_are_allowed(app, null_param):
    reply = await call(app, payload={"query": "{ __typename }", null_param: None})
    assert reply.status == 200
    assert reply.json == {"data": {"__typename": "Query"}}


async def test_utf8_in_and_out(app):
    reply = await call(app, content_type="application/json; charset=utf-8",
                       payload={"query": "mutation ($t: String!) { echo(text: $t) }",
                                "variables": {"t": "Run🏃Swim🏊 \ud800"}})
    assert reply.status == 200
    reply.body.decode("ascii")  # non-ASCII is escaped, so even lone surrogates encode
    assert reply.json == {"data": {"echo": "Run🏃Swim🏊 \ud800"}}


async def test_charset_is_case_insensitive(app):
    reply = await call(app, content_type='application/json;charset="UTF-8"', payload={"query": "{ hello }"})
    assert reply.status == 200


# -- Accept negotiation and status codes -----------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(("accept", "content_type"), [
    (None, JSON),
    ("", JSON),
    ("*/*", JSON),
    ("application/*", JSON),
    ("application/json", JSON),
    ("application/graphql-response+json", GQL_JSON),
    ("application/graphql-response+json, application/json", GQL_JSON),
    ("application/json, application/graphql-response+json", GQL_JSON),
    ("application/graphql-response+json;q=0.9, application/json", JSON),
    ("application/json;q=0.5, application/graphql-response+json;q=0.8", GQL_JSON),
    ("application/graphql-response+json;q=0, */*", JSON),
    ("APPLICATION/GRAPHQL-RESPONSE+JSON", GQL_JSON),
    ("text/plain, application/graphql-response+json;q=0.1", GQL_JSON),
    (BROWSER_ACCEPT, JSON),
])
async def test_accept_negotiation(app, accept, content_type):
    reply = await call(app, accept=accept, payload={"query": "{ hello }"})
    assert reply.status == 200
    assert reply.header("content-type") == content_type
    assert reply.json == {"data": {"hello": "Hello, world!"}}


@pytest.mark.parametrize("accept", ["text/html", "image/png, text/plain", "application/json;q=0",
                                    "application/xml", "application/graphql-response+json;q=0"])
async def test_not_acceptable(app, accept):
    reply = await call(app, accept=accept, payload={"query": "{ hello }"})
    assert_json_error(reply, 406, "application/graphql-response+json or application/json")


REQUEST_ERRORS = {
    "syntax": ({"query": "{"}, "Syntax Error"),
    "empty document": ({"query": ""}, "Syntax Error"),
    "validation": ({"query": "{ noSuchField }"}, "Cannot query field 'noSuchField'"),
    "unknown operation": ({"query": "query A { hello }", "operationName": "B"}, "Unknown operation named 'B'"),
    "ambiguous operation": ({"query": "query A { hello } query B { hello }"}, "Must provide operation name"),
    "no operation": ({"query": "fragment F on Query { hello }"}, "Fragment 'F' is never used"),
    "variable coercion": ({"query": "query ($n: Int!) { items(n: $n) { id } }", "variables": {"n": None}},
                          "Variable '$n'"),
    "variable type": ({"query": "query ($n: Int!) { items(n: $n) { id } }", "variables": {"n": "x"}},
                      "Variable '$n'"),
    "missing variable": ({"query": "query ($n: Int!) { items(n: $n) { id } }"}, "Variable '$n'"),
    "subscription": ({"query": "subscription { count(to: 1) }"},
                     "Subscriptions are served over WebSocket at ws://testserver/graphql"),
}


@pytest.mark.parametrize("case", REQUEST_ERRORS)
@pytest.mark.parametrize(("accept", "status", "content_type"), [
    ("application/graphql-response+json", 400, GQL_JSON),
    ("application/json", 200, JSON),
    (None, 200, JSON),
])
async def test_request_errors(app, case, accept, status, content_type):
    payload, fragment = REQUEST_ERRORS[case]
    reply = await call(app, accept=accept, payload=payload)
    assert reply.status == status
    assert reply.header("content-type") == content_type
    body = reply.json
    assert "data" not in body  # a request error never started executing
    assert fragment in body["errors"][0]["message"], body


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_field_errors_are_200_with_data(app, accept):
    reply = await call(app, accept=accept, payload={"query": "{ hello fail }"})
    assert reply.status == 200
    body = reply.json
    assert body["data"] == {"hello": "Hello, world!", "fail": None}
    assert body["errors"][0]["message"] == "This field always fails."
    assert body["errors"][0]["path"] == ["fail"]
    assert "extensions" not in body["errors"][0]  # no traceback unless DEBUG


async def test_field_error_nulling_the_whole_result_keeps_data_null():
    schema = GraphQLSchema(GraphQLObjectType("Query", {
        "boom": GraphQLField(GraphQLNonNull(GraphQLString), resolve=lambda *_: 1 / 0),
    }))
    reply = await call(consumer(schema=schema), accept="application/graphql-response+json",
                       payload={"query": "{ boom }"})
    assert reply.status == 200
    assert reply.json["data"] is None
    assert reply.json["errors"][0]["path"] == ["boom"]


async def test_subscription_url_uses_wss_and_root_path(app):
    reply = await call(app, payload={"query": "subscription { count(to: 1) }"},
                       headers=[("host", "api.example.com")],
                       scope={"scheme": "https", "root_path": "/prefix", "path": "/graphql/"})
    assert "wss://api.example.com/prefix/graphql/" in reply.message


# -- bad input: always JSON, never 500 ------------------------------------------

BAD_BODIES = {
    "malformed json": (b'{ "not a JSON', "The request body is not valid JSON"),
    "empty body": (b"", "The request body is empty"),
    "whitespace body": (b"  ", "The request body is not valid JSON"),
    "bare number": (b"0", "must be a JSON object, not a number"),
    "bare string": (b'"{ hello }"', "must be a JSON object, not a string"),
    "bare null": (b"null", "must be a JSON object, not null"),
    "bare boolean": (b"true", "must be a JSON object, not a boolean"),
    "batch": (b'[{"query": "{ hello }"}]', "Batched requests (a JSON array) are not supported"),
    "empty list": (b"[]", "Batched requests"),
    "invalid utf-8": (b'{"query": "{ hello \xff }"}', "The request body is not valid JSON"),
    "deep nesting": (b"[" * 200_000 + b"]" * 200_000, "The request body is not valid JSON"),
    "no query": (b'{"qeury": "{ hello }"}', "The request has no 'query'"),
    "null query": (b'{"query": null}', "The request has no 'query'"),
    "object query": (b'{"query": {"obj": "ect"}}', "'query' must be a string, not an object"),
    "number query": (b'{"query": 0}', "'query' must be a string, not a number"),
    "boolean query": (b'{"query": false}', "'query' must be a string, not a boolean"),
    "array query": (b'{"query": ["array"]}', "'query' must be a string, not an array"),
    "object operationName": (b'{"query": "{ hello }", "operationName": {}}', "'operationName' must be a string"),
    "number operationName": (b'{"query": "{ hello }", "operationName": 0}', "'operationName' must be a string"),
    "boolean operationName": (b'{"query": "{ hello }", "operationName": false}', "'operationName'"),
    "array operationName": (b'{"query": "{ hello }", "operationName": ["a"]}', "'operationName'"),
    "string variables": (b'{"query": "{ hello }", "variables": "{}"}',
                         "'variables' must be an object or null, not a string"),
    "number variables": (b'{"query": "{ hello }", "variables": 0}', "'variables' must be an object"),
    "boolean variables": (b'{"query": "{ hello }", "variables": false}', "'variables' must be an object"),
    "array variables": (b'{"query": "{ hello }", "variables": ["array"]}', "'variables' must be an object"),
    "string extensions": (b'{"query": "{ hello }", "extensions": "x"}',
                          "'extensions' must be an object or null, not a string"),
    "number extensions": (b'{"query": "{ hello }", "extensions": 0}', "'extensions' must be an object"),
    "boolean extensions": (b'{"query": "{ hello }", "extensions": false}', "'extensions' must be an object"),
    "array extensions": (b'{"query": "{ hello }", "extensions": []}', "'extensions' must be an object"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
@pytest.mark.parametrize("accept", [None, "application/graphql-response+json"])
async def test_bad_bodies_get_400_json(app, case, accept):
    body, fragment = BAD_BODIES[case]
    reply = await call(app, body=body, accept=accept)
    assert_json_error(reply, 400, fragment)


@pytest.mark.parametrize(("content_type", "fragment"), [
    (None, "The request has no Content-Type"),
    ("text/plain", "Unsupported Content-Type 'text/plain'"),
    ("application/x-www-form-urlencoded", "Unsupported Content-Type"),
    ("application/graphql", "Unsupported Content-Type 'application/graphql'"),
    ("application/jsonx", "Unsupported Content-Type"),
    ("application/json; charset=latin-1", "Unsupported charset 'latin-1'"),
    ("application/json; charset=utf-16", "Unsupported charset"),
    ("multipart/form-data; boundary=x", "MULTIPART_UPLOADS_ENABLED is False"),
])
async def test_unsupported_content_types_get_415(app, content_type, fragment):
    reply = await call(app, content_type=content_type, payload={"query": "{ hello }"})
    assert_json_error(reply, 415, fragment)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"])
async def test_other_methods_get_405_with_allow(method):
    app = consumer(graphql_ide="graphiql", sse_enabled=False)
    reply = await call(app, method, payload={"query": "{ hello }"})
    assert_json_error(reply, 405, f"{method} is not supported")
    assert reply.header("allow") == "GET, POST"


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "OPTIONS", "TRACE"])
async def test_with_sse_put_and_delete_are_allowed_too(app, method):
    reply = await call(app, method, payload={"query": "{ hello }"})
    assert_json_error(reply, 405, f"{method} is not supported")
    assert reply.header("allow") == "GET, POST, PUT, DELETE"


async def test_allow_is_post_only_without_get_queries_or_ide():
    reply = await call(consumer(graphql_ide=None, allow_queries_via_get=False, sse_enabled=False), "PUT")
    assert_json_error(reply, 405)
    assert reply.header("allow") == "POST"
    # With SSE, GET still opens reserved streams.
    reply = await call(consumer(graphql_ide=None, allow_queries_via_get=False), "PATCH")
    assert reply.header("allow") == "POST, GET, PUT, DELETE"


# -- GET -----------------------------------------------------------------------


async def test_get_query(app):
    reply = await call(app, "GET", content_type=None, query_string="query=%7B+hello+%7D")
    assert reply.status == 200
    assert reply.json == {"data": {"hello": "Hello, world!"}}


async def test_get_with_variables_operation_name_and_extensions(app):
    from urllib.parse import urlencode

    query_string = urlencode({
        "query": "query A { a: hello } query B($n: String) { hello(name: $n) }",
        "operationName": "B", "variables": json.dumps({"n": "Grace"}), "extensions": "{}",
    })
    reply = await call(app, "GET", content_type=None, accept="application/graphql-response+json",
                       query_string=query_string)
    assert reply.status == 200
    assert reply.header("content-type") == GQL_JSON
    assert reply.json == {"data": {"hello": "Hello, Grace!"}}


async def test_get_with_empty_optional_parameters(app):
    reply = await call(app, "GET", content_type=None, query_string="query={hello}&variables=&operationName=")
    assert reply.json == {"data": {"hello": "Hello, world!"}}


@pytest.mark.parametrize(("query_string", "fragment"), [
    ("query={hello}&variables={", "The 'variables' parameter is not valid JSON"),
    ("query={hello}&variables=[1]", "'variables' must be an object or null, not an array"),
    ("query={hello}&variables=3", "'variables' must be an object"),
    ("query={hello}&extensions=nope", "The 'extensions' parameter is not valid JSON"),
    ("query={hello}&extensions=\"x\"", "'extensions' must be an object"),
    ("", "The request has no 'query'"),
    ("variables={}", "The request has no 'query'"),
])
async def test_get_bad_parameters(app, query_string, fragment):
    reply = await call(app, "GET", content_type=None, query_string=query_string)
    assert_json_error(reply, 400, fragment)


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json", None])
async def test_mutation_over_get_is_405(app, accept):
    reply = await call(app, "GET", content_type=None, accept=accept,
                       query_string="query=mutation+%7B+echo(text:%22x%22)+%7D")
    assert_json_error(reply, 405, "Mutations cannot be sent over GET")
    assert reply.header("allow") == "POST"


async def test_get_queries_can_be_turned_off():
    app = consumer(allow_queries_via_get=False)
    reply = await call(app, "GET", content_type=None, query_string="query={hello}")
    assert_json_error(reply, 405, "ALLOW_QUERIES_VIA_GET is False")
    assert reply.header("allow") == "POST"
    assert (await call(app, payload={"query": "{ hello }"})).status == 200


async def test_get_subscription_is_a_request_error(app):
    reply = await call(app, "GET", content_type=None, accept="application/graphql-response+json",
                       query_string="query=subscription+%7B+count(to:1)+%7D")
    assert reply.status == 400
    assert "Subscriptions are served over WebSocket" in reply.message


async def test_get_with_unacceptable_accept_is_406(app):
    reply = await call(app, "GET", content_type=None, accept="image/png", query_string="query={hello}")
    assert_json_error(reply, 406)


async def test_get_from_a_browser_with_a_query_runs_it(app):
    reply = await call(app, "GET", content_type=None, accept=BROWSER_ACCEPT, query_string="query={hello}")
    assert reply.header("content-type") == JSON
    assert reply.json == {"data": {"hello": "Hello, world!"}}


# -- body size -------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
async def test_body_over_the_limit_by_content_length_is_413(app):
    body = json.dumps({"query": "{ hello }", "variables": {"x": "y" * 200}}).encode()
    reply = await call(app, body=body, headers=[("content-length", str(len(body)))])
    assert_json_error(reply, 413, "DATA_UPLOAD_MAX_MEMORY_SIZE (100 bytes)")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
@pytest.mark.parametrize("chunk_size", [10, 1000])
async def test_body_over_the_limit_without_content_length_is_413(app, chunk_size):
    body = json.dumps({"query": "{ hello }", "variables": {"x": "y" * 200}}).encode()
    reply = await call(app, chunks=[body[i:i + chunk_size] for i in range(0, len(body), chunk_size)])
    assert_json_error(reply, 413, "DATA_UPLOAD_MAX_MEMORY_SIZE")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=None)
async def test_no_limit_when_the_setting_is_none(app):
    reply = await call(app, payload={"query": "{ hello }", "variables": {"x": "y" * 3_000_000}})
    assert reply.status == 200


async def test_bad_content_length_is_400(app):
    reply = await call(app, payload={"query": "{ hello }"}, headers=[("content-length", "many")])
    assert_json_error(reply, 400, "Content-Length")


async def test_client_gone_while_reading_sends_nothing(app):
    body = json.dumps({"query": "{ hello }"}).encode()
    assert await call(app, chunks=[body[:5], body[5:]], disconnect_after=1) is None


# -- request object, default context, TemporalResponse -----------------------------

seen: dict[str, Any] = {}


def _remember(_root, info):
    seen["context"] = info.context
    return "ok"


def _set_status(_root, info, code):
    info.context["response"].status_code = code
    return code


def _set_headers(_root, info):
    headers = info.context["response"].headers
    headers["X-Custom"] = "yes"
    headers["Set-Cookie"] = ["a=1; Path=/", "b=2; Path=/"]
    return "ok"


HOOK_SCHEMA = GraphQLSchema(GraphQLObjectType("Query", {
    "remember": GraphQLField(GraphQLString, resolve=_remember),
    "status": GraphQLField(GraphQLInt, args={"code": GraphQLArgument(GraphQLNonNull(GraphQLInt))},
                           resolve=_set_status),
    "headers": GraphQLField(GraphQLString, resolve=_set_headers),
    "extra": GraphQLField(GraphQLString, resolve=lambda _root, info: info.context["extra"]),
    "root": GraphQLField(GraphQLString, resolve=lambda root, _info: root["value"]),
}))


async def test_default_context_has_request_and_response():
    seen.clear()
    reply = await call(consumer(schema=HOOK_SCHEMA), payload={"query": "{ remember }"},
                       headers=[("X-Trace", "abc"), ("Cookie", "a=1"), ("Cookie", "b=2")])
    assert reply.json == {"data": {"remember": "ok"}}
    context = seen["context"]
    assert set(context) == {"request", "response"}
    request, response = context["request"], context["response"]
    assert isinstance(request, ChannelsRequest)
    assert isinstance(response, TemporalResponse)
    assert isinstance(request.consumer, GraphQLHTTPConsumer)
    assert request.scope is request.consumer.scope
    assert request.method == "POST"
    assert request.content_type == "application/json"
    assert json.loads(request.body) == {"query": "{ remember }"}
    assert request.headers["x-trace"] == request.headers["X-TRACE"] == "abc"
    assert request.headers["cookie"] == "a=1; b=2"
    assert request.files == {}
    assert response.status_code == 200 and response.headers == {}


async def test_get_request_details():
    seen.clear()
    await call(consumer(schema=HOOK_SCHEMA), "GET", content_type=None, query_string="query={remember}&x=1")
    request = seen["context"]["request"]
    assert request.method == "GET"
    assert request.body == b""
    assert request.query_params == {"query": "{remember}", "x": "1"}


async def test_request_and_consumer_share_one_case_insensitive_headers_mapping():
    seen.clear()
    await call(consumer(schema=HOOK_SCHEMA), "GET", content_type=None, query_string="query={remember}",
               headers=[("X-Thing", "42"), ("Cookie", "a=1"), ("Cookie", "b=2")])
    request = seen["context"]["request"]
    assert request.headers is request.consumer.headers
    assert request.headers["x-thing"] == "42" and request.consumer.headers["COOKIE"] == "a=1; b=2"


async def test_example_header_resolver_reads_the_scope(app):
    reply = await call(app, payload={"query": '{ header(name: "X-Thing") }'}, headers=[("X-Thing", "42")])
    assert reply.json == {"data": {"header": "42"}}


async def test_temporal_response_status_is_applied():
    reply = await call(consumer(schema=HOOK_SCHEMA), accept="application/graphql-response+json",
                       payload={"query": "{ status(code: 418) }"})
    assert reply.status == 418
    assert reply.json == {"data": {"status": 418}}


async def test_temporal_response_headers_are_applied():
    reply = await call(consumer(schema=HOOK_SCHEMA), payload={"query": "{ headers }"})
    assert reply.status == 200
    assert reply.header("x-custom") == "yes"
    assert reply.header_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert reply.header("content-type") == JSON


def test_temporal_response_and_channels_response_types():
    response = TemporalResponse()
    assert response.status_code == 200 and not response.status_code_set
    response.status_code = 201
    assert response.status_code == 201 and response.status_code_set
    page = ChannelsResponse("<p>é</p>", status=201, headers={"X-A": "1"})
    assert page.content == "<p>é</p>".encode()
    assert page.content_type == "text/html; charset=utf-8"
    assert ChannelsResponse(b"{}", content_type="application/json").content_type == "application/json"


# -- hooks -------------------------------------------------------------------------


class HookedConsumer(GraphQLHTTPConsumer):
    """Every hook overridden; sync and async mixed on purpose."""

    calls: list[str] = []

    def get_context(self, request, response):  # sync on purpose
        self.calls.append("get_context")
        return {"request": request, "response": response, "extra": f"extra for {request.method}"}

    async def get_root_value(self, request):
        self.calls.append("get_root_value")
        return {"value": "the root"}

    async def process_result(self, request, result):
        self.calls.append("process_result")
        data = await super().process_result(request, result)
        data["extensions"] = {"processed": True}
        return data

    def decode_json(self, data):
        self.calls.append("decode_json")
        decoded = json.loads(data)
        if isinstance(decoded, dict) and decoded.get("query") == "shorthand":
            decoded["query"] = "{ extra root }"
        return decoded

    async def encode_json(self, data):  # async on purpose
        self.calls.append("encode_json")
        return json.dumps(data, indent=1)

    async def render_graphql_ide(self, request):
        self.calls.append("render_graphql_ide")
        return ChannelsResponse("<h1>my ide</h1>", status=203, headers={"X-IDE": "mine"})


@pytest.fixture
def hooked():
    HookedConsumer.calls = []
    return HookedConsumer.as_asgi(schema=HOOK_SCHEMA, graphql_ide="graphiql")


async def test_hooks_are_honoured(hooked):
    reply = await call(hooked, payload={"query": "shorthand"})
    assert reply.status == 200
    assert reply.body.startswith(b"{\n")  # encode_json's indent
    assert reply.json == {"data": {"extra": "extra for POST", "root": "the root"},
                          "extensions": {"processed": True}}
    assert HookedConsumer.calls == ["decode_json", "get_context", "get_root_value", "process_result",
                                    "encode_json"]


async def test_process_result_sees_request_errors_too(hooked):
    reply = await call(hooked, payload={"query": "{ nope }"})
    assert reply.json["extensions"] == {"processed": True}
    assert "data" not in reply.json
    assert "get_context" not in HookedConsumer.calls  # nothing executed


async def test_decode_json_is_used_for_get_parameters(hooked):
    reply = await call(hooked, "GET", content_type=None, query_string='query={extra}&variables={}')
    assert reply.json["data"] == {"extra": "extra for GET"}
    assert HookedConsumer.calls.count("decode_json") == 1


async def test_render_graphql_ide_hook(hooked):
    reply = await call(hooked, "GET", content_type=None, accept="text/html")
    assert reply.status == 203
    assert reply.body == b"<h1>my ide</h1>"
    assert reply.header("content-type") == "text/html; charset=utf-8"
    assert reply.header("x-ide") == "mine"


class RefusingConsumer(GraphQLHTTPConsumer):
    async def get_context(self, request, response):
        if "authorization" not in request.headers:
            raise HTTPError(401, "Sign in first.", {"WWW-Authenticate": "Bearer"})
        return await super().get_context(request, response)


async def test_hooks_may_refuse_with_http_error():
    app = RefusingConsumer.as_asgi(schema=example_schema)
    reply = await call(app, payload={"query": "{ hello }"})
    assert_json_error(reply, 401, "Sign in first.")
    assert reply.header("www-authenticate") == "Bearer"
    reply = await call(app, payload={"query": "{ hello }"}, headers=[("Authorization", "Bearer x")])
    assert reply.status == 200


class BrokenConsumer(GraphQLHTTPConsumer):
    async def get_root_value(self, request):
        raise RuntimeError("bug in a hook")


async def test_a_failing_hook_gets_a_json_500_and_is_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="django_gql_channels"):
        reply = await call(BrokenConsumer.as_asgi(schema=example_schema), payload={"query": "{ hello }"})
    assert_json_error(reply, 500, "Internal server error.")
    assert "bug in a hook" not in reply.body.decode()
    assert any("bug in a hook" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# -- settings ----------------------------------------------------------------------


class SettingsConsumer(GraphQLHTTPConsumer):
    async def process_result(self, request, result):
        data = await super().process_result(request, result)
        data["extensions"] = {"consumer": "settings subclass"}
        return data


async def test_http_consumer_subclass_from_settings():
    gql = {"SCHEMA": "example_project.schema.schema", "HTTP_CONSUMER": "tests.http.test_http.SettingsConsumer",
           "AUTH_MIDDLEWARE": False}
    with override_settings(GQL_CHANNELS=gql):
        reply = await call(get_application(), payload={"query": "{ hello }"})
    assert reply.json == {"data": {"hello": "Hello, world!"}, "extensions": {"consumer": "settings subclass"}}
    with override_settings(GQL_CHANNELS={**gql, "HTTP_CONSUMER": "django_gql_channels.http.GraphQLHTTPConsumer"}):
        reply = await call(get_application(), payload={"query": "{ hello }"})
    assert reply.json == {"data": {"hello": "Hello, world!"}}


async def test_unset_arguments_fall_back_to_settings():
    gql = {"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": None, "ALLOW_QUERIES_VIA_GET": False,
           "MULTIPART_UPLOADS_ENABLED": True}
    with override_settings(GQL_CHANNELS=gql):
        app = GraphQLHTTPConsumer.as_asgi()
        reply = await call(app, payload={"query": "{ hello }"})
        assert reply.json == {"data": {"hello": "Hello, world!"}}
        assert (await call(app, "GET", content_type=None, accept="text/html")).status == 404
        assert (await call(app, "GET", content_type=None, query_string="query={hello}")).status == 405
        reply = await call(app, content_type="multipart/form-data; boundary=x", body=b"")
        assert_json_error(reply, 400, "GraphQL-Require-Preflight")  # multipart is on: the guard answers


async def test_explicit_arguments_beat_settings():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "GRAPHQL_IDE": None}):
        app = GraphQLHTTPConsumer.as_asgi(graphql_ide="pathfinder", allow_queries_via_get=True)
        reply = await call(app, "GET", content_type=None, accept="text/html")
        assert reply.status == 200 and b"pathfinder" in reply.body


@override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema", "DEBUG": True, "MASK_ERRORS": False})
async def test_debug_adds_tracebacks_to_resolver_errors():
    reply = await call(GraphQLHTTPConsumer.as_asgi(), payload={"query": "{ fail }"})
    exception = reply.json["errors"][0]["extensions"]["exception"]
    assert exception["type"] == "ValueError"
    assert any("This field always fails." in line for line in exception["stacktrace"])


# -- no channel-layer work per request ---------------------------------------------------


async def test_no_layer_channel_or_receive_task_per_request(app):
    import asyncio

    layer = get_channel_layer()
    tasks_before = len(asyncio.all_tasks())
    with mock.patch.object(type(layer), "new_channel", side_effect=AssertionError("new_channel called")) as new, \
         mock.patch.object(type(layer), "receive", side_effect=AssertionError("receive called")) as receive:
        for payload in ({"query": "{ hello }"}, {"query": "{ nope }"}, {"query": 'mutation { echo(text: "x") }'}):
            assert (await call(app, payload=payload)).status == 200
        assert (await call(app, "GET", content_type=None, query_string="query={hello}")).status == 200
        assert (await call(app, body=b"{")).status == 400
    assert not new.called and not receive.called
    assert len(asyncio.all_tasks()) == tasks_before
    assert not layer.channels


async def test_resolvers_can_still_use_the_layer(app):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("chat_lobby", channel)
    try:
        reply = await call(app, payload={
            "query": 'mutation { sendChatMessage(room: {roomName: "lobby"}, message: "hi") }'})
        assert reply.json == {"data": {"sendChatMessage": True}}
        message = await layer.receive(channel)
        assert message == {"type": "chat.message", "room_id": "chat_lobby", "message": "hi"}
    finally:
        await layer.group_discard("chat_lobby", channel)
        layer.channels.pop(channel, None)


async def test_listeners_opened_by_a_resolver_are_closed_with_the_request():
    async def listen(_root, info):
        consumer = info.context["request"].consumer
        await consumer.ensure_channel_name()
        consumer.channel_name  # starts a receive task on it
        return "listening"

    schema = GraphQLSchema(GraphQLObjectType("Query", {"listen": GraphQLField(GraphQLString, resolve=listen)}))
    layer = get_channel_layer()
    reply = await call(consumer(schema=schema), payload={"query": "{ listen }"})
    assert reply.json == {"data": {"listen": "listening"}}
    assert not layer.channels  # the consumer's channel is gone with its request
