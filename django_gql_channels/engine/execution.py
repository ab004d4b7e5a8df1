"""The protocol-free GraphQL engine every transport shares.

A transport hands the engine a document text and an operation name and gets
back an :class:`Operation` (parsed, validated and selected, from a bounded LRU
cache keyed by the text) or a :class:`~.exceptions.GraphQLRequestError`. It
then executes or subscribes to that operation and formats results with
:meth:`Engine.format_result`. Nothing here knows about HTTP or WebSockets.

Transports take requests through
:func:`~django_gql_channels.persisted.resolve_operation` rather than
:meth:`Engine.prepare`: it also accepts a ``documentId`` or an APQ hash, and
enforces ``ONLY_PERSISTED_DOCUMENTS``.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Literal, Protocol, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    ValidationRule,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.error import GraphQLSyntaxError

try:  # graphql-core 3.3: build the executor once, map the source through it
    from graphql.execution import create_source_event_stream as _create_source_event_stream
    from graphql.execution import execute_subscription_event as _execute_subscription_event
    from graphql.execution import map_source_to_response_event as _map_source_to_response_event
    from graphql.execution.executor_throwing_on_incremental import (
        ExecutorThrowingOnIncremental as _ExecutorThrowingOnIncremental,
    )

    _GRAPHQL_CORE_3_3 = True
except ImportError:  # graphql-core 3.2
    _GRAPHQL_CORE_3_3 = False
    from graphql.execution import create_source_event_stream as _create_source_event_stream_3_2

from ..conf import SettingProblem, SettingsError, gql_settings, on_reload
from ..exceptions import GraphQLRequestError
from ..schema import get_graphql_schema
from .persisted import APQStore, DjangoCacheAPQStore, LocalAPQStore, ManifestError, PersistedDocuments, load_manifest

__all__ = ["INTERNAL_ERROR_CODE", "INTERNAL_ERROR_MESSAGE", "Engine", "EventMapper", "Operation", "OperationKind",
           "engine_options", "get_engine", "max_depth_rule", "mask_errors_setting"]

logger = logging.getLogger("django_gql_channels")

OperationKind = Literal["query", "mutation", "subscription"]

#: What a client sees of an unexpected exception while errors are masked.
INTERNAL_ERROR_MESSAGE = "Internal server error"
INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"


class _CreateSourceEventStream32(Protocol):
    """graphql-core 3.2's ``create_source_event_stream``; type checkers see the installed
    graphql-core (3.3 in CI), whose function takes an executor instead."""

    def __call__(self, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None,
                 context_value: Any = None, variable_values: Mapping[str, Any] | None = None,
                 operation_name: str | None = None) -> Awaitable[AsyncIterable[Any] | ExecutionResult]: ...


_PARSE_SUPPORTS_MAX_TOKENS = "max_tokens" in inspect.signature(parse).parameters


class Operation:
    """A valid operation picked out of a cached document; immutable and shared."""

    __slots__ = ("definition", "document", "kind", "name")

    def __init__(self, document: DocumentNode, definition: OperationDefinitionNode) -> None:
        self.document = document
        self.definition = definition
        self.kind: OperationKind = definition.operation.value
        self.name: str | None = definition.name.value if definition.name else None

    def __repr__(self) -> str:
        return f"<Operation {self.kind} {self.name or '(anonymous)'}>"


class _CachedDocument:
    """Outcome of parsing and validating one document text (errors included)."""

    __slots__ = ("document", "error", "only", "operations")

    def __init__(self, document: DocumentNode | None, error: GraphQLRequestError | None) -> None:
        self.document = document
        self.error = error
        self.operations: dict[str | None, Operation] = {}
        if document is not None and error is None:
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    operation = Operation(document, definition)
                    self.operations[operation.name] = operation
        #: The document's one operation, picked without a name (the common case, kept at hand).
        self.only = next(iter(self.operations.values())) if len(self.operations) == 1 else None

    def select(self, operation_name: str | None) -> Operation:
        if not operation_name and self.only is not None:
            return self.only
        operations = self.operations
        if operation_name:
            try:
                return operations[operation_name]
            except KeyError:
                raise GraphQLRequestError(
                    [GraphQLError(f"Unknown operation named '{operation_name}'.")], "operation"
                ) from None
        if len(operations) == 1:
            return next(iter(operations.values()))
        if not operations:
            message = "Must provide an operation."
        else:
            message = "Must provide operation name if query contains multiple operations."
        raise GraphQLRequestError([GraphQLError(message)], "operation")


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields."""

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self._fragment_depths: dict[str, int] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = self._depth(node.selection_set, frozenset())
            if depth > max_depth:
                name = f"'{node.name.value}'" if node.name else "Operation"
                self.report_error(
                    GraphQLError(f"{name} is {depth} levels deep, more than the {max_depth} allowed.", node)
                )

        def _depth(self, selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
            if selection_set is None:
                return 0
            deepest = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    depth = 1 + self._depth(selection.selection_set, visiting)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, visiting)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = self._spread_depth(selection.name.value, visiting)
                else:  # pragma: no cover - no other selection kinds exist
                    depth = 0
                deepest = max(deepest, depth)
                if deepest > max_depth:  # deep enough to refuse; stop walking
                    break
            return deepest

        def _spread_depth(self, name: str, visiting: frozenset[str]) -> int:
            if name in self._fragment_depths:
                return self._fragment_depths[name]
            if name in visiting:  # a cycle: NoFragmentCyclesRule reports it
                return 0
            fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
            depth = self._depth(fragment.selection_set, visiting | {name}) if fragment else 0
            self._fragment_depths[name] = depth
            return depth

    return MaxDepthRule


