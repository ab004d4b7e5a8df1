"""The ``@live`` directive (``LIVE_QUERIES``): declaring it, and reading it off an operation.

``directive @live(throttle: Int) on QUERY`` follows ``@n1ru4l/graphql-live-query``,
so that library's clients (and GraphiQL) can send live queries. Only the
declaration and the reading are here: running a live query (re-running it when
what it read changes) is :mod:`django_gql_channels.live`'s, outside the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DirectiveLocation,
    DocumentNode,
    GraphQLArgument,
    GraphQLDirective,
    GraphQLInt,
    GraphQLSchema,
    print_ast,
    value_from_ast,
)

from .documents import Operation

__all__ = ["LIVE_DIRECTIVE", "LIVE_OVER_HTTP", "is_live", "live_throttle", "with_live_directive", "without_live"]

LIVE_DIRECTIVE = GraphQLDirective(
    name="live",
    locations=[DirectiveLocation.QUERY],
    args={
        "throttle": GraphQLArgument(
            GraphQLInt,
            description="Milliseconds the client wants between two results at least; the server's "
                        "LIVE_QUERY_THROTTLE is the floor.",
        ),
    },
    description="Run this query as a live query: a new full result whenever the data it read may have changed.",
)

#: Why a plain HTTP request cannot run a live query (one request, one response).
LIVE_OVER_HTTP = ("Live queries (@live) send a new result whenever their data changes: run them over a "
                  "WebSocket or Server-Sent Events (Accept: text/event-stream), not plain HTTP.")


def with_live_directive(schema: GraphQLSchema) -> GraphQLSchema:
    """``schema`` with ``@live`` declared (a copy: the user's schema object stays as it was)."""
    if any(directive.name == "live" for directive in schema.directives):
        return schema
    kwargs = schema.to_kwargs()
    kwargs["directives"] = (*schema.directives, LIVE_DIRECTIVE)
    copy = GraphQLSchema(**kwargs)
    # Marks libraries leave on their schema (Strawberry's ``_strawberry_schema``) travel along.
    for name, value in vars(schema).items():
        if name not in vars(copy):
            setattr(copy, name, value)
    return copy


def is_live(operation: Operation) -> bool:
    """Whether ``operation`` is a query marked ``@live``."""
    if operation.kind != "query":
        return False
    return any(directive.name.value == "live" for directive in operation.definition.directives or ())


def live_throttle(operation: Operation, variables: Mapping[str, Any] | None) -> float | None:
    """The throttle (seconds) the client asked for with ``@live(throttle: <ms>)``, or None."""
    for directive in operation.definition.directives or ():
        if directive.name.value != "live":
            continue
        for argument in directive.arguments or ():
            if argument.name.value == "throttle":
                value = value_from_ast(argument.value, GraphQLInt, dict(variables or {}))
                if isinstance(value, int) and value >= 0:
                    return value / 1000
    return None


def without_live(operation: Operation) -> Operation:
    """``operation`` with its ``@live`` removed, text included.

    What a Strawberry schema with extensions is handed (it validates the text
    against its own schema, which does not declare ``@live``); the directive
    changes nothing in one execution.
    """
    original = operation.definition
    # A new node, not a changed copy: graphql-core 3.3's nodes are frozen.
    fields = {key: getattr(original, key) for key in type(original).keys}
    fields["directives"] = tuple(d for d in original.directives or () if d.name.value != "live")
    definition = type(original)(**fields)
    document = DocumentNode(definitions=tuple(definition if d is original else d
                                              for d in operation.document.definitions))
    return Operation(document, definition, print_ast(document))
