"""Strawberry schemas' own extensions (``strawberry.Schema(extensions=[...])``).

Strawberry runs a schema's extensions inside its own ``Schema.execute`` and
``Schema.subscribe``; executing the graphql-core schema inside it, as the
engine does for every other schema, would skip every one of them without a
word. So the engine hands a Strawberry schema that has extensions to
:class:`StrawberryDelegate`, which runs each operation through Strawberry's
own methods; a schema without extensions keeps the engine's own execution and
pays nothing. :func:`unsupported_extensions` names what still cannot run
(settings Strawberry's execution cannot honour), for the system checks.

Strawberry is optional: nothing here imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from graphql import ExecutionResult, GraphQLSchema, print_ast

from ..schema import schema_library, source_schema
from .documents import Operation

__all__ = ["DIRECTIVES_EXTENSION", "StrawberryDelegate", "extension_name", "extension_names", "has_custom_directives",
           "schema_extensions", "unsupported_extensions"]


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


def unsupported_extensions(schema: GraphQLSchema, *, sync_execution: bool | None = None,
                           middleware: bool = False) -> list[tuple[str, str]]:
    """``(name, reason)`` for each of the schema's extensions that cannot run under these settings.

    :class:`StrawberryDelegate` runs them all through Strawberry's own
    ``Schema.execute`` / ``subscribe``, which take neither graphql-core
    middleware nor Django's sync thread: with ``MIDDLEWARE`` set, or
    ``SYNC_EXECUTION`` forced on, none of them would run as Strawberry runs them.
    """
    if middleware:
        reason = ("MIDDLEWARE is set, and Strawberry's execution (which runs the extensions) "
                  "takes no graphql-core middleware")
    elif sync_execution:
        reason = ("SYNC_EXECUTION is on, and Strawberry's execution (which runs the extensions) "
                  "cannot run in Django's sync thread")
    else:
        return []
    return [(name, reason) for name in extension_names(schema)]


class StrawberryDelegate:
    """Runs operations through Strawberry's own ``Schema.execute`` and ``Schema.subscribe``.

    The :class:`~.execution.Engine` hands a Strawberry schema with extensions
    to this, and only such a schema: Strawberry then parses, validates and
    executes the operation itself, with its extensions' hooks in its own order
    (``on_operation``, ``on_parse``, ``on_validate``, ``on_execute``,
    ``resolve``, ``get_results``) and per subscription event as Strawberry
    does. The engine's own checks (limits, persisted documents, its
    validation rules) have run before, on the cached document; results come
    back as graphql-core ``ExecutionResult`` objects, formatted by the engine.
    """

    __slots__ = ("schema",)

    def __init__(self, strawberry_schema: Any) -> None:
        self.schema = strawberry_schema

    async def execute(self, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                      root_value: Any) -> ExecutionResult:
        result = await self.schema.execute(
            _text(operation), variable_values=_variables(variables), context_value=context,
            root_value=root_value, operation_name=operation.name,
        )
        return _converted(result)

    async def subscribe(self, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                        root_value: Any, on_confirm: Callable[[], None] | None) -> AsyncIterator[Any] | ExecutionResult:
        """A stream of results, or one result with the errors that kept the subscription from starting.

        Strawberry yields those errors (its validation hooks' refusals, a
        subscribe resolver that raised) as the stream's first item, a
        ``PreExecutionError``: its first item is awaited here to tell them
        apart, which is when the source produced its first event (so
        ``on_confirm`` is called then, as for the engine's own subscriptions).
        """
        stream = await self.schema.subscribe(
            _text(operation), variable_values=_variables(variables), context_value=context,
            root_value=root_value, operation_name=operation.name,
        )
        if not hasattr(stream, "__anext__"):  # an ExecutionResult, on Strawberry versions that return one
            return _converted(stream)
        try:
            first = await stream.__anext__()
        except StopAsyncIteration:
            first = None
        except BaseException:
            await stream.aclose()
            raise
        finally:
            if on_confirm is not None:
                on_confirm()
        if first is None:
            await stream.aclose()
            return _EmptyStream()
        if type(first).__name__ == "PreExecutionError":  # Strawberry's, told by name: Strawberry stays optional
            await stream.aclose()
            return _converted(first)
        return _Results(first, stream)


def _text(operation: Operation) -> str:
    """The text Strawberry parses: the document's own (every prepared operation keeps it), else its AST printed."""
    return operation.text if operation.text is not None else print_ast(operation.document)


def _variables(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return variables if variables is None or isinstance(variables, dict) else dict(variables)


def _converted(result: Any) -> ExecutionResult:
    """Strawberry's result (a dataclass of its own) as graphql-core's, which every transport formats."""
    if isinstance(result, ExecutionResult):
        return result
    return ExecutionResult(result.data, result.errors, getattr(result, "extensions", None) or None)


class _Results:
    """Strawberry's subscription stream, its first result already taken, as graphql-core results."""

    __slots__ = ("_first", "_stream")

    def __init__(self, first: Any, stream: Any) -> None:
        self._first: Any = first
        self._stream = stream

    def __aiter__(self) -> _Results:
        return self

    async def __anext__(self) -> ExecutionResult:
        first = self._first
        if first is not None:
            self._first = None
            return _converted(first)
        return _converted(await self._stream.__anext__())

    async def aclose(self) -> None:
        self._first = None
        await self._stream.aclose()


class _EmptyStream:
    """A subscription whose source ended before its first event."""

    def __aiter__(self) -> _EmptyStream:
        return self

    async def __anext__(self) -> ExecutionResult:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        return None