class _ConfirmingSource:
    """The subscribe resolver's stream, telling ``on_confirm`` when its first item arrives.

    Every item passes through unchanged (a leading ``None`` included: it is
    executed and sent like any other). After the first item ``__anext__``
    hands out the source's own awaitable, so a running subscription pays
    nothing for this wrapper.
    """

    __slots__ = ("_iterator", "_on_confirm", "_started")

    def __init__(self, source: AsyncIterable[Any], on_confirm: Callable[[], None] | None) -> None:
        self._iterator = source.__aiter__()
        self._on_confirm = on_confirm
        self._started = on_confirm is None

    def __aiter__(self) -> _ConfirmingSource:
        return self

    def __anext__(self) -> Awaitable[Any]:
        if self._started:
            return self._iterator.__anext__()
        return self._first()

    async def _first(self) -> Any:
        try:
            return await self._iterator.__anext__()
        finally:
            # Whatever happened (an item, the end, an error), the subscription
            # is no longer starting.
            self._started = True
            if self._on_confirm is not None:
                on_confirm, self._on_confirm = self._on_confirm, None
                on_confirm()

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()


#: ``map_event(event, execute)``: what a subscription's stream yields for one
#: source event, given the function that executes the selection set against it.
EventMapper = Callable[[Any, Callable[[Any], Awaitable[ExecutionResult]]], Awaitable[Any]]


async def _map_events(
    source: _ConfirmingSource,
    execute_event: Callable[[Any], Awaitable[ExecutionResult]],
    map_event: EventMapper | None = None,
) -> AsyncIterator[Any]:
    """graphql-core 3.2's MapSourceToResponseEvent, without a task per event."""
    try:
        if map_event is None:
            async for payload in source:
                yield await execute_event(payload)
        else:
            async for payload in source:
                yield await map_event(payload, execute_event)
    finally:
        await source.aclose()


