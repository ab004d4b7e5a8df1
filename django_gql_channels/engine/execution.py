"""The engine every transport shares: execute and subscribe to prepared operations, format results.

A transport hands the engine a document text and an operation name and gets
back an :class:`~.documents.Operation` (parsed, validated and selected, from a
bounded LRU cache keyed by the text: :mod:`.documents`) or a
:class:`~django_gql_channels.exceptions.GraphQLRequestError`. It then executes
or subscribes to that operation and formats results with
:meth:`Engine.format_result` (:mod:`.errors` masks and logs). Nothing here
knows about HTTP or WebSockets.

Transports take requests through
:func:`~django_gql_channels.persisted.resolve_operation` rather than
:meth:`Engine.prepare`: it also accepts a ``documentId`` or an APQ hash, and
enforces ``ONLY_PERSISTED_DOCUMENTS``. The engine the settings ask for is
:func:`~.configured.get_engine`'s.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    MiddlewareManager,
    NoSchemaIntrospectionCustomRule,
    Source,
    ValidationRule,
    execute,
    specified_rules,
)

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

from ..exceptions import GraphQLRequestError
from ..schema import SchemaLibrary, get_graphql_schema, schema_library, source_schema
from .documents import (
    DocumentCache,
    Operation,
    ParsedDocument,
    max_depth_rule,
    parse_and_validate,
    parse_document,
    strip_suggestions,
)
from .errors import explain_sync_only, format_error, log_errors, masked_error
from .event_executors import event_executor_class
from .incremental import (
    INCREMENTAL_DIRECTIVES,
    IncrementalResults,
    RefuseIncrementalRule,
    explain_unknown_directives,
    incremental_executor_class,
    schema_declares_incremental,
    uses_incremental,
)
from .limits import DocumentLimits
from .live import with_live_directive
from .persisted import APQStore, PersistedDocuments
from .strawberry import StrawberryDelegate, extension_names, unsupported_extensions
from .sync_execution import ThreadedExecution, ThreadedExecutor, db_hygiene, run_in_thread

__all__ = ["Engine", "EventMapper"]


class _CreateSourceEventStream32(Protocol):
    """graphql-core 3.2's ``create_source_event_stream``; type checkers see the installed
    graphql-core (3.3 in CI), whose function takes an executor instead."""

    def __call__(self, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None,
                 context_value: Any = None, variable_values: Mapping[str, Any] | None = None,
                 operation_name: str | None = None) -> Awaitable[AsyncIterable[Any] | ExecutionResult]: ...


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
        cache_bytes: int | None = None,
        limits: DocumentLimits | None = None,
        persisted_documents: Mapping[str, str] | None = None,
        only_persisted_documents: bool = False,
        apq_store: APQStore | None = None,
        mask_errors: bool = False,
        sync_execution: bool | None = None,
        middleware: Sequence[Any] | MiddlewareManager | None = None,
        live_queries: bool = False,
    ) -> None:
        self.schema: GraphQLSchema = get_graphql_schema(schema)
        #: ``LIVE_QUERIES``: the schema declares ``@live`` (:mod:`.live`); off, ``@live`` fails validation.
        self.live_queries = live_queries
        if live_queries:
            self.schema = with_live_directive(self.schema)
        self.debug = debug
        #: Executions run in Django's thread-sensitive executor (:mod:`.sync_execution`);
        #: ``None`` asks for it when Graphene built the schema.
        #: Which library built the schema, told once: it decides defaults here and in the transports.
        self.library: SchemaLibrary = schema_library(self.schema)
        self.sync_execution: bool = (self.library == "graphene" if sync_execution is None
                                     else bool(sync_execution))
        #: graphql-core middleware around every resolver (``MIDDLEWARE``), or None.
        self.middleware: MiddlewareManager | None = (
            middleware if isinstance(middleware, MiddlewareManager) or middleware is None
            else MiddlewareManager(*middleware) if middleware else None
        )
        #: A Strawberry schema with extensions runs through Strawberry's own execution
        #: (:mod:`.strawberry`), so that its extensions run; every other schema, None.
        self.delegate: StrawberryDelegate | None = None
        if extension_names(self.schema):
            conflicts = unsupported_extensions(self.schema, sync_execution=self.sync_execution,
                                               middleware=self.middleware is not None)
            if conflicts:
                names = ", ".join(name for name, _ in conflicts)
                raise ValueError(f"The Strawberry schema's extensions ({names}) cannot run: {conflicts[0][1]}.")
            self.delegate = StrawberryDelegate(source_schema(self.schema))
        self._executor_class: Any = (ThreadedExecutor if self.sync_execution
                                     else _ExecutorThrowingOnIncremental if _GRAPHQL_CORE_3_3 else None)
        #: Subscriptions' executors (3.3): each event's copy gets its own memo (:mod:`.event_executors`).
        self._subscription_executor_class: Any = (event_executor_class(self._executor_class) if _GRAPHQL_CORE_3_3
                                                  else self._executor_class)
        #: The schema declares ``@defer``/``@stream`` and graphql-core (3.3) can deliver them:
        #: operations using them are :attr:`Operation.incremental` (:mod:`.incremental`).
        self.incremental: bool = schema_declares_incremental(self.schema)
        self._incremental_executor_class: Any = (
            incremental_executor_class(ThreadedExecution if self.sync_execution else None)
            if self.incremental else None)
        #: Unexpected exceptions reach clients as "Internal server error" only.
        self.mask_errors = mask_errors
        self.max_tokens = max_tokens
        #: Size and count limits (:mod:`.limits`): bytes before parsing, counts before validation.
        self.limits: DocumentLimits = limits if limits is not None else DocumentLimits(
            None, None, None, None, None)
        self._check_counts = self.limits if self.limits.counts_anything else None
        #: With introspection off, validation errors say no "Did you mean ...?".
        self.suggestions = introspection
        rules = list(specified_rules)
        if max_depth is not None:
            rules.append(max_depth_rule(max_depth))
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        rules.extend(validation_rules)
        if not self.incremental and any(d.name in INCREMENTAL_DIRECTIVES for d in self.schema.directives):
            rules.append(RefuseIncrementalRule)  # declared, but graphql-core 3.2 would ignore them
        self.validation_rules = tuple(rules)
        #: Outcomes of :meth:`prepare` by text (``len()``, ``in`` and iteration
        #: show what is cached, least recently used first).
        self.document_cache = DocumentCache(cache_size, cache_bytes)
        #: The manifest's documents (``PERSISTED_DOCUMENTS``), parsed and validated
        #: here, once, and never evicted; see :mod:`django_gql_channels.engine.persisted`.
        self.persisted_documents: PersistedDocuments | None = (
            None if persisted_documents is None else PersistedDocuments(self, persisted_documents)
        )
        #: Refuse free-form query text that is not a manifest document.
        self.only_persisted_documents = only_persisted_documents
        #: Where automatic persisted queries are registered (None: APQ off).
        self.apq_store = apq_store

    # -- preparing -----------------------------------------------------------

    @property
    def cache_size(self) -> int:
        """How many texts :meth:`prepare` keeps (0: none)."""
        return self.document_cache.size

    @cache_size.setter
    def cache_size(self, size: int) -> None:
        self.document_cache.size = size

    def prepare(self, query: str, operation_name: str | None = None) -> Operation:
        """The operation ``operation_name`` of ``query``, parsed and validated once.

        Raises :class:`~django_gql_channels.exceptions.GraphQLRequestError`
        for syntax and validation errors (cached like successes) and for a
        missing or unknown operation.
        """
        self.limits.check_size(query)
        cached = self.document_cache.get(query, self.parse_and_validate)
        if cached.error is not None:
            raise cached.error
        return cached.select(operation_name)

    def parse(self, source: str | Source) -> DocumentNode:
        """Parse a document within this engine's token limit (no caching, no validation)."""
        return parse_document(source, self.max_tokens)

    def parse_and_validate(self, query: str) -> ParsedDocument:
        """``query`` parsed and validated against this engine's schema and rules, bypassing the cache."""
        parsed = parse_and_validate(query, self.parse, self.schema, self.validation_rules, self._check_counts,
                                    self.suggestions)
        if parsed.error is not None:
            if not self.incremental and parsed.error.kind == "validation":
                errors = parsed.error.errors
                if explain_unknown_directives(errors):
                    parsed.error = GraphQLRequestError(errors, "validation")
        elif self.incremental:
            document = parsed.document
            assert document is not None
            for operation in parsed.operations.values():
                operation.incremental = uses_incremental(document, operation.definition)
        return parsed

    def clear_cache(self) -> None:
        self.document_cache.clear()

    # -- running -------------------------------------------------------------

    async def execute(
        self,
        operation: Operation,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Any = None,
        root_value: Any = None,
    ) -> ExecutionResult:
        """Run a query or mutation; resolvers may be sync or async.

        With :attr:`sync_execution`, the execution runs in Django's
        thread-sensitive executor (see :mod:`.sync_execution`).
        """
        result: Any
        if self.delegate is not None:
            result = await self.delegate.execute(operation, variables, context, root_value)
        elif self.sync_execution:
            result = await run_in_thread(self._start, operation, variables, context, root_value)
        else:
            result = self._start(operation, variables, context, root_value)
            if result.__class__ is not ExecutionResult and inspect.isawaitable(result):  # async resolvers
                result = await result
        if result.errors:
            self._report(result, operation)
        return result

    def _start(self, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
               root_value: Any) -> Any:
        """The synchronous part of an execution: a result, or an awaitable when a resolver was async."""
        if _GRAPHQL_CORE_3_3:
            # graphql-core 3.3: what ``execute()`` does, minus the incremental
            # delivery machinery it sets up per call and then refuses to use
            # (``@defer``/``@stream`` become errors in the result here too).
            executor = self._executor_class.build(
                self.schema, operation.document, root_value, context, variables, operation.name,
                middleware=self.middleware,
            )
            return ExecutionResult(None, executor) if isinstance(executor, list) else executor.execute_operation()
        return execute(
            self.schema,
            operation.document,
            root_value,
            context,
            variables,  # type: ignore[arg-type]
            operation.name,
            middleware=self.middleware,
            execution_context_class=self._executor_class,
        )

    async def execute_incrementally(
        self,
        operation: Operation,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Any = None,
        root_value: Any = None,
    ) -> ExecutionResult | IncrementalResults:
        """Run an :attr:`~.documents.Operation.incremental` query or mutation: one result, or several.

        The result is one :class:`~graphql.ExecutionResult` when nothing was
        deferred after all (``@defer(if: false)``, errors before any), or an
        :class:`~.incremental.IncrementalResults` whose payloads the
        transport sends one by one (its errors masked and logged as
        :meth:`format_result` does). An operation that is not incremental
        runs as :meth:`execute` runs it.
        """
        if not operation.incremental:
            return await self.execute(operation, variables=variables, context=context, root_value=root_value)
        if self.delegate is not None:
            return self._errors_result([GraphQLError(
                "@defer and @stream are not available with this schema: its Strawberry extensions "
                "run per operation, not per incremental payload.")], operation)
        start = self._start_incremental
        result: Any
        if self.sync_execution:
            result = await run_in_thread(start, operation, variables, context, root_value)
        else:
            result = start(operation, variables, context, root_value)
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, ExecutionResult):
            if result.errors:
                self._report(result, operation)
            return result
        if result.initial_result.errors:
            self._report(result.initial_result, operation)

        def format_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
            errors = explain_sync_only(list(errors), sync_execution=self.sync_execution)
            log_errors(errors, operation)
            return self.format_errors(errors)

        # Deferred sync resolvers ran in the thread too: its closing hygiene waits for the last payload.
        on_close = _closing_hygiene if self.sync_execution else None
        return IncrementalResults(result, format_errors, on_close)

    def _start_incremental(self, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                           root_value: Any) -> Any:
        executor = self._incremental_executor_class.build(
            self.schema, operation.document, root_value, context, variables, operation.name,
            middleware=self.middleware,
        )
        return ExecutionResult(None, executor) if isinstance(executor, list) else executor.execute_operation()

    def _report(self, result: Any, operation: Operation) -> None:
        """Explain Django's "async context" errors (:func:`~.errors.explain_sync_only`), then log the unexpected."""
        assert result.errors is not None
        result.errors = explain_sync_only(result.errors, sync_execution=self.sync_execution)
        if not self.suggestions:  # variable coercion suggests enum values and input fields too
            strip_suggestions(result.errors)
        log_errors(result.errors, operation)

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
        (:mod:`~django_gql_channels.operations.shared_results` answers from
        results other subscribers already computed).

        The stream's ``aclose()`` closes the source generator (its ``finally``
        blocks run); an exception raised by the source propagates out of
        ``__anext__``.
        """
        if self.delegate is not None:
            # Strawberry executes each event itself (its hooks run per event), so
            # ``map_event`` cannot share them: shared_results opts such schemas out.
            if map_event is not None:
                raise ValueError("A Strawberry schema with extensions executes each event itself: "
                                 "its subscriptions cannot share results (map_event).")
            return await self.delegate.subscribe(operation, variables, context, root_value, on_confirm)
        document = operation.document
        name = operation.name
        sync_execution = self.sync_execution
        report = self._report
        if _GRAPHQL_CORE_3_3:
            executor = self._subscription_executor_class.build(
                self.schema, document, root_value, context, variables, name, middleware=self.middleware,
            )
            if isinstance(executor, list):
                return self._errors_result(executor, operation)
            # The subscribe resolver's stream stays on the loop; each event's execution may not.
            source = _create_source_event_stream(executor)
            if inspect.isawaitable(source):
                source = await source
            if isinstance(source, ExecutionResult):
                return self._errors_result(source.errors or [], operation)

            def execute_logged(event_executor: Any) -> Any:
                if sync_execution:
                    return _reported(run_in_thread(_execute_subscription_event, event_executor), operation, report)
                result = _execute_subscription_event(event_executor)
                if inspect.isawaitable(result):
                    return _reported(result, operation, report)
                if result.errors:
                    report(result, operation)
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
        middleware = self.middleware
        executor_class = self._executor_class

        def start_event(payload: Any) -> Any:
            return execute(schema, document, payload, context, variables, name,  # type: ignore[arg-type]
                           middleware=middleware, execution_context_class=executor_class)

        async def execute_event(payload: Any) -> ExecutionResult:
            if sync_execution:
                result: ExecutionResult = await run_in_thread(start_event, payload)
            else:
                outcome = start_event(payload)
                result = await outcome if inspect.isawaitable(outcome) else outcome
            if result.errors:
                report(result, operation)
            return result

        return _map_events(_ConfirmingSource(source, on_confirm), execute_event, map_event)

    def _errors_result(self, errors: Collection[GraphQLError], operation: Operation) -> ExecutionResult:
        result = ExecutionResult(None, list(errors))
        if errors:
            log_errors(errors, operation)
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
        return format_error(error, mask_errors=self.mask_errors, debug=self.debug)

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
            return masked_error(None, None)
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


async def _closing_hygiene() -> None:
    await run_in_thread(db_hygiene)


async def _reported(result: Awaitable[ExecutionResult], operation: Operation,
                    report: Callable[[ExecutionResult, Operation], None]) -> ExecutionResult:
    executed = await result
    if executed.errors:
        report(executed, operation)
    return executed
