"""Find the graphql-core schema inside any supported schema object.

Strawberry, Graphene and Ariadne are optional: they are recognised by the
attributes their schema objects carry, never imported here.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

__all__ = ["NotASchemaError", "get_graphql_schema"]


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
