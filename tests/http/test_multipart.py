"""GraphQL multipart request spec: uploads, the CSRF guard, Django's limits, malformed bodies."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.test import override_settings
from graphql import GraphQLArgument, GraphQLField, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString

from django_gql_channels import GraphQLHTTPConsumer, Upload
from example_project.schema import schema as example_schema
from tests.http.test_http import Reply, assert_json_error, call

BOUNDARY = "----gqlchannels7MA4YWxkTrZu0gW"
PREFLIGHT = [("GraphQL-Require-Preflight", "1")]

UPLOAD_ONE = "mutation ($file: Upload!) { uploadFile(file: $file) { name size contentType text } }"
UPLOAD_MANY = "mutation ($files: [Upload!]!) { uploadFiles(files: $files) { name size text } }"


def encode_multipart(fields: list[tuple[str, Any]], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body: (name, str) for fields, (name, (filename, bytes, type)) for files."""
    lines: list[bytes] = []
    for name, value in fields:
        lines.append(f"--{boundary}".encode())
        if isinstance(value, tuple):
            filename, content, content_type = value
            lines.append(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'.encode())
            lines.append(f"Content-Type: {content_type}".encode())
            lines += [b"", content]
        else:
            lines.append(f'Content-Disposition: form-data; name="{name}"'.encode())
            lines += [b"", value.encode() if isinstance(value, str) else value]
    lines += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(lines)


def spec_body(operations: Any, file_map: Any, files: dict[str, tuple[str, bytes, str]]) -> bytes:
    fields: list[tuple[str, Any]] = [
        ("operations", operations if isinstance(operations, str) else json.dumps(operations)),
        ("map", file_map if isinstance(file_map, str) else json.dumps(file_map)),
    ]
    fields += list(files.items())
    return encode_multipart(fields)


async def post_multipart(app: Any, body: bytes, *, headers=PREFLIGHT, boundary: str = BOUNDARY,
                         **kwargs: Any) -> Reply:
    chunk = kwargs.pop("chunk", None)
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)] if chunk else None
    return await call(app, body=body, chunks=chunks, headers=headers,
                      content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


@pytest.fixture
def app() -> Any:
    return GraphQLHTTPConsumer.as_asgi(schema=example_schema, multipart_uploads_enabled=True)


# -- uploads ---------------------------------------------------------------------


async def test_single_file(app):
    body = spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": ["variables.file"]},
                     {"0": ("hello.txt", b"Hello, file!", "text/plain")})
    reply = await post_multipart(app, body)
    assert reply.status == 200, reply.body
    assert reply.json == {"data": {"uploadFile": {
        "name": "hello.txt", "size": 12, "contentType": "text/plain", "text": "Hello, file!"}}}


async def test_multiple_files_in_a_list(app):
    body = spec_body({"query": UPLOAD_MANY, "variables": {"files": [None, None]}},
                     {"a": ["variables.files.0"], "b": ["variables.files.1"]},
                     {"a": ("a.txt", b"first", "text/plain"), "b": ("b.bin", b"\x00\xff", "application/octet-stream")})
    reply = await post_multipart(app, body, headers=[("Apollo-Require-Preflight", "true")])
    assert reply.json == {"data": {"uploadFiles": [
        {"name": "a.txt", "size": 5, "text": "first"}, {"name": "b.bin", "size": 2, "text": None}]}}


async def test_one_file_at_two_paths(app):
    body = spec_body({"query": UPLOAD_MANY, "variables": {"files": [None, None]}},
                     {"0": ["variables.files.0", "variables.files.1"]},
                     {"0": ("same.txt", b"twice", "text/plain")})
    reply = await post_multipart(app, body)
    assert [f["text"] for f in reply.json["data"]["uploadFiles"]] == ["twice", "twice"]


async def test_operation_name_and_graphql_response_json(app):
    body = spec_body({"query": f"query Other {{ hello }} {UPLOAD_ONE.replace('mutation', 'mutation Up')}",
                      "operationName": "Up", "variables": {"file": None}},
                     {"0": ["variables.file"]}, {"0": ("x.txt", b"x", "text/plain")})
    reply = await post_multipart(app, body, accept="application/graphql-response+json")
    assert reply.header("content-type") == "application/graphql-response+json; charset=utf-8"
    assert reply.json["data"]["uploadFile"]["text"] == "x"


async def test_body_in_many_chunks(app):
    content = os.urandom(50_000)
    body = spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": ["variables.file"]},
                     {"0": ("blob.bin", content, "application/octet-stream")})
    reply = await post_multipart(app, body, chunk=4096)
    assert reply.json["data"]["uploadFile"]["size"] == 50_000


seen_files: list[Any] = []


def _keep(_root, _info, file):
    seen_files.append(file)
    return type(file).__name__


KEEP_SCHEMA = GraphQLSchema(
    GraphQLObjectType("Query", {"ok": GraphQLField(GraphQLString, resolve=lambda *_: "ok")}),
    GraphQLObjectType("Mutation", {"keep": GraphQLField(
        GraphQLString, args={"file": GraphQLArgument(GraphQLNonNull(Upload))}, resolve=_keep)}),
)


