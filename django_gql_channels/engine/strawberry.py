"""Strawberry schemas' own extensions (``strawberry.Schema(extensions=[...])``).

Strawberry runs a schema's extensions inside its own ``Schema.execute`` and
``Schema.subscribe``; executing the graphql-core schema inside it, as the
engine does, skips every one of them without a word. This module names them,
so that nothing is skipped silently.

Strawberry is optional: nothing here imports it.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from ..schema import schema_library, source_schema

__all__ = ["DIRECTIVES_EXTENSION", "extension_name", "extension_names", "has_custom_directives", "schema_extensions",
           "unsupported_extensions"]


#: What :func:`extension_names` calls the extension Strawberry adds itself for ``directives=[...]``.
DIRECTIVES_EXTENSION = "DirectivesExtension"


def schema_extensions(schema: GraphQLSchema) -> tuple[Any, ...]:
    """The extensions a Strawberry schema was built with (classes, factories or instances); ``()`` otherwise."""
    if schema_library(schema) != "strawberry":
        return ()
    return tuple(getattr(source_schema(schema), "extensions", None) or ())


def has_custom_directives(schema: GraphQLSchema) -> bool:
    """Whether Strawberry would add its ``DirectivesExtension`` (the schema has ``directives=[...]``)."""
    return schema_library(schema) == "strawberry" and bool(getattr(source_schema(schema), "directives", None))


def extension_name(extension: Any) -> str:
    """An extension's class name, whether it is given as a class, an instance or a factory.

    A factory (``lambda: QueryDepthLimiter(max_depth=5)``) is called to learn
    what it builds, as Strawberry calls it for every operation.
    """
    if isinstance(extension, type):
        return extension.__name__
    if callable(extension) and hasattr(extension, "__code__"):  # a factory function
        try:
            return type(extension()).__name__
        except Exception:  # noqa: BLE001 - only naming it; Strawberry would fail on it per request
            return str(getattr(extension, "__qualname__", extension))
    return type(extension).__name__


def extension_names(schema: GraphQLSchema) -> list[str]:
    """The class names of every extension Strawberry would run for ``schema``, its own included."""
    names = [extension_name(extension) for extension in schema_extensions(schema)]
    if has_custom_directives(schema):
        names.append(DIRECTIVES_EXTENSION)
    return names


def unsupported_extensions(schema: GraphQLSchema) -> list[str]:
    """Names of the schema's extensions the engine does not run (each one, for now)."""
    return extension_names(schema)
