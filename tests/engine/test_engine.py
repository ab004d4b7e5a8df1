"""The protocol-free engine: document cache, operation selection, limits, errors."""

import logging
from unittest import mock

import pytest
from graphql import GraphQLError, get_introspection_query

from django_gql_channels.engine import PARSE_SUPPORTS_MAX_TOKENS, Engine, get_engine
from django_gql_channels.engine import documents as documents_module
from django_gql_channels.exceptions import GraphQLRequestError
from example_project.schema import schema


@pytest.fixture
def engine():
    return Engine(schema, max_depth=5, max_tokens=200)


async def run(engine, query, variables=None, operation_name=None, **kwargs):
    return await engine.execute(engine.prepare(query, operation_name), variables=variables, **kwargs)


async def test_sync_and_async_resolvers(engine):
    result = await run(engine, "{ hello slow(seconds: 0) }")
    assert result.data == {"hello": "Hello, world!", "slow": 0.0}


async def test_variables_reach_resolvers(engine):
    result = await run(engine, "query Q($n: String) { hello(name: $n) }", {"n": "vars"})
    assert result.data == {"hello": "Hello, vars!"}


async def test_a_document_is_parsed_and_validated_once(engine):
    with mock.patch.object(documents_module, "validate", wraps=documents_module.validate) as validate:
        for _ in range(5):
            await run(engine, "{ hello }")
    assert validate.call_count == 1


async def test_validation_errors_are_cached_too(engine):
    with mock.patch.object(documents_module, "validate", wraps=documents_module.validate) as validate:
        for _ in range(3):
            with pytest.raises(GraphQLRequestError) as info:
                engine.prepare("{ nope }")
            assert info.value.kind == "validation"
    assert validate.call_count == 1
    assert "Cannot query field 'nope'" in info.value.errors[0].message


def test_syntax_errors_have_their_kind(engine):
    with pytest.raises(GraphQLRequestError) as info:
        engine.prepare("{ hello ")
    assert info.value.kind == "syntax"
    assert info.value.errors[0].locations


def test_the_cache_is_bounded_lru():
    small = Engine(schema, cache_size=2)
    small.prepare("{ hello }")
    small.prepare("{ me }")
    small.prepare("{ hello }")  # most recently used now
    small.prepare("{ fail }")  # evicts "{ me }"
    assert list(small.document_cache) == ["{ hello }", "{ fail }"]
    assert "{ me }" not in small.document_cache and len(small.document_cache) == 2


def test_cache_size_zero_disables_caching():
    uncached = Engine(schema, cache_size=0)
    uncached.prepare("{ hello }")
    assert len(uncached.document_cache) == 0


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("query A { hello } query B { me }", None, "Must provide operation name"),
        ("query A { hello }", "B", "Unknown operation named 'B'."),
        ("fragment F on Query { hello }", None, "Fragment 'F' is never used."),
    ],
)
def test_operation_selection_errors(engine, query, name, message):
    with pytest.raises(GraphQLRequestError) as info:
        engine.prepare(query, name)
    assert info.value.kind in ("operation", "validation")
    assert message in str(info.value)


def test_operation_name_picks_the_operation(engine):
    operation = engine.prepare("query A { hello } mutation B { echo(text: \"x\") }", "B")
    assert (operation.kind, operation.name) == ("mutation", "B")


def test_depth_limit_counts_fragments_and_stops_cycles(engine):
    deep = "{ items { id } }"
    engine.prepare(deep)
    q = "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"
    with pytest.raises(GraphQLRequestError, match="7 levels deep, more than the 5 allowed"):
        engine.prepare(q)
    via_fragment = ("query Deep { ...F } "
                    "fragment F on Query { __schema { types { fields { type { ofType { ofType { name } } } } } } }")
    with pytest.raises(GraphQLRequestError, match="'Deep' is 7 levels deep"):
        engine.prepare(via_fragment)
    cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    with pytest.raises(GraphQLRequestError, match="Cannot spread fragment"):
        engine.prepare(cycle)


def test_the_standard_introspection_query_fits_the_default_depth():
    get_engine().prepare(get_introspection_query())


def test_token_limit(engine):
    if not PARSE_SUPPORTS_MAX_TOKENS:
        pytest.skip("this graphql-core has no max_tokens")
    with pytest.raises(GraphQLRequestError, match="more than 200 tokens") as info:
        engine.prepare("{ " + "hello " * 300 + "}")
    assert info.value.kind == "syntax"


