"""``GraphQLView`` (Django's own handler, WSGI and ASGI): the same metrics and spans as the HTTP consumer."""

from __future__ import annotations

import json

import pytest
from django.test import AsyncClient, Client

from tests.observability_support import Samples, connections, operations

pytestmark = [pytest.mark.urls("tests.view_urls"), pytest.mark.usefixtures("observed"), pytest.mark.django_db]

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def body(query: str) -> str:
    return json.dumps({"query": query})


def test_the_view_under_wsgi_counts_outcomes_and_continues_the_traceparent(observed):
    counts = Samples(operations("http", "query", "ok"), operations("http", "query", "error"),
                     operations("http", "unknown", "refused"), operations("http", "mutation", "refused"))
    client = Client()
    assert client.post("/plain/", body("query Hi { hello }"), content_type="application/json",
                       HTTP_TRACEPARENT=TRACEPARENT).status_code == 200
    client.post("/plain/", body("{ fail }"), content_type="application/json")
    client.post("/plain/", body("{ nope }"), content_type="application/json")
    client.get("/plain/", {"query": "mutation { __typename }"})
    assert counts.added() == [1, 1, 1, 1]
    assert connections("http") == 0
    span = next(s for s in observed.get_finished_spans() if s.name == "query Hi")
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.attributes["graphql.transport"] == "http"


async def test_the_view_under_asgi_reads_the_traceparent_from_the_scope(observed):
    response = await AsyncClient().post("/plain/", body("query Hi { hello }"), content_type="application/json",
                                        headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    span = next(s for s in observed.get_finished_spans() if s.name == "query Hi")
    assert format(span.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_each_element_of_a_view_batch_is_an_operation_of_its_own(observed, settings):
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "BATCHING": True}
    counts = Samples(operations("http", "query", "ok"), operations("http", "query", "error"),
                     operations("http", "unknown", "refused"))
    batch = [{"query": "{ hello }"}, {"query": "{ fail }"}, {"query": "{ nope }"}, {"query": "{ hello }"}]
    response = Client().post("/plain/", json.dumps(batch), content_type="application/json")
    assert response.status_code == 200 and len(response.json()) == 4
    assert counts.added() == [2, 1, 1]
    assert connections("http") == 0
