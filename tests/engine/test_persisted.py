"""Persisted documents and APQ: the manifest, resolve_operation, and each request form on HTTP and WebSockets.

The manifest is ``tests/persisted/manifest.json``, written by
``gql_check --documents tests/persisted/documents --manifest`` (a test below
checks it is up to date).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from unittest import mock

import pytest
from django.core import checks
from django.test import override_settings

from django_gql_channels.conf import gql_settings
from django_gql_channels.engine import (
    Engine,
    LocalAPQStore,
    ManifestError,
    PersistedDocuments,
    get_engine,
    load_manifest,
    resolve_operation,
    sha256_id,
)
from django_gql_channels.exceptions import GraphQLRequestError
from django_gql_channels.routing import get_application
from example_project.schema import schema as example_schema
from tests.http.test_http import GQL_JSON, JSON, call, consumer
from tests.ws_support import make_app

HERE = Path(__file__).resolve().parent.parent  # tests/
MANIFEST = HERE / "persisted" / "manifest.json"
DOCUMENTS = HERE / "persisted" / "documents"
BASE = {"SCHEMA": "example_project.schema.schema", "CONNECTION_INIT_WAIT_TIMEOUT": 5}

HELLO = "query Hello {\n  hello\n}\n"
HELLO_ID = sha256_id(HELLO)
ECHO = "mutation Echo($text: String!) {\n  echo(text: $text)\n}\n"
ECHO_ID = sha256_id(ECHO)
COUNT = "subscription Count($to: Int!) {\n  count(to: $to)\n}\n"
COUNT_ID = sha256_id(COUNT)
UNKNOWN_ID = "sha256:" + "0" * 64


def hex_of(document_id: str) -> str:
    return document_id.split(":", 1)[1]


def persisted_query(text: str, sha: str | None = None) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha or hashlib.sha256(text.encode()).hexdigest()}}


def gql(**settings) -> override_settings:
    return override_settings(GQL_CHANNELS={**BASE, **settings})


@pytest.fixture
def manifest_settings():
    with gql(PERSISTED_DOCUMENTS=str(MANIFEST)):
        yield


# -- the manifest ------------------------------------------------------------------------


def test_committed_manifest_is_what_gql_check_writes(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "manifest.json"
    with gql():
        call_command("gql_check", "--documents", str(DOCUMENTS), "--manifest", str(out))
    assert json.loads(out.read_text()) == json.loads(MANIFEST.read_text())
    assert load_manifest(MANIFEST)[HELLO_ID] == HELLO


def test_flat_and_apollo_manifests_load_alike(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({HELLO_ID: HELLO, "custom-id": ECHO}))
    apollo = tmp_path / "apollo.json"
    apollo.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": hex_of(HELLO_ID), "name": "Hello", "type": "query", "body": HELLO},
        {"id": "custom-id", "name": "Echo", "type": "mutation", "body": ECHO},
    ]}))
    assert load_manifest(flat) == {HELLO_ID: HELLO, "custom-id": ECHO}
    assert load_manifest(apollo) == {hex_of(HELLO_ID): HELLO, "custom-id": ECHO}


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "is not valid JSON"),
    ("[]", "must be a JSON object, not list"),
    ('{"abc": 1}', "the document of 'abc' must be a string"),
    ('{"": "{ hello }"}', "empty id"),
    ('{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}', "version 2 is not supported"),
    ('{"format": "other", "version": 1, "operations": []}', "only 'apollo-persisted-query-manifest' is known"),
    ('{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "a"}]}',
     "operations[0] needs string 'id' and 'body'"),
])
def test_unusable_manifests_say_why(tmp_path, content, fragment):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ManifestError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_manifest(path)


def test_missing_manifest_file():
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest("/nonexistent/manifest.json")


def test_documents_are_validated_once_and_problems_name_the_id():
    engine = Engine(example_schema)
    bad_id = sha256_id("{ nope }")
    documents = PersistedDocuments(engine, {HELLO_ID: HELLO, bad_id: "{ nope }", "sha256:" + "a" * 64: HELLO})
    problems = {(p.document_id, p.level) for p in documents.problems}
    assert problems == {(bad_id, "error"), ("sha256:" + "a" * 64, "warning")}
    assert "Cannot query field 'nope'" in str(documents.errors[0]) and bad_id in str(documents.errors[0])
    # sha256:<hex> and bare hex name the same document.
    assert documents.by_id[HELLO_ID] is documents.by_id[hex_of(HELLO_ID)]


async def test_an_operation_by_id_pays_no_parse_or_validation():
    engine = Engine(example_schema, persisted_documents={HELLO_ID: HELLO})
    with mock.patch("django_gql_channels.engine.documents.validate") as validate, \
            mock.patch("django_gql_channels.engine.documents.parse") as parse:
        for _ in range(3):
            operation = await resolve_operation(engine, None, document_id=HELLO_ID)
            assert operation.name == "Hello"
            operation = await resolve_operation(engine, None, extensions=persisted_query(HELLO))
    assert not validate.called and not parse.called
    assert len(engine.document_cache) == 0  # never touched the LRU either


async def test_text_only_requests_take_the_plain_path():
    engine = Engine(example_schema)
    operation = await resolve_operation(engine, "{ hello }")
    assert operation is engine.prepare("{ hello }")


# -- resolve_operation: refusals -----------------------------------------------------------


async def refusal(engine, query=None, **kwargs) -> GraphQLRequestError:
    with pytest.raises(GraphQLRequestError) as info:
        await resolve_operation(engine, query, **kwargs)
    return info.value


async def test_unknown_and_malformed_ids_are_refused_with_codes():
    engine = Engine(example_schema, persisted_documents={HELLO_ID: HELLO})
    error = await refusal(engine, document_id=UNKNOWN_ID)
    assert error.kind == "persisted_document_not_found"
    assert error.errors[0].extensions == {"code": "PERSISTED_DOCUMENT_NOT_FOUND"}
    assert UNKNOWN_ID in error.errors[0].message
    assert (await refusal(engine, "{ hello }", document_id=HELLO_ID)).errors[0].message == \
        "Send either 'query' or 'documentId', not both."
    assert "must be a string" in (await refusal(engine, document_id=5)).errors[0].message
    bad_version = {"persistedQuery": {"version": 2, "sha256Hash": hex_of(HELLO_ID)}}
    assert "2 is not supported" in (await refusal(engine, extensions=bad_version)).errors[0].message
    bad_hash = {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}}
    assert "64 hex digits" in (await refusal(engine, extensions=bad_hash)).errors[0].message
    long_id = "x" * 5000
    assert len((await refusal(engine, document_id=long_id)).errors[0].message) < 200


async def test_without_manifest_or_apq_ids_are_not_supported():
    engine = Engine(example_schema)
    error = await refusal(engine, extensions=persisted_query(HELLO))
    assert error.kind == "persisted_query_not_supported"
    assert error.errors[0].formatted == {"message": "PersistedQueryNotSupported",
                                         "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}}
    assert (await refusal(engine, document_id=HELLO_ID)).kind == "persisted_document_not_found"
    # With the text too, the hash is checked and the text runs (nothing is stored).
    operation = await resolve_operation(engine, HELLO, extensions=persisted_query(HELLO))
    assert operation.name == "Hello"


async def test_apq_registers_only_valid_text_whose_hash_matches():
    store = LocalAPQStore(10)
    engine = Engine(example_schema, apq_store=store)
    extensions = persisted_query(HELLO)
    error = await refusal(engine, extensions=extensions)
    assert error.kind == "persisted_query_not_found"
    assert error.errors[0].formatted == {"message": "PersistedQueryNotFound",
                                         "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    mismatch = await refusal(engine, "{ hello(name: \"evil\") }", extensions=extensions)
    assert mismatch.errors[0].extensions == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}
    assert len(store) == 0
    invalid = "{ nope }"
    assert (await refusal(engine, invalid, extensions=persisted_query(invalid))).kind == "validation"
    assert len(store) == 0
    assert (await resolve_operation(engine, HELLO, extensions=extensions)).name == "Hello"
    assert (await resolve_operation(engine, None, extensions=extensions)).name == "Hello"
    # Upper-case hex names the same document.
    upper = {"persistedQuery": {"version": 1, "sha256Hash": hex_of(HELLO_ID).upper()}}
    assert (await resolve_operation(engine, None, extensions=upper)).name == "Hello"


async def test_local_apq_store_is_bounded():
    store = LocalAPQStore(2)
    for index in range(5):
        await store.set(str(index), "{ hello }")
    assert len(store) == 2 and await store.get("0") is None and await store.get("4") == "{ hello }"


async def test_only_persisted_refuses_free_text_and_never_uses_apq():
    store = LocalAPQStore(10)
    await store.set(hashlib.sha256(b"{ me }").hexdigest(), "{ me }")  # e.g. shared with another deployment
    engine = Engine(example_schema, persisted_documents={HELLO_ID: HELLO}, only_persisted_documents=True,
                    apq_store=store)
    error = await refusal(engine, "{ hello }")
    assert error.kind == "persisted_document_required"
    assert error.errors[0].extensions == {"code": "PERSISTED_DOCUMENT_REQUIRED"}
    assert (await refusal(engine, extensions=persisted_query("{ me }"))).kind == "persisted_query_not_found"
    assert (await refusal(engine, "{ me }", extensions=persisted_query("{ me }"))).kind == \
        "persisted_document_required"
    # The manifest's documents run by id, by hash, and as identical text.
    assert (await resolve_operation(engine, None, document_id=HELLO_ID)).name == "Hello"
    assert (await resolve_operation(engine, None, extensions=persisted_query(HELLO))).name == "Hello"
    assert (await resolve_operation(engine, HELLO)).name == "Hello"


# -- HTTP -------------------------------------------------------------------------------------


def http_app():
    return consumer(graphql_ide="graphiql", allow_queries_via_get=True)


@pytest.mark.usefixtures("manifest_settings")
class TestHTTP:
    async def test_post_by_document_id(self):
        reply = await call(http_app(), payload={"documentId": HELLO_ID})
        assert (reply.status, reply.json) == (200, {"data": {"hello": "Hello, world!"}})
        reply = await call(http_app(), payload={"documentId": ECHO_ID, "variables": {"text": "hi"},
                                                "operationName": "Echo"}, accept=GQL_JSON)
        assert (reply.status, reply.json) == (200, {"data": {"echo": "hi"}})

    async def test_get_by_document_id_and_bare_hex(self):
        for document_id in (HELLO_ID, hex_of(HELLO_ID)):
            reply = await call(http_app(), "GET", query_string=f"documentId={document_id}", content_type=None)
            assert (reply.status, reply.json) == (200, {"data": {"hello": "Hello, world!"}})

    async def test_get_mutation_by_id_is_405(self):
        reply = await call(http_app(), "GET", query_string=f"documentId={ECHO_ID}&variables=%7B%22text%22%3A%22x%22%7D",
                           content_type=None)
        assert reply.status == 405 and reply.header("allow") == "POST"

    @pytest.mark.parametrize("accept", [JSON, GQL_JSON])
    async def test_unknown_id_is_400_with_json_errors(self, accept):
        reply = await call(http_app(), payload={"documentId": UNKNOWN_ID}, accept=accept)
        assert reply.status == 400
        assert reply.json == {"errors": [{"message": f"No persisted document has the id '{UNKNOWN_ID}'.",
                                          "extensions": {"code": "PERSISTED_DOCUMENT_NOT_FOUND"}}]}
        reply = await call(http_app(), "GET", query_string=f"documentId={UNKNOWN_ID}", content_type=None,
                           accept=accept)
        assert reply.status == 400

    @pytest.mark.parametrize(("payload", "fragment"), [
        ({"documentId": 5}, "'documentId' must be a string, not a number."),
        ({"documentId": HELLO_ID, "query": "{ hello }"}, "not both"),
        ({"extensions": {"persistedQuery": "x"}}, "'extensions.persistedQuery' must be an object"),
        ({"variables": {}}, "The request has no 'query'"),
    ])
    async def test_malformed_persisted_requests_are_400(self, payload, fragment):
        reply = await call(http_app(), payload=payload)
        assert reply.status == 400 and fragment in reply.message

    async def test_apollo_hash_of_a_manifest_document_runs_over_get(self):
        extensions = json.dumps(persisted_query(HELLO))
        reply = await call(http_app(), "GET", content_type=None,
                           query_string=f"operationName=Hello&variables=%7B%7D&extensions={extensions}",
                           accept="application/graphql-response+json,application/json;q=0.9")
        assert (reply.status, reply.json) == (200, {"data": {"hello": "Hello, world!"}})

    async def test_ide_page_is_still_served_without_parameters(self):
        reply = await call(http_app(), "GET", content_type=None, accept="text/html")
        assert reply.status == 200 and b"data-only-persisted-documents" not in reply.body


class TestHTTPAutomaticPersistedQueries:
    """The requests Apollo's persisted-queries link sends (useGETForHashedQueries), one by one."""

    async def test_miss_register_hit(self):
        with gql(AUTOMATIC_PERSISTED_QUERIES=True):
            text = 'query Greet { hello(name: "apq") }'
            extensions = json.dumps(persisted_query(text), separators=(",", ":"))
            get = f"operationName=Greet&variables=%7B%7D&extensions={extensions}"
            accept = "application/graphql-response+json,application/json;q=0.9"
            miss = await call(http_app(), "GET", query_string=get, content_type=None, accept=accept)
            assert miss.status == 200
            assert miss.json == {"errors": [{"message": "PersistedQueryNotFound",
                                             "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
            assert miss.header("cache-control") == "private, no-cache, must-revalidate"
            register = await call(http_app(), payload={"operationName": "Greet", "variables": {}, "query": text,
                                                       "extensions": json.loads(extensions)}, accept=accept)
            assert (register.status, register.json) == (200, {"data": {"hello": "Hello, apq!"}})
            hit = await call(http_app(), "GET", query_string=get, content_type=None, accept=accept)
            assert (hit.status, hit.json) == (200, {"data": {"hello": "Hello, apq!"}})
            assert hit.header("cache-control") is None

    @pytest.mark.parametrize("accept", [JSON, GQL_JSON])
    async def test_hash_mismatch_is_400_and_registers_nothing(self, accept):
        with gql(AUTOMATIC_PERSISTED_QUERIES=True):
            claimed = persisted_query("{ hello }")
            reply = await call(http_app(), payload={"query": "{ me }", "extensions": claimed}, accept=accept)
            assert reply.status == 400
            assert reply.json["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}
            assert "data" not in reply.json
            reply = await call(http_app(), payload={"extensions": claimed})
            assert reply.json["errors"][0]["message"] == "PersistedQueryNotFound"

    async def test_off_by_default_answers_not_supported(self):
        with gql():
            reply = await call(http_app(), payload={"extensions": persisted_query("{ hello }")})
            assert reply.status == 200
            assert reply.json["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"

    async def test_django_cache_store_is_shared_beyond_one_engine(self):
        caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                  "apq": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "apq-tests"}}
        text = '{ hello(name: "shared") }'
        with override_settings(CACHES=caches), gql(AUTOMATIC_PERSISTED_QUERIES=True, APQ_CACHE="apq"):
            reply = await call(http_app(), payload={"query": text, "extensions": persisted_query(text)})
            assert reply.json == {"data": {"hello": "Hello, shared!"}}
            gql_settings.reload()  # a new engine, as another process would have
            reply = await call(http_app(), payload={"extensions": persisted_query(text)})
            assert reply.json == {"data": {"hello": "Hello, shared!"}}
            from django.core.cache import caches as django_caches

            assert django_caches["apq"].get("gql_channels.apq:" + hashlib.sha256(text.encode()).hexdigest()) == text


class TestHTTPOnlyPersisted:
    @pytest.fixture(autouse=True)
    def only(self):
        with gql(PERSISTED_DOCUMENTS=str(MANIFEST), ONLY_PERSISTED_DOCUMENTS=True):
            yield

    @pytest.mark.parametrize("accept", [JSON, GQL_JSON])
    async def test_free_text_is_400_over_post_and_get(self, accept):
        reply = await call(http_app(), payload={"query": "{ hello }"}, accept=accept)
        assert reply.status == 400
        assert reply.json == {"errors": [{
            "message": "This server only runs persisted documents: send the document's 'documentId' instead "
                       "of its text.", "extensions": {"code": "PERSISTED_DOCUMENT_REQUIRED"}}]}
        introspection = "query=%7B%20__schema%20%7B%20types%20%7B%20name%20%7D%20%7D%20%7D"
        reply = await call(http_app(), "GET", query_string=introspection, content_type=None, accept=accept)
        assert reply.status == 400 and reply.json["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_REQUIRED"

    async def test_manifest_documents_still_run(self):
        reply = await call(http_app(), payload={"documentId": HELLO_ID})
        assert reply.json == {"data": {"hello": "Hello, world!"}}
        reply = await call(http_app(), payload={"query": HELLO})  # the very text of a manifest document
        assert reply.json == {"data": {"hello": "Hello, world!"}}

    async def test_the_ide_page_says_so(self):
        reply = await call(http_app(), "GET", content_type=None, accept="text/html")
        assert reply.status == 200
        assert b"data-only-persisted-documents" in reply.body and b"only runs persisted documents" in reply.body


# -- WebSockets -----------------------------------------------------------------------------


PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]


def ws_client(protocol):
    from django_gql_channels.testing import GraphQLWebsocketCommunicator

    return GraphQLWebsocketCommunicator(make_app(schema=example_schema), "/graphql", protocol=protocol)


def start(protocol: str, op_id: str, payload: dict) -> dict:
    return {"id": op_id, "type": "subscribe" if protocol == "graphql-transport-ws" else "start", "payload": payload}


def is_error(protocol: str, message: dict, op_id: str) -> list[dict]:
    """The operation's errors, whichever protocol carried them."""
    assert message["type"] == "error" and message["id"] == op_id, message
    return message["payload"] if protocol == "graphql-transport-ws" else message["payload"]["errors"]


def next_type(protocol: str) -> str:
    return "next" if protocol == "graphql-transport-ws" else "data"


@pytest.mark.usefixtures("clean_layer", "manifest_settings")
@pytest.mark.parametrize("protocol", PROTOCOLS)
class TestWebSockets:
    async def test_query_and_subscription_by_document_id_and_hash(self, protocol):
        async with ws_client(protocol) as client:
            await client.send_json_to(start(protocol, "a", {"documentId": HELLO_ID}))
            assert await client.receive_json() == {"id": "a", "type": next_type(protocol),
                                                   "payload": {"data": {"hello": "Hello, world!"}}}
            assert (await client.receive_json())["type"] == "complete"
            await client.send_json_to(start(protocol, "b", {"extensions": persisted_query(COUNT),
                                                            "variables": {"to": 2}}))
            for i in (1, 2):
                assert await client.receive_json() == {"id": "b", "type": next_type(protocol),
                                                       "payload": {"data": {"count": i}}}
            assert (await client.receive_json())["type"] == "complete"

    async def test_unknown_id_is_an_operation_error_and_the_socket_stays_open(self, protocol):
        async with ws_client(protocol) as client:
            await client.send_json_to(start(protocol, "u", {"documentId": UNKNOWN_ID}))
            errors = is_error(protocol, await client.receive_json(), "u")
            assert errors[0]["extensions"] == {"code": "PERSISTED_DOCUMENT_NOT_FOUND"}
            assert await client.execute("{ hello }") == {"data": {"hello": "Hello, world!"}}

    async def test_a_payload_without_query_or_id_is_still_refused(self, protocol):
        async with ws_client(protocol) as client:
            await client.send_json_to(start(protocol, "n", {"variables": {}}))
            if protocol == "graphql-transport-ws":
                from django_gql_channels.testing import WebSocketClosed

                with pytest.raises(WebSocketClosed) as info:
                    await client.receive_json()
                assert info.value.code == 4400
            else:
                errors = is_error(protocol, await client.receive_json(), "n")
                assert "expects 'query' to be a string" in errors[0]["message"]


@pytest.mark.usefixtures("clean_layer")
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_only_persisted_refuses_free_text(protocol):
    with gql(PERSISTED_DOCUMENTS=str(MANIFEST), ONLY_PERSISTED_DOCUMENTS=True):
        async with ws_client(protocol) as client:
            await client.send_json_to(start(protocol, "f", {"query": "subscription { count(to: 1) }"}))
            errors = is_error(protocol, await client.receive_json(), "f")
            assert errors[0]["extensions"] == {"code": "PERSISTED_DOCUMENT_REQUIRED"}
            await client.send_json_to(start(protocol, "p", {"documentId": COUNT_ID, "variables": {"to": 1}}))
            assert (await client.receive_json())["payload"] == {"data": {"count": 1}}


@pytest.mark.usefixtures("clean_layer")
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_apq_miss_register_hit(protocol):
    text = 'query WsGreet { hello(name: "socket") }'
    with gql(AUTOMATIC_PERSISTED_QUERIES=True):
        async with ws_client(protocol) as client:
            await client.send_json_to(start(protocol, "1", {"extensions": persisted_query(text)}))
            errors = is_error(protocol, await client.receive_json(), "1")
            assert errors == [{"message": "PersistedQueryNotFound",
                               "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
            await client.send_json_to(start(protocol, "2", {"query": text, "extensions": persisted_query(text)}))
            assert (await client.receive_json())["payload"] == {"data": {"hello": "Hello, socket!"}}
            assert (await client.receive_json())["type"] == "complete"
            await client.send_json_to(start(protocol, "3", {"extensions": persisted_query(text)}))
            assert (await client.receive_json())["payload"] == {"data": {"hello": "Hello, socket!"}}


# -- settings, checks and start-up ----------------------------------------------------------


def check_messages(**settings) -> dict[str, list]:
    with gql(**settings):
        found: dict[str, list] = {}
        for message in checks.run_checks():
            if message.id and message.id.startswith("gql_channels."):
                found.setdefault(message.id, []).append(message)
        return found


def test_a_good_manifest_has_no_check_messages():
    assert check_messages(PERSISTED_DOCUMENTS=str(MANIFEST), ONLY_PERSISTED_DOCUMENTS=True) == {}


def test_manifest_problems_are_check_errors_naming_the_id(tmp_path):
    bad_text = "query Bad { nope }"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({HELLO_ID: HELLO, sha256_id(bad_text): bad_text, "sha256:" + "b" * 64: HELLO}))
    found = check_messages(PERSISTED_DOCUMENTS=str(path))
    assert set(found) == {"gql_channels.E044", "gql_channels.W041"}
    [error] = found["gql_channels.E044"]
    assert sha256_id(bad_text) in error.msg and "Cannot query field 'nope' on type 'Query'" in error.msg
    assert error.level == checks.ERROR and "gql_check" in error.hint
    assert "sha256:" + "b" * 64 in found["gql_channels.W041"][0].msg


@pytest.mark.parametrize(("settings", "expected"), [
    ({"PERSISTED_DOCUMENTS": "/nonexistent/manifest.json"}, "gql_channels.E043"),
    ({"ONLY_PERSISTED_DOCUMENTS": True}, "gql_channels.E041"),
    ({"AUTOMATIC_PERSISTED_QUERIES": True, "APQ_CACHE": "nowhere"}, "gql_channels.E040"),
    ({"PERSISTED_DOCUMENTS": str(MANIFEST), "ONLY_PERSISTED_DOCUMENTS": True,
      "AUTOMATIC_PERSISTED_QUERIES": True}, "gql_channels.W040"),
    ({"ONLY_PERSISTED_DOCUMENTS": "yes"}, "gql_channels.E007"),
    ({"PERSISTED_DOCUMENTS": 5}, "gql_channels.E007"),
])
def test_each_persisted_setting_problem_has_its_id(settings, expected):
    assert expected in check_messages(**settings)


def test_manage_py_check_fails_on_a_bad_manifest(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"my-id": "{ nope }"}))
    with gql(PERSISTED_DOCUMENTS=str(path)), pytest.raises(SystemCheckError, match="gql_channels.E044.*'my-id'"):
        call_command("check")


def test_a_bad_manifest_stops_the_application_at_start_up(tmp_path):
    from django_gql_channels.conf import SettingsError

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"my-id": "{ nope }", "other": "{ nope2 }"}))
    with gql(PERSISTED_DOCUMENTS=str(path)), pytest.raises(SettingsError, match="'my-id'.*and 1 more"):
        get_application()


