"""A Strawberry schema's own extensions (``strawberry.Schema(extensions=[...])``) on every transport.

Each behaviour is compared with what Strawberry's own ``Schema.execute`` /
``Schema.subscribe`` give for the same operation, in the same test, so the
app matches Strawberry rather than our idea of it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import graphql
import pytest
from django.core import checks
from django.test import override_settings
from graphql import DirectiveLocation, GraphQLError

from django_gql_channels.conf import SettingsError
from django_gql_channels.engine import Engine, Operation, get_engine
from django_gql_channels.operations.shared_results import opted_out
from tests.engine.test_sync_execution import TRANSPORTS, run
from tests.settings import GQL_CHANNELS

strawberry = pytest.importorskip("strawberry")

from strawberry.directive import DirectiveValue  # noqa: E402
from strawberry.extensions import (  # noqa: E402
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

# -- the schema ------------------------------------------------------------------------


class Recorder(SchemaExtension):
    """Notes each hook Strawberry calls, in order, and reports them in the result's ``extensions``."""

    def __init__(self) -> None:
        self.hooks: list[str] = []

    def on_operation(self) -> Iterator[None]:
        self.hooks.append("operation")
        yield
        self.hooks.append("/operation")

    def on_parse(self) -> Iterator[None]:
        self.hooks.append("parse")
        yield
        self.hooks.append("/parse")

    def on_validate(self) -> Iterator[None]:
        self.hooks.append("validate")
        yield
        self.hooks.append("/validate")

    def on_execute(self) -> Iterator[None]:
        self.hooks.append("execute")
        yield
        self.hooks.append("/execute")

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        self.hooks.append(f"resolve {info.field_name}")
        return _next(root, info, *args, **kwargs)

    def get_results(self) -> dict[str, Any]:
        return {"hooks": list(self.hooks)}


class Denied(strawberry.BasePermission):
    message = "Only the keeper may read this."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


def unexpected(error: GraphQLError) -> bool:
    """Mask what a resolver raised unexpectedly; refusals written for the client pass."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


@strawberry.type
class Node:
    name: str

    @strawberry.field
    def child(self) -> Node:
        return Node(name=self.name + "+")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def fail(self) -> str:
        raise ValueError("the database password is hunter2")

    @strawberry.field
    def node(self) -> Node:
        return Node(name="root")

    @strawberry.field
    def context_kind(self, info: strawberry.Info) -> str:
        """What the transport handed Strawberry as ``info.context``."""
        context = info.context
        return ",".join(sorted(f"{key}={type(value).__name__}" for key, value in context.items()))

    @strawberry.field(permission_classes=[Denied])
    def secret(self) -> str:  # pragma: no cover - never allowed
        return "the secret"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int) -> AsyncGenerator[int, None]:
        for value in range(1, to + 1):
            yield value

    @strawberry.subscription(permission_classes=[Denied])
    async def guarded(self) -> AsyncGenerator[int, None]:  # pragma: no cover - never allowed
        yield 1


EXTENSIONS = [
    lambda: MaskErrors(should_mask_error=unexpected),
    lambda: QueryDepthLimiter(max_depth=3),
    lambda: MaxAliasesLimiter(max_alias_count=2),
    Recorder,
]
extended_schema = strawberry.Schema(query=Query, subscription=Subscription, extensions=EXTENSIONS)
plain_schema = strawberry.Schema(query=Query, subscription=Subscription)

EXTENDED = {**GQL_CHANNELS, "SCHEMA": f"{__name__}.extended_schema"}


def formatted(result: Any) -> dict[str, Any]:
    """Strawberry's own result as the response map a client receives."""
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        response["extensions"] = result.extensions
    return response


async def strawberry_results(query: str, variables: dict[str, Any] | None = None, *,
                             transport: str = "engine") -> list[dict[str, Any]]:
    """What Strawberry's own execution gives for ``query`` on the extended schema.

    Over HTTP, a refusal before execution (no error has a path) is a GraphQL
    over HTTP request error, whose response has no ``data`` entry.
    """
    if query.lstrip().startswith("subscription"):
        stream = await extended_schema.subscribe(query, variable_values=variables, context_value={})
        return [formatted(result) async for result in stream]
    response = formatted(await extended_schema.execute(query, variable_values=variables, context_value={}))
    if transport == "http" and response["data"] is None and not any("path" in e for e in response["errors"]):
        del response["data"]
    return [response]