@override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=1000)
async def test_big_files_go_to_temporary_files_and_are_removed_afterwards():
    seen_files.clear()
    app = GraphQLHTTPConsumer.as_asgi(schema=KEEP_SCHEMA, multipart_uploads_enabled=True)
    body = spec_body({"query": "mutation ($f: Upload!) { keep(file: $f) }", "variables": {"f": None}},
                     {"0": ["variables.f"]}, {"0": ("big.bin", b"x" * 5000, "application/octet-stream")})
    reply = await post_multipart(app, body, chunk=1500)
    assert reply.json == {"data": {"keep": "TemporaryUploadedFile"}}
    (upload,) = seen_files
    assert isinstance(upload, TemporaryUploadedFile)
    assert upload.closed
    assert not os.path.exists(upload.temporary_file_path())


async def test_small_files_stay_in_memory_and_are_closed_afterwards():
    seen_files.clear()
    app = GraphQLHTTPConsumer.as_asgi(schema=KEEP_SCHEMA, multipart_uploads_enabled=True)
    body = spec_body({"query": "mutation ($f: Upload!) { keep(file: $f) }", "variables": {"f": None}},
                     {"0": ["variables.f"]}, {"0": ("small.txt", b"tiny", "text/plain")})
    reply = await post_multipart(app, body)
    assert reply.json == {"data": {"keep": "InMemoryUploadedFile"}}
    assert isinstance(seen_files[0], InMemoryUploadedFile)
    assert seen_files[0].closed


async def test_files_reach_the_request_object():
    seen: dict[str, Any] = {}

    def look(_root, info, file):
        request = info.context["request"]
        seen.update(body=request.body, files=list(request.files), content_type=request.content_type)
        return "ok"

    schema = GraphQLSchema(KEEP_SCHEMA.query_type, GraphQLObjectType("Mutation", {"keep": GraphQLField(
        GraphQLString, args={"file": GraphQLArgument(GraphQLNonNull(Upload))}, resolve=look)}))
    app = GraphQLHTTPConsumer.as_asgi(schema=schema, multipart_uploads_enabled=True)
    body = spec_body({"query": "mutation ($f: Upload!) { keep(file: $f) }", "variables": {"f": None}},
                     {"0": ["variables.f"]}, {"0": ("a.txt", b"a", "text/plain")})
    await post_multipart(app, body)
    assert seen == {"body": b"", "files": ["0"], "content_type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_upload_variables_refuse_plain_json(app):
    reply = await call(app, payload={"query": UPLOAD_ONE, "variables": {"file": "not a file"}})
    assert reply.status == 200
    assert "Upload values must be sent as files" in reply.json["errors"][0]["message"]


async def test_upload_literals_are_refused(app):
    reply = await call(app, payload={"query": 'mutation { uploadFile(file: "x") { name } }'},
                       accept="application/graphql-response+json")
    assert reply.status == 400


# -- refusals --------------------------------------------------------------------


def good_body() -> bytes:
    return spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": ["variables.file"]},
                     {"0": ("a.txt", b"a", "text/plain")})


@pytest.mark.parametrize("headers", [[], [("GraphQL-Require-Preflight", "")],
                                     [("Apollo-Require-Preflight", "  ")], [("X-Requested-With", "x")]])
async def test_csrf_guard_needs_a_preflight_header(app, headers):
    reply = await post_multipart(app, good_body(), headers=headers)
    assert_json_error(reply, 400, "GraphQL-Require-Preflight", "Apollo-Require-Preflight", "cross-site")


async def test_multipart_is_refused_when_disabled():
    app = GraphQLHTTPConsumer.as_asgi(schema=example_schema, multipart_uploads_enabled=False)
    reply = await post_multipart(app, good_body())
    assert_json_error(reply, 415, "MULTIPART_UPLOADS_ENABLED is False")


