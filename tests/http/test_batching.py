"""HTTP batching (``BATCHING``): the consumer in process, and GraphQLView; raw requests, one per test."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncRequestFactory, override_settings
from graphql import GraphQLArgument, GraphQLField, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.engine import sha256_id
from django_gql_channels.views import GraphQLView
from tests import defer_schema
from tests.http.test_http import GQL_JSON, JSON, call
from tests.incremental_support import needs_incremental

MANIFEST = Path(__file__).resolve().parent.parent / "persisted" / "manifest.json"
HELLO = "query Hello {\n  hello\n}\n"  # in the manifest
BASE = {"SCHEMA": "example_project.schema.schema", "BATCHING": True}

#: What the mutations and queries of ``schema`` did, in order.
LOG: list[str] = []
#: Each context a resolver saw (by id): a batch shares one.
CONTEXTS: list[int] = []


async def append(_root: Any, info: Any, item: str) -> list[str]:
    CONTEXTS.append(id(info.context))
    # The first mutation takes longest: were they run at once, the log would show it.
    await asyncio.sleep(0.02 if item == "first" else 0)
    LOG.append(item)
    return list(LOG)


def read_log(_root: Any, info: Any) -> list[str]:
    CONTEXTS.append(id(info.context))
    return list(LOG)


def hello(_root: Any, _info: Any, name: str = "world") -> str:
    LOG.append(f"hello {name}")
    return f"Hello, {name}!"


schema = GraphQLSchema(
    query=GraphQLObjectType("Query", {
        "hello": GraphQLField(GraphQLString, args={"name": GraphQLArgument(GraphQLString)}, resolve=hello),
        "log": GraphQLField(GraphQLList(GraphQLString), resolve=read_log),
        "fail": GraphQLField(GraphQLString, resolve=lambda *_: (_ for _ in ()).throw(ValueError("it failed"))),
    }),
    mutation=GraphQLObjectType("Mutation", {
        "append": GraphQLField(GraphQLList(GraphQLString), args={"item": GraphQLArgument(GraphQLString)},
                               resolve=append),
    }),
    subscription=GraphQLObjectType("Subscription", {
        "count": GraphQLField(GraphQLString, subscribe=lambda *_: ticks(), resolve=lambda event, _info: event),
    }),
)


async def ticks() -> Any:
    yield "one"


@pytest.fixture(autouse=True)
def _fresh_log():
    LOG.clear()
    CONTEXTS.clear()


def gql(**settings: Any) -> Any:
    return override_settings(GQL_CHANNELS={**BASE, "MASK_ERRORS": False, **settings})


def app(**kwargs: Any) -> Any:
    return GraphQLHTTPConsumer.as_asgi(schema=kwargs.pop("schema", schema), **kwargs)


async def batch(items: Any, accept: str | None = None, **settings: Any) -> Any:
    with gql(**settings):
        return await call(app(), payload=items, accept=accept)


# -- off --------------------------------------------------------------------------


async def test_off_by_default_an_array_is_400():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema"}):
        reply = await call(app(), payload=[{"query": "{ hello }"}])
    assert reply.status == 400
    assert reply.message.startswith("Batched requests (a JSON array) are not supported")
    assert LOG == []


async def test_the_consumer_argument_turns_it_on():
    with override_settings(GQL_CHANNELS={"SCHEMA": "example_project.schema.schema"}):
        reply = await call(app(batching=True), payload=[{"query": "{ hello }"}])
    assert (reply.status, reply.json) == (200, [{"data": {"hello": "Hello, world!"}}])


# -- results in order ---------------------------------------------------------------


@pytest.mark.parametrize(("accept", "content_type"), [(None, JSON), (GQL_JSON, GQL_JSON),
                                                      ("application/graphql-response+json, application/json;q=0.9",
                                                       GQL_JSON)])
async def test_results_come_in_order(accept, content_type):
    items = [{"query": '{ hello(name: "a") }'}, {"query": "query B($n: String) { hello(name: $n) }",
                                                  "variables": {"n": "b"}, "operationName": "B"},
             {"query": "{ hello }"}]
    reply = await batch(items, accept)
    assert reply.status == 200
    assert reply.header("content-type") == content_type
    assert reply.json == [{"data": {"hello": "Hello, a!"}}, {"data": {"hello": "Hello, b!"}},
                          {"data": {"hello": "Hello, world!"}}]
    assert LOG == ["hello a", "hello b", "hello world"]


async def test_one_batch_shares_one_context():
    reply = await batch([{"query": "{ log }"}, {"query": "mutation { append(item: \"x\") }"}, {"query": "{ log }"}])
    assert reply.status == 200
    assert len(CONTEXTS) == 3 and len(set(CONTEXTS)) == 1


# -- each element is its own operation ----------------------------------------------------------


@pytest.mark.parametrize("accept", [None, GQL_JSON])
async def test_errors_of_one_element_do_not_fail_the_others(accept):
    items = [
        {"query": "{ hello }"},
        {"query": "{ hello"},                                   # syntax
        {"query": "{ nope }"},                                  # validation
        "{ hello }",                                            # not an object
        {"variables": {}},                                      # no query
        {"query": "query A { hello } query B { log }"},         # which operation?
        {"query": "query ($n: String!) { hello(name: $n) }"},   # variable missing
        {"query": "{ fail hello }"},                            # a field error: data and errors
        {"query": "subscription { count }"},                    # not batched
        [{"query": "{ hello }"}],                               # a batch in a batch
        {"query": '{ hello(name: "last") }'},
    ]
    reply = await batch(items, accept, MAX_BATCH_SIZE=20)
    assert reply.status == 200  # whatever the elements' errors: see http/batching.py
    results = reply.json
    assert len(results) == len(items)
    assert results[0] == {"data": {"hello": "Hello, world!"}}
    assert results[-1] == {"data": {"hello": "Hello, last!"}}
    for index in range(1, 7):
        assert set(results[index]) == {"errors"}, results[index]  # request errors: no data entry
    assert "Syntax Error" in results[1]["errors"][0]["message"]
    assert "Cannot query field 'nope'" in results[2]["errors"][0]["message"]
    assert results[3]["errors"] == [{"message": "Each element of a batch must be a JSON object (one operation), "
                                                "not a string.", "extensions": {"code": "BAD_REQUEST"}}]
    assert "no 'query'" in results[4]["errors"][0]["message"]
    assert "operation name" in results[5]["errors"][0]["message"]
    assert "$n" in results[6]["errors"][0]["message"]
    assert results[7]["data"] == {"fail": None, "hello": "Hello, world!"}
    assert results[7]["errors"][0]["message"] == "it failed" and results[7]["errors"][0]["path"] == ["fail"]
    assert set(results[8]) == {"errors"} and "cannot be batched" in results[8]["errors"][0]["message"]
    assert "must be a JSON object" in results[9]["errors"][0]["message"]
    assert LOG == ["hello world", "hello world", "hello last"]


async def test_mutations_run_in_order():
    items = [{"query": 'mutation { append(item: "first") }'}, {"query": "{ log }"},
             {"query": 'mutation { append(item: "second") }'}, {"query": 'mutation { append(item: "third") }'},
             {"query": "{ log }"}]
    reply = await batch(items)
    assert reply.status == 200
    assert reply.json == [
        {"data": {"append": ["first"]}},
        {"data": {"log": ["first"]}},
        {"data": {"append": ["first", "second"]}},
        {"data": {"append": ["first", "second", "third"]}},
        {"data": {"log": ["first", "second", "third"]}},
    ]


# -- the batch's own limits -----------------------------------------------------------------------


async def test_a_batch_over_max_batch_size_is_400_and_nothing_runs():
    reply = await batch([{"query": "{ hello }"}] * 4, MAX_BATCH_SIZE=3)
    assert reply.status == 400
    assert reply.header("content-type") == JSON
    assert reply.json == {"errors": [{
        "message": "The batch has 4 operations, more than the 3 this server accepts in one request (MAX_BATCH_SIZE).",
        "extensions": {"code": "BATCH_LIMIT_EXCEEDED"}}]}
    assert LOG == []
    assert (await batch([{"query": "{ hello }"}] * 3, MAX_BATCH_SIZE=3)).status == 200


async def test_the_default_max_batch_size_is_10():
    assert (await batch([{"query": "{ hello }"}] * 10)).status == 200
    assert (await batch([{"query": "{ hello }"}] * 11)).status == 400


async def test_an_empty_batch_is_400():
    reply = await batch([])
    assert reply.status == 400 and "empty" in reply.message


async def test_event_streams_are_not_batched():
    reply = await batch([{"query": "{ hello }"}], accept="text/event-stream")
    assert reply.status == 400 and "not as an event stream" in reply.message
    assert LOG == []


async def test_get_is_never_batched():
    with gql():
        reply = await call(app(), "GET", query_string="query=%5B%7B%22query%22%3A%22%7B+hello+%7D%22%7D%5D",
                           content_type=None)
    # The query string's 'query' is a document text: '[...]' is a syntax error, not a batch.
    assert reply.status == 200 and "Syntax Error" in reply.message


# -- cost limits count per batch ----------------------------------------------------------------------


async def test_complexity_counts_over_the_batch():
    four_fields = {"query": "{ a: hello b: hello c: hello d: hello }"}
    with gql(MAX_QUERY_COMPLEXITY=10, MAX_ALIASES=None):
        alone = await call(app(), payload=four_fields)
        assert alone.json["data"]["a"] == "Hello, world!"
        LOG.clear()
        reply = await call(app(), payload=[four_fields, four_fields, four_fields])
    assert reply.status == 400
    (error,) = reply.json["errors"]
    assert error["extensions"] == {"code": "MAX_QUERY_COMPLEXITY_EXCEEDED"}
    assert "12 fields" in error["message"] and "MAX_QUERY_COMPLEXITY" in error["message"]
    assert LOG == []  # nothing ran


async def test_aliases_and_directives_count_over_the_batch():
    aliased = {"query": "{ a: hello b: hello }"}
    reply = await batch([aliased] * 3, MAX_ALIASES=5)
    assert reply.status == 400 and reply.json["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    directed = {"query": "{ hello @include(if: true) log @skip(if: false) }"}
    reply = await batch([directed] * 3, MAX_DIRECTIVES=5)
    assert reply.status == 400 and reply.json["errors"][0]["extensions"]["code"] == "MAX_DIRECTIVES_EXCEEDED"
    assert (await batch([directed] * 2, MAX_DIRECTIVES=5)).status == 200


async def test_merge_comparisons_count_over_the_batch():
    repeated = {"query": "{ " + "hello " * 4 + "}"}  # 6 pairs
    assert (await batch([repeated] * 2, MAX_MERGE_COMPARISONS=12)).status == 200
    reply = await batch([repeated] * 3, MAX_MERGE_COMPARISONS=12)
    assert reply.status == 400
    assert reply.json["errors"][0]["extensions"]["code"] == "MAX_MERGE_COMPARISONS_EXCEEDED"


async def test_document_size_counts_over_the_batch():
    text = "{ hello }" + " " * 91  # 100 bytes
    assert (await batch([{"query": text}] * 2, MAX_DOCUMENT_SIZE=200)).status == 200
    reply = await batch([{"query": text}] * 3, MAX_DOCUMENT_SIZE=200)
    assert reply.status == 413
    assert "MAX_DOCUMENT_SIZE" in reply.message
    assert LOG == ["hello world", "hello world"]


async def test_failed_elements_count_nothing():
    four_fields = {"query": "{ a: hello b: hello c: hello d: hello }"}
    reply = await batch([four_fields, {"query": "{ nope nope2 nope3 nope4 nope5 }"}, four_fields],
                        MAX_QUERY_COMPLEXITY=8, MAX_ALIASES=None)
    assert reply.status == 200
    assert [set(result) for result in reply.json] == [{"data"}, {"errors"}, {"data"}]


# -- persisted documents and APQ per element ------------------------------------------------------


def apq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(text.encode()).hexdigest()}}


async def test_apq_per_element():
    text = '{ hello(name: "apq") }'
    with gql(AUTOMATIC_PERSISTED_QUERIES=True):
        reply = await call(app(), payload=[{"extensions": apq(text)},                   # a miss
                                           {"query": text, "extensions": apq(text)},    # registers it
                                           {"extensions": apq(text)},                   # a hit now
                                           {"query": "{ hello }", "extensions": apq(text)}])  # wrong hash
    assert reply.status == 200
    assert reply.header("cache-control") == "private, no-cache, must-revalidate"  # the miss
    results = reply.json
    assert results[0] == {"errors": [{"message": "PersistedQueryNotFound",
                                      "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    assert results[1] == results[2] == {"data": {"hello": "Hello, apq!"}}
    assert results[3]["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}


async def test_persisted_documents_per_element():
    with gql(PERSISTED_DOCUMENTS=str(MANIFEST), ONLY_PERSISTED_DOCUMENTS=True):
        reply = await call(app(schema=None), payload=[
            {"documentId": sha256_id(HELLO)}, {"documentId": "sha256:" + "0" * 64}, {"query": "{ hello }"},
            {"documentId": sha256_id(HELLO), "operationName": "Hello"}])
    assert reply.status == 200
    results = reply.json
    assert results[0] == results[3] == {"data": {"hello": "Hello, world!"}}  # the example schema's
    assert results[1]["errors"][0]["extensions"] == {"code": "PERSISTED_DOCUMENT_NOT_FOUND"}
    assert results[2]["errors"][0]["extensions"] == {"code": "PERSISTED_DOCUMENT_REQUIRED"}


# -- GraphQLView ------------------------------------------------------------------------------------


async def view_post(view: Any, body: Any) -> Any:
    request = AsyncRequestFactory().post("/graphql/", json.dumps(body), content_type="application/json")
    return await view(request)


async def test_view_batches_with_the_setting():
    view = GraphQLView.as_view(schema=schema)
    items = [{"query": 'mutation { append(item: "first") }'}, {"query": "{ nope }"}, {"query": "{ log }"}]
    with gql():
        response = await view_post(view, items)
    assert response.status_code == 200
    assert json.loads(response.content) == [{"data": {"append": ["first"]}},
                                            {"errors": [{"message": "Cannot query field 'nope' on type 'Query'.",
                                                         "locations": [{"line": 1, "column": 3}]}]},
                                            {"data": {"log": ["first"]}}]
    with gql(BATCHING=False):
        response = await view_post(view, items)
    assert response.status_code == 400
    assert "Batched requests" in json.loads(response.content)["errors"][0]["message"]


async def test_view_batch_true_is_graphene_djangos_keyword():
    view = GraphQLView.as_view(schema=schema, batch=True)
    with gql(BATCHING=False):
        response = await view_post(view, [{"id": 1, "query": "{ hello }"}, {"id": "two", "query": "{ log }"},
                                          {"query": "{ hello"}])
    assert response.status_code == 200
    results = json.loads(response.content)
    assert results[0] == {"data": {"hello": "Hello, world!"}, "id": 1}
    assert results[1] == {"data": {"log": ["hello world"]}, "id": "two"}
    assert set(results[2]) == {"errors"}


async def test_view_batch_limits():
    view = GraphQLView.as_view(schema=schema)
    with gql(MAX_BATCH_SIZE=2):
        response = await view_post(view, [{"query": "{ hello }"}] * 3)
        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["extensions"] == {"code": "BATCH_LIMIT_EXCEEDED"}
    with gql(MAX_QUERY_COMPLEXITY=3):
        response = await view_post(view, [{"query": "{ hello log }"}] * 2)
        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["extensions"] == {"code": "MAX_QUERY_COMPLEXITY_EXCEEDED"}
    with gql():
        response = await view_post(view, [])
        assert response.status_code == 400
    assert LOG == []


# -- hooks ----------------------------------------------------------------------------------------


class Hooked(GraphQLHTTPConsumer):
    contexts = 0
    processed = 0

    async def get_context(self, request: Any, response: Any) -> Any:
        Hooked.contexts += 1
        context = await super().get_context(request, response)
        response.headers["X-Batch"] = "yes"
        return context

    def process_result(self, request: Any, result: Any) -> Any:
        Hooked.processed += 1
        data = super().process_result(request, result)
        data["extensions"] = {"seen": Hooked.processed}
        return data


async def test_hooks_in_a_batch():
    Hooked.contexts = Hooked.processed = 0
    with gql():
        reply = await call(Hooked.as_asgi(schema=schema), payload=[{"query": "{ hello }"}, {"query": "{ nope }"},
                                                                  {"query": "{ log }"}])
    assert reply.status == 200
    assert Hooked.contexts == 1  # one context for the batch
    assert [result["extensions"] for result in reply.json] == [{"seen": 1}, {"seen": 2}, {"seen": 3}]
    assert "data" not in reply.json[1]
    assert reply.header("x-batch") == "yes"


# -- @defer / @stream in a batch, and through the Django view -----------------------------


@needs_incremental
async def test_a_deferred_element_gets_its_own_error_and_the_others_run():
    items = [{"query": "{ hello }"}, {"query": "{ hello ... @defer { items { id } } }"}]
    with gql():
        reply = await call(app(schema=defer_schema.schema), payload=items)
    assert reply.status == 200
    first, deferred = json.loads(reply.body)
    assert first == {"data": {"hello": "world"}}
    assert "data" not in deferred
    assert deferred["errors"][0]["message"].startswith("@defer and @stream cannot be used in a batch")


@needs_incremental
async def test_the_view_refuses_defer_with_a_clear_error():
    view = GraphQLView.as_view(schema=defer_schema.schema)
    with gql(BATCHING=False):
        response = await view_post(view, {"query": "{ hello ... @defer { items { id } } }"})
    body = json.loads(response.content)
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("@defer and @stream are not supported by this view")