async def served(transport: str, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with override_settings(GQL_CHANNELS=EXTENDED):
        return await run(transport, query, variables, schema=extended_schema)


# -- queries: every transport, compared with Strawberry ---------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mask_errors_masks_as_strawberry_does(transport):
    results = await served(transport, "{ hello fail }")
    assert results == await strawberry_results("{ hello fail }", transport=transport)
    [result] = results
    assert result["data"] is None  # fail is non-null
    assert [error["message"] for error in result["errors"]] == ["Unexpected error."]
    assert "hunter2" not in str(results)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_query_depth_limiter_refuses_as_strawberry_words_it(transport):
    query = "query Deep { node { child { child { child { name } } } } }"
    results = await served(transport, query)
    assert results == await strawberry_results(query, transport=transport)
    [result] = results
    assert [error["message"] for error in result["errors"]] == ["'Deep' exceeds maximum operation depth of 3"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_max_aliases_limiter_refuses_as_strawberry_words_it(transport):
    query = "{ a: hello b: hello c: hello }"
    results = await served(transport, query)
    assert results == await strawberry_results(query, transport=transport)
    [result] = results
    assert [error["message"] for error in result["errors"]] == [
        "3 aliases found. Allowed: 2"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_custom_extension_sees_strawberrys_hook_order(transport):
    results = await served(transport, "{ hello node { name } }")
    assert results == await strawberry_results("{ hello node { name } }", transport=transport)
    [result] = results
    assert result["data"] == {"hello": "world", "node": {"name": "root"}}
    assert result["extensions"]["hooks"] == [
        "operation", "parse", "/parse", "validate", "/validate", "execute",
        "resolve hello", "resolve node", "resolve name", "/execute", "/operation",
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_permission_classes_refuse_as_strawberry_does(transport):
    results = await served(transport, "{ hello secret }")
    assert results == await strawberry_results("{ hello secret }", transport=transport)
    assert [error["message"] for error in results[0]["errors"]] == ["Only the keeper may read this."]


guarded_schema = strawberry.Schema(query=Query, extensions=[
    lambda: MaxTokensLimiter(max_token_count=12), DisableIntrospection, ParserCache, ValidationCache,
])


@pytest.mark.parametrize("transport", ["engine", "http", "graphql-transport-ws"])
@pytest.mark.parametrize("query", [
    "{ hello }",
    "{ __schema { queryType { name } } }",
    "{ hello node { name child { name child { name } } } }",
])
async def test_the_token_limiter_introspection_switch_and_caches_as_strawberry(transport, query):
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SCHEMA": f"{__name__}.guarded_schema"}):
        results = await run(transport, query, schema=guarded_schema)
    expected = formatted(await guarded_schema.execute(query, context_value={}))
    if transport == "http" and expected["data"] is None:
        del expected["data"]  # a request error: no data entry (GraphQL over HTTP)
    assert results == [expected]
    if "__schema" in query:
        assert "introspection" in results[0]["errors"][0]["message"].lower()
    elif "child" in query:
        assert "tokens" in results[0]["errors"][0]["message"]
    else:
        assert results[0]["data"] == {"hello": "world"}


@pytest.mark.parametrize(("transport", "expected"), [
    ("engine", ""),
    ("http", "request=ChannelsRequest,response=TemporalResponse"),
    ("graphql-transport-ws", "connection_params=dict,request=GraphQLWSConsumer,ws=GraphQLWSConsumer"),
])
async def test_info_context_is_the_transports(transport, expected):
    [result] = await served(transport, "{ contextKind }")
    assert result["data"] == {"contextKind": expected}


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def shout(value: DirectiveValue[str]) -> str:
    return value.upper()


directive_schema = strawberry.Schema(query=Query, directives=[shout])


@pytest.mark.parametrize("transport", ["engine", "http"])
async def test_custom_directives_run_through_strawberrys_directives_extension(transport):
    assert Engine(directive_schema).delegate is not None  # no extensions=[...], but directives=[...]
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SCHEMA": f"{__name__}.directive_schema"}):
        results = await run(transport, "{ hello @shout }", schema=directive_schema)
    assert results == [formatted(await directive_schema.execute("{ hello @shout }"))]
    assert results == [{"data": {"hello": "WORLD"}}]


# -- subscriptions ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["engine", "graphql-transport-ws", "graphql-ws", "sse"])
async def test_a_subscription_runs_the_extensions_per_event(transport):
    query = "subscription { count(to: 3) }"
    results = await served(transport, query)
    assert results == await strawberry_results(query, transport=transport)
    assert [result["data"] for result in results] == [{"count": 1}, {"count": 2}, {"count": 3}]
    # Strawberry's own per-event hooks: one operation, get_results per event, and a
    # resolve per event where graphql-core's subscribe takes middleware (3.3; not 3.2).
    assert results[-1]["extensions"]["hooks"][:6] == ["operation", "parse", "/parse", "validate", "/validate",
                                                      "execute"]
    if graphql.version_info >= (3, 3):
        assert results[-1]["extensions"]["hooks"].count("resolve count") == 3


@pytest.mark.parametrize("transport", ["graphql-transport-ws", "graphql-ws", "sse"])
async def test_a_refused_subscription_is_one_result_with_strawberrys_errors(transport):
    query = "subscription { guarded }"
    results = await served(transport, query)
    assert results == await strawberry_results(query)
    assert [r["errors"][0]["message"] for r in results] == ["Only the keeper may read this."]


async def test_the_engine_returns_a_refused_subscription_as_one_result():
    engine = get_engine(extended_schema)
    stream = await engine.subscribe(engine.prepare("subscription { guarded }"), context={})
    assert not hasattr(stream, "__anext__")
    expected = await strawberry_results("subscription { guarded }")
    assert engine.format_result(stream) == expected[0]
    assert stream.errors[0].message == "Only the keeper may read this."


async def test_closing_the_stream_closes_strawberrys():
    engine = get_engine(extended_schema)
    confirmed = []
    stream = await engine.subscribe(engine.prepare("subscription { count(to: 100) }"), context={},
                                    on_confirm=lambda: confirmed.append(True))
    assert confirmed == [True]
    assert (await stream.__anext__()).data == {"count": 1}
    assert (await stream.__anext__()).data == {"count": 2}
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


def test_such_schemas_opt_out_of_shared_results():
    engine = get_engine(extended_schema)
    assert opted_out(engine, engine.prepare("subscription { count(to: 1) }"))
    plain = get_engine(plain_schema)
    assert not opted_out(plain, plain.prepare("subscription { count(to: 1) }"))


# -- no extensions: the engine's own path -----------------------------------------------


async def test_a_schema_without_extensions_is_not_delegated(monkeypatch):
    def never(*args: Any, **kwargs: Any) -> Any:  # pragma: no cover - the point is it is not called
        raise AssertionError("delegated to Strawberry")

    monkeypatch.setattr(plain_schema, "execute", never)
    monkeypatch.setattr(plain_schema, "subscribe", never)
    engine = Engine(plain_schema)
    assert engine.delegate is None
    result = await engine.execute(engine.prepare("{ hello fail }"))
    assert "hunter2" in result.errors[0].message  # no MaskErrors: it has none
    stream = await engine.subscribe(engine.prepare("subscription { count(to: 2) }"))
    assert [item.data async for item in stream] == [{"count": 1}, {"count": 2}]
    assert Engine(extended_schema).delegate is not None


async def test_an_operation_built_without_its_text_is_printed_for_strawberry():
    engine = get_engine(extended_schema)
    prepared = engine.prepare("{ hello }")
    bare = Operation(prepared.document, prepared.definition)
    assert bare.text is None
    result = await engine.execute(bare, context={})
    assert result.data == {"hello": "world"}
    assert result.extensions["hooks"][:2] == ["operation", "parse"]


async def test_the_engines_own_limits_still_run_first():
    engine = Engine(extended_schema, max_depth=2)
    with pytest.raises(Exception, match="more than the 2 allowed"):
        engine.prepare("{ node { child { name } } }")


# -- what cannot run: system checks and start-up ----------------------------------------


def extension_messages(**gql: Any) -> list[checks.CheckMessage]:
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, **gql}):
        return [m for m in checks.run_checks() if m.id == "gql_channels.E070"]


def test_extensions_that_run_are_no_error():
    assert extension_messages(SCHEMA=f"{__name__}.extended_schema") == []
    assert extension_messages(SCHEMA=f"{__name__}.plain_schema", SYNC_EXECUTION=True,
                              MIDDLEWARE=["tests.engine.test_middleware.shout"]) == []


@pytest.mark.parametrize(("gql", "reason"), [
    ({"MIDDLEWARE": ["tests.engine.test_middleware.shout"]}, "MIDDLEWARE is set"),
    ({"SYNC_EXECUTION": True}, "SYNC_EXECUTION is on"),
])
def test_each_extension_that_cannot_run_is_an_error_naming_it(gql, reason):
    messages = extension_messages(SCHEMA=f"{__name__}.extended_schema", **gql)
    names = ["MaskErrors", "QueryDepthLimiter", "MaxAliasesLimiter", "Recorder"]
    assert len(messages) == len(names)
    for message, name in zip(messages, names, strict=True):
        assert message.level == checks.ERROR
        assert f"extension {name} cannot run: {reason}" in message.msg
        assert "MIDDLEWARE" in message.hint
    with override_settings(GQL_CHANNELS={**EXTENDED, **gql}), pytest.raises(SettingsError, match="MaskErrors"):
        get_engine(extended_schema)  # and the server refuses to start without them


def test_an_engine_built_directly_refuses_too():
    with pytest.raises(ValueError, match="cannot run: SYNC_EXECUTION is on"):
        Engine(extended_schema, sync_execution=True)