MALFORMED = {
    "operations not json": (spec_body("{nope", {"0": ["variables.file"]}, {"0": ("a", b"a", "text/plain")}),
                            "The multipart 'operations' field is not valid JSON"),
    "map not json": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, "[oops",
                               {"0": ("a", b"a", "text/plain")}), "The multipart 'map' field is not valid JSON"),
    "empty operations": (encode_multipart([("operations", ""), ("map", "{}")]),
                         "The multipart 'operations' field is empty"),
    "no operations": (encode_multipart([("map", "{}"), ("0", ("a", b"a", "text/plain"))]),
                      "has no 'operations' field"),
    "no map": (encode_multipart([("operations", json.dumps({"query": UPLOAD_ONE}))]), "has no 'map' field"),
    "operations a list": (spec_body([{"query": UPLOAD_ONE}], {}, {}), "Batched requests"),
    "operations a number": (spec_body(3, {}, {}), "'operations' field must be a JSON object, not a number"),
    "map a list": (spec_body({"query": UPLOAD_ONE}, [["variables.file"]], {}),
                   "'map' field must be a JSON object"),
    "map entry not a list": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}},
                                       {"0": "variables.file"}, {"0": ("a", b"a", "text/plain")}),
                             "must be a non-empty list of path strings"),
    "map entry empty": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": []},
                                  {"0": ("a", b"a", "text/plain")}), "non-empty list"),
    "map entry numbers": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": [1]},
                                    {"0": ("a", b"a", "text/plain")}), "non-empty list of path strings"),
    "map names a missing file": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}},
                                           {"1": ["variables.file"]}, {"0": ("a", b"a", "text/plain")}),
                                 "names the file field '1', but the request has no such file"),
    "map names a plain field": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}},
                                          {"operations": ["variables.file"]}, {}), "no such file"),
    "path to a missing variable": (spec_body({"query": UPLOAD_ONE, "variables": {}}, {"0": ["variables.file"]},
                                             {"0": ("a", b"a", "text/plain")}),
                                   "path 'variables.file' does not exist in 'operations'"),
    "path past a list": (spec_body({"query": UPLOAD_MANY, "variables": {"files": [None]}},
                                   {"0": ["variables.files.3"]}, {"0": ("a", b"a", "text/plain")}),
                         "does not exist"),
    "path with a bad index": (spec_body({"query": UPLOAD_MANY, "variables": {"files": [None]}},
                                        {"0": ["variables.files.x"]}, {"0": ("a", b"a", "text/plain")}),
                              "does not exist"),
    "path through a scalar": (spec_body({"query": UPLOAD_ONE, "variables": {"file": "s"}},
                                        {"0": ["variables.file.x"]}, {"0": ("a", b"a", "text/plain")}),
                              "does not exist"),
    "path outside variables": (spec_body({"query": UPLOAD_ONE, "variables": {"file": None}}, {"0": ["query"]},
                                         {"0": ("a", b"a", "text/plain")}), "must point into 'variables'"),
    "path is just variables": (spec_body({"query": UPLOAD_ONE, "variables": {}}, {"0": ["variables"]},
                                         {"0": ("a", b"a", "text/plain")}), "must point into 'variables'"),
    "no variables object": (spec_body({"query": UPLOAD_ONE}, {"0": ["variables.file"]},
                                      {"0": ("a", b"a", "text/plain")}), "does not exist"),
    "query not a string": (spec_body({"query": 3, "variables": {"file": None}}, {"0": ["variables.file"]},
                                     {"0": ("a", b"a", "text/plain")}), "'query' must be a string"),
    "garbage": (b"\x00\x01 definitely not multipart", "has no 'operations' field"),
    "empty body": (b"", "has no 'operations' field"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_malformed_multipart_is_400(app, case):
    body, fragment = MALFORMED[case]
    reply = await post_multipart(app, body)
    assert_json_error(reply, 400, fragment)


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=",
                                          "multipart/form-data; boundary=\"bad\x01\""])
async def test_bad_boundary_is_400(app, content_type):
    reply = await call(app, body=good_body(), headers=PREFLIGHT, content_type=content_type)
    assert_json_error(reply, 400, "The multipart body is malformed")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=1)
async def test_too_many_files_is_refused(app):
    body = spec_body({"query": UPLOAD_MANY, "variables": {"files": [None, None]}},
                     {"a": ["variables.files.0"], "b": ["variables.files.1"]},
                     {"a": ("a", b"a", "text/plain"), "b": ("b", b"b", "text/plain")})
    reply = await post_multipart(app, body)
    assert_json_error(reply, 400, "DATA_UPLOAD_MAX_NUMBER_FILES (1)")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=1)
async def test_too_many_fields_is_refused(app):
    reply = await post_multipart(app, good_body())
    assert_json_error(reply, 400, "DATA_UPLOAD_MAX_NUMBER_FIELDS (1)")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=200)
async def test_oversized_fields_are_413_but_files_are_not_counted(app):
    big_operations = {"query": UPLOAD_ONE, "variables": {"file": None, "pad": "x" * 300}}
    reply = await post_multipart(app, spec_body(big_operations, {"0": ["variables.file"]},
                                                {"0": ("a", b"a", "text/plain")}))
    assert_json_error(reply, 413, "DATA_UPLOAD_MAX_MEMORY_SIZE (200 bytes)")
    # A file far bigger than the limit is fine: Django counts only the fields.
    small_operations = {"query": "mutation ($f: Upload!) { uploadFile(file: $f) { size } }",
                        "variables": {"f": None}}
    reply = await post_multipart(app, spec_body(small_operations, {"0": ["variables.f"]},
                                                {"0": ("a", b"a" * 10_000, "text/plain")}))
    assert reply.json == {"data": {"uploadFile": {"size": 10_000}}}


async def test_client_gone_mid_upload_sends_nothing(app):
    body = good_body()
    assert await post_multipart(app, body, chunk=20, disconnect_after=2) is None