def test_the_manifest_is_read_once_and_again_after_a_settings_change(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"one": HELLO}))
    with gql(PERSISTED_DOCUMENTS=str(path)):
        engine = get_engine()
        path.write_text(json.dumps({"two": HELLO}))
        assert get_engine() is engine and set(engine.persisted_documents.documents) == {"one"}
    with gql(PERSISTED_DOCUMENTS=str(path)):
        assert set(get_engine().persisted_documents.documents) == {"two"}


async def test_lone_surrogates_in_text_are_a_mismatch_not_a_crash():
    engine = Engine(example_schema, apq_store=LocalAPQStore(10))
    text = '{ hello(name: "\ud800") }'
    error = await refusal(engine, text, extensions=persisted_query("{ hello }"))
    assert error.errors[0].extensions == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}


async def test_a_failing_django_cache_acts_as_an_empty_store(caplog):
    from django_gql_channels.engine import DjangoCacheAPQStore
    from tests.conftest import free_port

    # A real Redis cache backend pointed at a port nobody listens on.
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "apq": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    with override_settings(CACHES=caches):
        engine = Engine(example_schema, apq_store=DjangoCacheAPQStore("apq"))
        assert (await refusal(engine, extensions=persisted_query(HELLO))).kind == "persisted_query_not_found"
        assert (await resolve_operation(engine, HELLO, extensions=persisted_query(HELLO))).name == "Hello"
    assert "APQ cache 'apq' failed on get" in caplog.text and "failed on set" in caplog.text
