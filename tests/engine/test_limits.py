"""Limits checked before parsing (bytes) and before validation (aliases, directives, complexity, merges)."""

from __future__ import annotations

import asyncio
import time

import pytest
from graphql import build_schema

from django_gql_channels.engine import DocumentCache, DocumentLimits, Engine, LocalAPQStore, resolve_operation
from django_gql_channels.engine.documents import entry_bytes
from django_gql_channels.engine.persisted import sha256_hex
from django_gql_channels.exceptions import GraphQLRequestError

SCHEMA = build_schema("""
    type Query { hello: String node: Node items(n: Int): [Node] paint(color: Color): String }
    enum Color { RED GREEN }
    type Node { id: ID child: Node }
""")


def engine(**limits: object) -> Engine:
    return Engine(SCHEMA, limits=DocumentLimits(**limits), max_tokens=5000, max_depth=20)  # type: ignore[arg-type]


def refusal(engine: Engine, text: str) -> GraphQLRequestError:
    with pytest.raises(GraphQLRequestError) as info:
        engine.prepare(text)
    return info.value


def fan_out(levels: int) -> str:
    """Issue 18, item 1: each fragment spreads the one below twice (2**levels fields expanded)."""
    fragments = ["fragment F0 on Node { id }"]
    fragments += [f"fragment F{k} on Node {{ a: child {{ ...F{k - 1} }} b: child {{ ...F{k - 1} }} }}"
                  for k in range(1, levels + 1)]
    return f"{{ node {{ ...F{levels} }} }}\n" + "\n".join(fragments)


def test_fan_out_is_refused_fast_before_validation() -> None:
    text = fan_out(18)
    assert len(text) < 1300
    started = time.perf_counter()
    error = refusal(engine(max_aliases=None), text)
    assert time.perf_counter() - started < 0.5
    assert error.kind == "validation"
    assert error.errors[0].extensions == {"code": "MAX_QUERY_COMPLEXITY_EXCEEDED"}
    # With aliases counted too, the aliases (expanded) go over first.
    assert refusal(engine(), text).errors[0].extensions == {"code": "MAX_ALIASES_EXCEEDED"}


def test_spread_costs_its_fragment_each_time() -> None:
    fragment = "fragment F on Node { id child { id } }"  # 3 fields
    four = "{ node { ...F } items { ...F } }\n" + fragment  # 2 + 2 * 3 = 8 fields
    assert engine(max_complexity=8).prepare(four).kind == "query"
    assert refusal(engine(max_complexity=7), four).errors[0].extensions == {"code": "MAX_QUERY_COMPLEXITY_EXCEEDED"}


def test_aliases_and_directives_counted_through_fragments() -> None:
    text = "{ ...A ...A }\nfragment A on Query { x: hello @include(if: true) }"
    assert engine(max_aliases=2, max_directives=2).prepare(text)
    assert refusal(engine(max_aliases=1), text).errors[0].extensions == {"code": "MAX_ALIASES_EXCEEDED"}
    assert refusal(engine(max_directives=1), text).errors[0].extensions == {"code": "MAX_DIRECTIVES_EXCEEDED"}
    many = "{ " + " ".join(f"a{i}: hello" for i in range(31)) + " }"
    assert "30 aliases" in refusal(engine(), many).errors[0].message


def test_repeated_fields_bounded_before_validation() -> None:
    """Issue 18, item 3: 700 copies of ``node { id }`` would take seconds in the overlap rule."""
    text = "{ " + "node { id } " * 700 + "}"
    started = time.perf_counter()
    error = refusal(engine(), text)
    assert time.perf_counter() - started < 0.5
    assert error.errors[0].extensions == {"code": "MAX_MERGE_COMPARISONS_EXCEEDED"}
    # Merged across parents: 60 parents with 60 `id` each are 60*59/2 + 3600*3599/2 pairs.
    nested = "{ " + ("node { " + "id " * 60 + "} ") * 60 + "}"
    assert refusal(engine(max_complexity=None), nested).errors[0].extensions == {
        "code": "MAX_MERGE_COMPARISONS_EXCEEDED"}
    assert engine().prepare("{ " + "node { id } " * 20 + "}")  # a few repeats are fine


def test_cycles_and_unknown_fragments_left_to_validation() -> None:
    error = refusal(engine(), "{ node { ...A } }\nfragment A on Node { child { ...B } }\n"
                              "fragment B on Node { child { ...A } }")
    assert "Cannot spread fragment" in error.errors[0].message
    assert "Unknown fragment" in refusal(engine(), "{ node { ...Nope } }").errors[0].message


def test_document_size_before_parsing() -> None:
    limited = engine(max_document_size=100)
    error = refusal(limited, "#" + "x" * 200 + "\n{ hello }")
    assert error.kind == "document_too_large"
    assert error.errors[0].extensions == {"code": "DOCUMENT_TOO_LARGE"}
    assert len(limited.document_cache) == 0
    # Counted in UTF-8 bytes: 40 characters of 3 bytes are over 100.
    assert refusal(limited, "# " + "€" * 40 + "\n{ hello }").kind == "document_too_large"
    assert limited.prepare("# " + "€" * 20 + "\n{ hello }")


