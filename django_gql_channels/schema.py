"""Find the graphql-core schema inside any supported schema object.

Strawberry, Graphene and Ariadne are optional: they are recognised by the
attributes their schema objects carry, never imported here.
"""

from __future__ import annotations

from typing import Any, Literal

from graphql import GraphQLSchema

__all__ = ["NotASchemaError", "SchemaLibrary", "get_graphql_schema", "schema_library", "source_schema"]


class NotASchemaError(TypeError):
    """The object is not a schema this package knows how to serve."""


def get_graphql_schema(obj: Any) -> GraphQLSchema:
    """Return the :class:`graphql.GraphQLSchema` that ``obj`` is or wraps.

    - graphql-core and Ariadne (``make_executable_schema``): the object itself;
    - Strawberry (``strawberry.Schema``): its ``_schema``;
    - Graphene 3 (``graphene.Schema``): its ``graphql_schema``.
    """
    if isinstance(obj, GraphQLSchema):
        return obj
    module = type(obj).__module__ or ""
    for attribute in ("_schema", "graphql_schema"):
        inner = getattr(obj, attribute, None)
        if isinstance(inner, GraphQLSchema):
            return inner
    if module.startswith("graphene"):
        raise NotASchemaError(
            f"{type(obj).__qualname__} from {module} wraps no graphql-core 3 schema "
            "(graphene 3 or newer is needed)."
        )
    raise NotASchemaError(
        f"{obj!r} (a {module}.{type(obj).__qualname__}) is not a GraphQL schema."
    )


#: Which library built a schema: it decides defaults (``SYNC_EXECUTION`` for Graphene) and adapters.
SchemaLibrary = Literal["graphene", "strawberry", "graphql-core"]


def schema_library(schema: GraphQLSchema) -> SchemaLibrary:
    """The library that built ``schema`` (unwrapped or not), told from marks each leaves on its types.

    Graphene's types carry their ``graphene_type``; Strawberry keeps its schema object on the
    graphql-core one. Ariadne builds plain graphql-core schemas, and so counts as graphql-core.
    """
    if getattr(schema, "_strawberry_schema", None) is not None:
        return "strawberry"
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None and getattr(root, "graphene_type", None) is not None:
            return "graphene"
    return "graphql-core"


def source_schema(schema: GraphQLSchema) -> Any:
    """The library's own schema object ``schema`` was unwrapped from, when it can be found (Strawberry's)."""
    return getattr(schema, "_strawberry_schema", None) or schema