class Engine:
    """Parse, validate (cached), select, execute and subscribe; format errors."""

    def __init__(
        self,
        schema: Any,
        *,
        debug: bool = False,
        validation_rules: Collection[type[ValidationRule]] = (),
        max_depth: int | None = None,
        max_tokens: int | None = None,
        introspection: bool = True,
        cache_size: int = 1000,
        persisted_documents: Mapping[str, str] | None = None,
        only_persisted_documents: bool = False,
        apq_store: APQStore | None = None,
        mask_errors: bool = False,
    ) -> None:
        self.schema: GraphQLSchema = get_graphql_schema(schema)
        self.debug = debug
        #: Unexpected exceptions reach clients as "Internal server error" only.
        self.mask_errors = mask_errors
        self.max_tokens = max_tokens
        rules = list(specified_rules)
        if max_depth is not None:
            rules.append(max_depth_rule(max_depth))
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        rules.extend(validation_rules)
        self.validation_rules = tuple(rules)
        self.cache_size = cache_size
        self._documents: OrderedDict[str, _CachedDocument] = OrderedDict()
        #: The manifest's documents (``PERSISTED_DOCUMENTS``), parsed and validated
        #: here, once, and never evicted; see :mod:`.persisted`.
        self.persisted_documents: PersistedDocuments | None = (
            None if persisted_documents is None else PersistedDocuments(self, persisted_documents)
        )
        #: Refuse free-form query text that is not a manifest document.
        self.only_persisted_documents = only_persisted_documents
        #: Where automatic persisted queries are registered (None: APQ off).
        self.apq_store = apq_store

    # -- preparing -----------------------------------------------------------

    def prepare(self, query: str, operation_name: str | None = None) -> Operation:
        """The operation ``operation_name`` of ``query``, parsed and validated once.

        Raises :class:`GraphQLRequestError` for syntax and validation errors
        (cached like successes) and for a missing or unknown operation.
        """
        documents = self._documents
        cached = documents.get(query)
        if cached is None:
            cached = self._parse_and_validate(query)
            if self.cache_size:
                documents[query] = cached
                if len(documents) > self.cache_size:
                    documents.popitem(last=False)
        elif self.cache_size:
            documents.move_to_end(query)
        if cached.error is not None:
            raise cached.error
        return cached.select(operation_name)

    def parse(self, source: str | Source) -> DocumentNode:
        """Parse a document within this engine's token limit (no caching, no validation)."""
        if self.max_tokens is not None and _PARSE_SUPPORTS_MAX_TOKENS:
            return parse(source, max_tokens=self.max_tokens)
        return parse(source)

    def _parse_and_validate(self, query: str) -> _CachedDocument:
        try:
            document = self.parse(query)
        except GraphQLSyntaxError as error:
            return _CachedDocument(None, GraphQLRequestError([error], "syntax"))
        errors = validate(self.schema, document, self.validation_rules)
        if errors:
            return _CachedDocument(document, GraphQLRequestError(errors, "validation"))
        return _CachedDocument(document, None)

    def clear_cache(self) -> None:
        self._documents.clear()

    # -- running -------------------------------------------------------------

    async def execute(
        self,
        operation: Operation,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Any = None,
        root_value: Any = None,
    ) -> ExecutionResult:
        """Run a query or mutation; resolvers may be sync or async."""
        result: Any
        if _GRAPHQL_CORE_3_3:
            # graphql-core 3.3: what ``execute()`` does, minus the incremental
            # delivery machinery it sets up per call and then refuses to use
            # (``@defer``/``@stream`` become errors in the result here too).
            executor = _ExecutorThrowingOnIncremental.build(
                self.schema, operation.document, root_value, context, variables, operation.name  # type: ignore[arg-type]
            )
            result = ExecutionResult(None, executor) if isinstance(executor, list) else executor.execute_operation()
        else:
            result = execute(
                self.schema,
                operation.document,
                root_value,
                context,
                variables,  # type: ignore[arg-type]
                operation.name,
            )
        if result.__class__ is not ExecutionResult and inspect.isawaitable(result):  # async resolvers
            result = await result
        if result.errors:
            self._log_errors(result.errors, operation)
        return result

    async def subscribe(
        self,
        operation: Operation,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Any = None,
        root_value: Any = None,
        on_confirm: Callable[[], None] | None = None,
        map_event: EventMapper | None = None,
    ) -> AsyncIterator[Any] | ExecutionResult:
        """Start a subscription: a stream of results, or one result with errors.

        The field's subscribe resolver (usually an async generator) gives the
        source stream; each item it yields is executed against the selection
        set and becomes one result. A leading ``None`` is no exception: as in
        the Channels tutorial, a generator that yields ``None`` once it
        listens::

            async with ws.listen_to_channel("chat.message", groups=[...]) as messages:
                yield None          # listening now: the client gets a null result
                async for message in messages:
                    yield message

        gives its client ``{"data": {"<field>": null}}`` first (the field
        resolves against a ``None`` root; a non-null field type turns that
        into the usual "Cannot return null" error), so the client knows the
        subscription is live. ``on_confirm`` is called once, when the source
        produces its first item (whatever it is) or ends, before that item is
        executed.

        With ``map_event``, the stream yields ``await map_event(event,
        execute)`` for each source event instead of the event's result
        (:mod:`.shared_results` answers from results other subscribers
        already computed).

        The stream's ``aclose()`` closes the source generator (its ``finally``
        blocks run); an exception raised by the source propagates out of
        ``__anext__``.
        """
        document = operation.document
        name = operation.name
        if _GRAPHQL_CORE_3_3:
            executor = _ExecutorThrowingOnIncremental.build(
                self.schema, document, root_value, context, variables, name  # type: ignore[arg-type]
            )
            if isinstance(executor, list):
                return self._errors_result(executor, operation)
            source = _create_source_event_stream(executor)
            if inspect.isawaitable(source):
                source = await source
            if isinstance(source, ExecutionResult):
                return self._errors_result(source.errors or [], operation)
            log_errors = self._log_errors

            def execute_logged(event_executor: Any) -> Any:
                result = _execute_subscription_event(event_executor)
                if inspect.isawaitable(result):
                    return _logged(result, log_errors, operation)
                if result.errors:
                    log_errors(result.errors, operation)
                return result

            if map_event is None:
                return _map_source_to_response_event(executor, _ConfirmingSource(source, on_confirm), execute_logged)
            build_event_executor = executor.build_per_event_executor

            async def execute_built(payload: Any) -> ExecutionResult:
                result = execute_logged(build_event_executor(payload))
                return await result if result.__class__ is not ExecutionResult else result

            return _map_events(_ConfirmingSource(source, on_confirm), execute_built, map_event)
        create_source_event_stream = cast(_CreateSourceEventStream32, _create_source_event_stream_3_2)
        source = await create_source_event_stream(  # graphql-core 3.2
            self.schema, document, root_value, context, variables, name
        )
        if isinstance(source, ExecutionResult):
            return self._errors_result(source.errors or [], operation)
        schema = self.schema

        async def execute_event(payload: Any) -> ExecutionResult:
            outcome = execute(schema, document, payload, context, variables, name)  # type: ignore[arg-type]
            result: ExecutionResult = await outcome if inspect.isawaitable(outcome) else outcome
            if result.errors:
                self._log_errors(result.errors, operation)
            return result

        return _map_events(_ConfirmingSource(source, on_confirm), execute_event, map_event)

    def _errors_result(self, errors: Collection[GraphQLError], operation: Operation) -> ExecutionResult:
        result = ExecutionResult(None, list(errors))
        if errors:
            self._log_errors(errors, operation)
        return result

    # -- formatting ----------------------------------------------------------

    def format_error(self, error: GraphQLError) -> dict[str, Any]:
        """One error as the client sees it: masked when it hides an unexpected exception.

        An error hides one when a resolver (``path`` set) raised something
        that is not a ``GraphQLError``. Path-less errors wrapping a plain
        exception are graphql-core's input coercion reports (a scalar's
        ``parse_value`` refusing a variable), written for the client, so they
        pass; the transports mask the rest with :meth:`format_exception`.
        """
        original = error.original_error
        if (self.mask_errors and original is not None and not isinstance(original, GraphQLError)
                and error.path is not None):
            return _masked([location.formatted for location in error.locations] if error.locations else None,
                           error.path)
        formatted = error.formatted
        if self.debug and original is not None and not isinstance(original, GraphQLError):
            extensions = dict(formatted.get("extensions") or {})
            extensions["exception"] = {
                "type": type(original).__qualname__,
                "stacktrace": traceback.format_exception(type(original), original, original.__traceback__),
            }
            formatted["extensions"] = extensions
        return formatted  # type: ignore[return-value]

    def format_errors(self, errors: Collection[GraphQLError]) -> list[dict[str, Any]]:
        return [self.format_error(error) for error in errors]

    def format_exception(self, exc: BaseException) -> dict[str, Any]:
        """An exception raised outside graphql-core's execution (a subscription's stream, the layer).

        A ``GraphQLError`` passes as raised; anything else is masked when
        errors are, and otherwise reported with its text.
        """
        if isinstance(exc, GraphQLError):
            return self.format_error(exc)
        if self.mask_errors:
            return _masked(None, None)
        # graphql-core keeps whatever it is given; its annotation only says Exception.
        original = cast(Exception, exc)
        return self.format_error(GraphQLError(str(exc) or type(exc).__name__, original_error=original))

    def format_result(self, result: ExecutionResult) -> dict[str, Any]:
        """The response map of the GraphQL spec: ``data``, then ``errors`` and ``extensions`` if any."""
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = self.format_errors(result.errors)
        if result.extensions:
            response["extensions"] = result.extensions
        return response

    @staticmethod
    def _log_errors(errors: Collection[GraphQLError], operation: Operation | None = None) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, GraphQLError):
                log_exception(original, operation, error.path)