def test_document_size_before_apq_hashing_and_registration() -> None:
    store = LocalAPQStore(10, max_text_bytes=100)
    limited = Engine(SCHEMA, limits=DocumentLimits(max_document_size=100), apq_store=store)
    text = "#" + "x" * 200 + "\n{ hello }"
    apq = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(text)}}
    with pytest.raises(GraphQLRequestError) as info:
        asyncio.run(resolve_operation(limited, text, extensions=apq))
    assert info.value.kind == "document_too_large"
    assert len(store) == 0
    asyncio.run(store.set("x" * 64, text))  # the store refuses it on its own too
    assert len(store) == 0


def test_apq_store_bounded_in_bytes() -> None:
    store = LocalAPQStore(1000, max_bytes=10_000)
    for index in range(100):
        asyncio.run(store.set(f"{index:064d}", f"# {index:04d}" + "x" * 994 + "\n{ hello }"))
    assert store.bytes <= 10_000
    assert len(store) == 9
    assert asyncio.run(store.get(f"{99:064d}")) is not None
    assert asyncio.run(store.get(f"{0:064d}")) is None


def test_document_cache_bounded_in_bytes() -> None:
    limited = Engine(SCHEMA, cache_size=1000, cache_bytes=1_000_000)
    for index in range(300):  # distinct texts under any size limit: a long comment plus { hello }
        limited.prepare(f"# {index} " + "x" * 20_000 + "\n{ hello }")
    cache = limited.document_cache
    assert cache.bytes <= 1_000_000
    assert 10 <= len(cache) <= 30
    texts = list(cache)
    assert sum(entry_bytes(text, limited.parse_and_validate(text)) for text in texts) == cache.bytes
    # An entry larger than the whole budget is not kept.
    small = DocumentCache(10, 1000)
    small.get("# " + "x" * 2000 + "\n{ hello }", limited.parse_and_validate)
    assert len(small) == 0 and small.bytes == 0


def test_no_suggestions_without_introspection() -> None:
    open_engine = Engine(SCHEMA)
    closed = Engine(SCHEMA, introspection=False)
    assert "Did you mean 'hello'?" in refusal(open_engine, "{ helo }").errors[0].message
    assert refusal(closed, "{ helo }").errors[0].message == "Cannot query field 'helo' on type 'Query'."
    assert "Did you mean" not in refusal(closed, "{ node { idd } }").errors[0].message
    # Variable coercion at execution suggests enum values: not with introspection off either.
    operation = closed.prepare("query ($c: Color) { paint(color: $c) }")
    result = asyncio.run(closed.execute(operation, variables={"c": "REDD"}))
    assert result.errors and "Did you mean" not in result.errors[0].message
    assert "REDD" in result.errors[0].message
    open_operation = open_engine.prepare("query ($c: Color) { paint(color: $c) }")
    assert "Did you mean" in asyncio.run(open_engine.execute(open_operation, variables={"c": "REDD"})).errors[0].message


def test_limits_off_by_default_on_a_bare_engine() -> None:
    assert Engine(SCHEMA).prepare("{ " + " ".join(f"a{i}: hello" for i in range(40)) + " }")


def test_strawberry_schema_with_extensions_is_covered() -> None:
    """The engine checks the text before Strawberry's own execution (its delegate) sees it."""
    pytest.importorskip("strawberry")
    from django.test import override_settings

    from django_gql_channels.engine import get_engine
    from tests.settings import GQL_CHANNELS

    schema = "tests.engine.test_strawberry_extensions.extended_schema"
    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "SCHEMA": schema, "MAX_QUERY_COMPLEXITY": 10}):
        configured = get_engine()
        assert configured.delegate is not None
        fragment = "fragment N on Node { name child { name } }"
        fan = "{ node { ...N ...N child { ...N ...N } } }\n" + fragment
        assert refusal(configured, fan).errors[0].extensions == {"code": "MAX_QUERY_COMPLEXITY_EXCEEDED"}
        big = "#" + "x" * 100_001 + "\n{ hello }"
        assert refusal(configured, big).kind == "document_too_large"
        assert configured.prepare("{ hello }").text == "{ hello }"


def test_settings_checks() -> None:
    from django.test import override_settings

    from django_gql_channels.checks import collect_problems
    from tests.settings import GQL_CHANNELS

    def ids(**gql: object) -> set[str]:
        with override_settings(GQL_CHANNELS={**GQL_CHANNELS, **gql}):
            return {problem.id for problem in collect_problems()}

    assert not ids() & {"gql_channels.W080", "gql_channels.E007"}
    assert "gql_channels.W080" in ids(DOCUMENT_CACHE_BYTES=100_000)
    assert "gql_channels.W080" not in ids(DOCUMENT_CACHE_BYTES=100_000, MAX_DOCUMENT_SIZE=None)
    assert "gql_channels.E007" in ids(MAX_ALIASES=0)
    assert "gql_channels.E007" in ids(MAX_QUERY_COMPLEXITY="5000")


def test_settings_reach_the_engine() -> None:
    from django.test import override_settings

    from django_gql_channels.engine import get_engine
    from tests.settings import GQL_CHANNELS

    with override_settings(GQL_CHANNELS={**GQL_CHANNELS, "MAX_ALIASES": 3, "DOCUMENT_CACHE_BYTES": 5_000_000}):
        configured = get_engine()
        assert configured.limits == DocumentLimits(100_000, 3, 50, 5000, 5000)
        assert configured.document_cache.max_bytes == 5_000_000