def test_introspection_can_be_disabled():
    closed = Engine(schema, introspection=False)
    with pytest.raises(GraphQLRequestError, match="introspection"):
        closed.prepare("{ __schema { queryType { name } } }")


def test_extra_validation_rules():
    from tests.check_fixtures.bad_things import NoFieldNamedSecret

    strict = Engine(schema, validation_rules=[NoFieldNamedSecret])
    strict.prepare("{ hello }")


async def test_execution_errors_are_formatted_and_logged(engine, caplog):
    with caplog.at_level(logging.ERROR, logger="django_gql_channels"):
        result = await run(engine, "{ hello fail }")
    formatted = engine.format_result(result)
    assert formatted["data"] == {"hello": "Hello, world!", "fail": None}
    (error,) = formatted["errors"]
    assert error == {"message": "This field always fails.", "locations": [{"line": 1, "column": 9}],
                     "path": ["fail"]}
    assert "This field always fails." in caplog.text


async def test_tracebacks_only_in_debug():
    debug = Engine(schema, debug=True)
    formatted = debug.format_result(await run(debug, "{ fail }"))
    exception = formatted["errors"][0]["extensions"]["exception"]
    assert exception["type"] == "ValueError"
    assert any("resolve_fail" in line for line in exception["stacktrace"])


def test_format_error_keeps_extensions():
    error = GraphQLError("nope", extensions={"code": "FORBIDDEN"})
    assert Engine(schema).format_error(error) == {"message": "nope", "extensions": {"code": "FORBIDDEN"}}


async def test_subscribe_returns_a_stream():
    stream = await get_engine().subscribe(get_engine().prepare("subscription { count(to: 2) }"))
    assert [r.data async for r in stream] == [{"count": 1}, {"count": 2}]


async def test_a_leading_none_is_executed_and_sent_and_confirms_once():
    from graphql import GraphQLField, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString

    async def confirming(_root, _info):
        yield None
        yield "after"
        yield None

    def field(type_):
        return GraphQLField(type_, subscribe=confirming, resolve=lambda value, _info: value)

    subscriptions = GraphQLSchema(
        query=GraphQLObjectType("Query", {"x": GraphQLField(GraphQLString)}),
        subscription=GraphQLObjectType("Subscription", {
            "nullable": field(GraphQLString), "strict": field(GraphQLNonNull(GraphQLString)),
        }),
    )
    engine = Engine(subscriptions)
    confirmations = []
    stream = await engine.subscribe(engine.prepare("subscription { nullable }"),
                                    on_confirm=lambda: confirmations.append(True))
    results = [engine.format_result(r) async for r in stream]
    assert results == [{"data": {"nullable": None}}, {"data": {"nullable": "after"}}, {"data": {"nullable": None}}]
    assert confirmations == [True]
    # A non-null field cannot carry the confirming null: the client gets the usual error, and the stream goes on.
    stream = await engine.subscribe(engine.prepare("subscription { strict }"))
    results = [engine.format_result(r) async for r in stream]
    assert results[0]["data"] is None
    assert results[0]["errors"][0]["message"] == "Cannot return null for non-nullable field Subscription.strict."
    assert results[1] == {"data": {"strict": "after"}}


@pytest.mark.parametrize("shared", [False, True], ids=["per-subscriber", "map_event"])
async def test_a_live_subscription_keeps_nothing_per_event(shared):
    """graphql-core 3.3's per-event executors share a memo that kept about 1 KiB per event (event_executors.py)."""
    import gc
    import tracemalloc

    from graphql import GraphQLField, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString

    async def events(_root, _info):
        for n in range(100_000):
            yield {"text": "hello", "n": n}

    message = GraphQLObjectType("Message", {"text": GraphQLField(GraphQLString), "n": GraphQLField(GraphQLInt)})
    subscriptions = GraphQLSchema(
        query=GraphQLObjectType("Query", {"x": GraphQLField(GraphQLString)}),
        subscription=GraphQLObjectType("Subscription", {
            "message": GraphQLField(message, subscribe=events, resolve=lambda event, _info: event)}),
    )
    engine = Engine(subscriptions)

    async def map_event(event, execute):
        return await execute(event)

    stream = await engine.subscribe(engine.prepare("subscription { message { text n } }"),
                                    map_event=map_event if shared else None)

    async def take(count):
        taken = 0
        async for result in stream:
            assert result.data == {"message": {"text": "hello", "n": result.data["message"]["n"]}}
            taken += 1
            if taken == count:
                return

    await take(50)  # warm: first-use caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await take(500)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        await stream.aclose()
    assert held < 500 * 100, f"{held / 500:.0f} bytes held per event"