def log_exception(exc: BaseException, operation: Operation | None, path: Any = None) -> None:
    """Log an unexpected exception in full, with the operation and the field path it broke."""
    where = ".".join(str(key) for key in path) if path else "(no field)"
    logger.error("Error in GraphQL operation %s at %s: %s: %s", _describe(operation), where,
                 type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__))


def _describe(operation: Operation | None) -> str:
    if operation is None:
        return "(unknown)"
    return f"{operation.kind} {operation.name or '(anonymous)'}"


def _masked(locations: Sequence[Mapping[str, object]] | None, path: list[str | int] | None) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": INTERNAL_ERROR_MESSAGE}
    if locations:
        formatted["locations"] = locations
    if path is not None:
        formatted["path"] = path
    formatted["extensions"] = {"code": INTERNAL_ERROR_CODE}
    return formatted


async def _logged(result: Awaitable[ExecutionResult], log_errors: Callable[..., None],
                  operation: Operation) -> ExecutionResult:
    executed = await result
    if executed.errors:
        log_errors(executed.errors, operation)
    return executed


_engines: dict[tuple[int, bool, bool], tuple[Any, Engine]] = {}


def mask_errors_setting() -> bool:
    """``MASK_ERRORS``, with ``None`` meaning: on unless Django's ``DEBUG`` is."""
    from django.conf import settings

    mask = gql_settings.MASK_ERRORS
    return not settings.DEBUG if mask is None else bool(mask)


