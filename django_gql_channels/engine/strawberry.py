"""Strawberry schemas' own extensions (``strawberry.Schema(extensions=[...])``).

Strawberry runs a schema's extensions inside its own ``Schema.execute`` and
``Schema.subscribe``; executing the graphql-core schema inside it, as the
engine does for every other schema, would skip every one of them without a
word. So the engine hands a Strawberry schema that has extensions to
:class:`StrawberryDelegate`, which runs each operation through Strawberry's
own methods; a schema without extensions keeps the engine's own execution and
pays nothing. :func:`unsupported_extensions` names what still cannot run
(settings Strawberry's execution cannot honour), for the system checks.

Strawberry is handed the text, but need not parse and validate it again on
every request: the delegate runs a copy of the schema whose extensions end
with one of ours (:func:`_document_reuse_extension`), which gives Strawberry
the engine's cached document in ``on_parse`` and skips Strawberry's
validation in ``on_validate`` when it would run the rules it has already run
on that document, with no error. It steps aside whenever reuse could change
what Strawberry does: an extension that parsed already (``ParserCache``) or
set parse options (``MaxTokensLimiter``: its token limit is the parser's), or
that validated already (``ValidationCache``) or added rules
(``QueryDepthLimiter``, ``MaxAliasesLimiter``, ``AddValidationRules``...): those
parse or validate as they would under Strawberry's views.

Strawberry is optional: nothing here imports it.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLSchema, print_ast, specified_rules

from ..schema import get_graphql_schema, schema_library, source_schema
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


class _Reuse:
    """What the running operation offers Strawberry: its text, its cached document, the delegate's validations."""

    __slots__ = ("document", "text", "validations")

    def __init__(self, text: str, document: DocumentNode, validations: _Validations) -> None:
        self.text = text
        self.document = document
        self.validations = validations


#: The operation the delegate is running in this task, for the reuse extension.
_running: ContextVar[_Reuse | None] = ContextVar("gql_channels_strawberry_reuse", default=None)
#: The rules Strawberry validates with when no extension adds any.
_DEFAULT_RULES = tuple(specified_rules)


class _Validations:
    """Documents Strawberry's own validation found valid (by identity; bounded)."""

    __slots__ = ("_valid", "_validate", "schema")
    _SIZE = 1000

    def __init__(self, schema: GraphQLSchema, validate: Callable[..., list[Any]]) -> None:
        self.schema = schema
        self._validate = validate
        self._valid: dict[int, DocumentNode] = {}

    def is_valid(self, document: DocumentNode) -> bool:
        """Whether Strawberry's validation of ``document`` (default rules) has no error; run once per document."""
        if self._valid.get(id(document)) is document:
            return True
        if self._validate(self.schema, document, _DEFAULT_RULES):
            return False  # errors: Strawberry reports them itself, every time, as it always does
        if len(self._valid) >= self._SIZE:
            self._valid.clear()
        self._valid[id(document)] = document
        return True


_extension_class: list[Any] = []


def _document_reuse_extension() -> Any:
    """The ``SchemaExtension`` class that hands Strawberry the engine's document (see the module); built once."""
    if _extension_class:
        return _extension_class[0]
    from strawberry.extensions import SchemaExtension

    class DocumentReuse(SchemaExtension):
        """django-gql-channels' cached document for Strawberry's execution; inert outside the delegate."""

        def on_parse(self) -> Iterator[None]:
            reuse = _running.get()
            context = self.execution_context
            # Last of the extensions: what ran before has had its say (ParserCache, parse options).
            if (reuse is not None and context.graphql_document is None and not context.parse_options
                    and context.query is reuse.text):
                context.graphql_document = reuse.document
            yield

        def on_validate(self) -> Iterator[None]:
            reuse = _running.get()
            context = self.execution_context
            if (reuse is not None and context.pre_execution_errors is None and context.graphql_document is not None
                    and context.validation_rules == _DEFAULT_RULES
                    and reuse.validations.is_valid(context.graphql_document)):
                context.pre_execution_errors = []  # validated, no errors: as ValidationCache marks it
            yield

    _extension_class.append(DocumentReuse)
    return DocumentReuse


def _reusing_schema(strawberry_schema: Any) -> tuple[Any, _Validations | None]:
    """A shallow copy of the schema whose extensions end with the reuse extension (the user's stays as it is)."""
    try:
        from strawberry.schema.schema import validate_document
    except ImportError:  # another Strawberry: run it as it is
        return strawberry_schema, None
    reusing = copy.copy(strawberry_schema)
    extensions = strawberry_schema.extensions
    reusing.extensions = (*extensions, _document_reuse_extension())
    if isinstance(extensions, list):
        reusing.extensions = list(reusing.extensions)
    return reusing, _Validations(get_graphql_schema(strawberry_schema), validate_document)


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

    __slots__ = ("_runs", "_validations", "schema")

    def __init__(self, strawberry_schema: Any) -> None:
        self.schema = strawberry_schema
        #: What runs the operations: the schema with the reuse extension last (see the module).
        self._runs, self._validations = _reusing_schema(strawberry_schema)

    def _offer(self, operation: Operation, text: str) -> Any:
        if self._validations is None:
            return None
        return _running.set(_Reuse(text, operation.document, self._validations))

    async def execute(self, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                      root_value: Any) -> ExecutionResult:
        text = _text(operation)
        token = self._offer(operation, text)
        try:
            result = await self._runs.execute(
                text, variable_values=_variables(variables), context_value=context,
                root_value=root_value, operation_name=operation.name,
            )
        finally:
            if token is not None:
                _running.reset(token)
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
        text = _text(operation)
        # Strawberry parses and validates on the stream's first step: offered until then.
        token = self._offer(operation, text)
        try:
            stream = await self._runs.subscribe(
                text, variable_values=_variables(variables), context_value=context,
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
        finally:
            if token is not None:
                _running.reset(token)
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