def test_engines_are_shared_and_dropped_on_reload(settings):
    first = get_engine()
    assert get_engine() is first
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "MAX_QUERY_DEPTH": 3}
    second = get_engine()
    assert second is not first
    with pytest.raises(GraphQLRequestError, match="more than the 3 allowed"):
        second.prepare("{ __schema { types { fields { name } } } }")


# -- masked errors ---------------------------------------------------------------


async def test_masked_errors_hide_exceptions_keep_locations_and_path_and_log_in_full(caplog):
    masked = Engine(schema, mask_errors=True, debug=True)
    with caplog.at_level(logging.ERROR, logger="django_gql_channels"):
        result = await run(masked, "query Q { hello fail }")
    formatted = masked.format_result(result)
    assert formatted["data"] == {"hello": "Hello, world!", "fail": None}
    # No traceback either, though debug is on: masking wins.
    assert formatted["errors"] == [{"message": "Internal server error", "locations": [{"line": 1, "column": 17}],
                                    "path": ["fail"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    assert "query Q" in caplog.text and " at fail" in caplog.text
    assert "This field always fails." in caplog.text and "resolve_fail" in caplog.text  # the traceback


async def test_masking_lets_graphql_errors_and_request_errors_through():
    masked = Engine(schema, mask_errors=True)
    raised = GraphQLError("Not allowed.", extensions={"code": "FORBIDDEN"})
    assert masked.format_error(raised) == {"message": "Not allowed.", "extensions": {"code": "FORBIDDEN"}}
    with pytest.raises(GraphQLRequestError) as info:
        masked.prepare("{ nope }")
    assert "nope" in masked.format_errors(info.value.errors)[0]["message"]
    # A variable of the wrong type is the client's mistake, reported as such.
    result = await masked.execute(masked.prepare("query ($n: Int!) { items(n: $n) { id } }"), variables={"n": "x"})
    assert "Int cannot represent" in masked.format_result(result)["errors"][0]["message"]


def test_format_exception_masks_unless_told_not_to():
    failure = ConnectionError("Error 111 connecting to 127.0.0.1:6379.")
    assert Engine(schema, mask_errors=True).format_exception(failure) == {
        "message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    assert Engine(schema).format_exception(failure) == {"message": "Error 111 connecting to 127.0.0.1:6379."}
    assert Engine(schema, mask_errors=True).format_exception(GraphQLError("Try later.")) == {"message": "Try later."}


async def test_masked_subscription_event_errors_are_logged_with_the_operation(caplog):
    from graphql import GraphQLField, GraphQLInt, GraphQLObjectType, GraphQLSchema

    async def ticks(_root, _info):
        yield 1

    def broken(_value, _info):
        raise KeyError("secret-internal-detail")

    events = GraphQLSchema(
        query=GraphQLObjectType("Query", {"n": GraphQLField(GraphQLInt)}),
        subscription=GraphQLObjectType("Subscription", {"tick": GraphQLField(GraphQLInt, subscribe=ticks,
                                                                              resolve=broken)}),
    )
    masked = Engine(events, mask_errors=True)
    stream = await masked.subscribe(masked.prepare("subscription Boom { tick }"))
    with caplog.at_level(logging.ERROR, logger="django_gql_channels"):
        (result,) = [r async for r in stream]
    assert masked.format_result(result)["errors"][0]["message"] == "Internal server error"
    assert "subscription Boom at tick" in caplog.text and "secret-internal-detail" in caplog.text


def test_mask_errors_follows_django_debug_unless_set(settings):
    from django_gql_channels.engine import mask_errors_setting

    settings.GQL_CHANNELS = {k: v for k, v in settings.GQL_CHANNELS.items() if k != "MASK_ERRORS"}
    settings.DEBUG = False
    assert mask_errors_setting() is True and get_engine().mask_errors
    settings.DEBUG = True
    assert mask_errors_setting() is False and not get_engine().mask_errors
    settings.GQL_CHANNELS = {**settings.GQL_CHANNELS, "MASK_ERRORS": True}
    assert get_engine().mask_errors