def get_engine(schema: Any = None, *, debug: bool | None = None) -> Engine:
    """The shared engine for ``schema`` (default: the ``SCHEMA`` setting).

    Options come from ``GQL_CHANNELS``; engines, and so their document caches,
    are shared by every consumer serving the same schema and dropped when
    settings are reloaded.
    """
    if schema is None:
        schema = gql_settings.SCHEMA
    if debug is None:
        debug = gql_settings.DEBUG
    mask = mask_errors_setting()
    key = (id(schema), debug, mask)
    entry = _engines.get(key)
    if entry is not None and entry[0] is schema:
        return entry[1]
    engine = Engine(schema, debug=debug, mask_errors=mask, **engine_options())
    if engine.persisted_documents is not None and engine.persisted_documents.errors:
        # Refuse to serve rather than fail request by request: a bad manifest
        # is found at start-up (the router builds its engine) and by `manage.py check`.
        problems = engine.persisted_documents.errors
        more = f" (and {len(problems) - 1} more; run `manage.py check`)" if len(problems) > 1 else ""
        raise SettingsError(SettingProblem("gql_channels.E044", "PERSISTED_DOCUMENTS", f"{problems[0]}{more}",
                                           "Regenerate the manifest from documents that validate "
                                           "(manage.py gql_check --documents DIR --manifest FILE)."))
    _engines[key] = (schema, engine)
    return engine


def engine_options(*, persisted: bool = True) -> dict[str, Any]:
    """The :class:`Engine` keyword arguments ``GQL_CHANNELS`` asks for (read once per call).

    ``persisted=False`` leaves out the manifest and APQ, for checking a
    manifest without loading the configured one.
    """
    options: dict[str, Any] = {
        "validation_rules": gql_settings.VALIDATION_RULES,
        "max_depth": gql_settings.MAX_QUERY_DEPTH,
        "max_tokens": gql_settings.MAX_QUERY_TOKENS,
        "introspection": gql_settings.INTROSPECTION,
        "cache_size": gql_settings.DOCUMENT_CACHE_SIZE,
    }
    if not persisted:
        return options
    path = gql_settings.PERSISTED_DOCUMENTS
    if path is not None:
        try:
            options["persisted_documents"] = load_manifest(path)
        except ManifestError as exc:
            raise SettingsError(SettingProblem("gql_channels.E043", "PERSISTED_DOCUMENTS", str(exc),
                                               "Point it at a JSON manifest written by "
                                               "`manage.py gql_check --manifest` or a client build.")) from None
    options["only_persisted_documents"] = gql_settings.ONLY_PERSISTED_DOCUMENTS
    if gql_settings.AUTOMATIC_PERSISTED_QUERIES:
        alias = gql_settings.APQ_CACHE
        options["apq_store"] = (DjangoCacheAPQStore(alias) if alias is not None
                                else LocalAPQStore(gql_settings.DOCUMENT_CACHE_SIZE))
    return options


on_reload(_engines.clear)
