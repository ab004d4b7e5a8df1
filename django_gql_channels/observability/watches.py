"""Watching connections and operations: what the transports call, feeding metrics, spans and the log.

An :class:`OperationWatch` follows one operation from its arrival (the clock
starts) to its end, in these steps, each a no-op for outputs that are off:

- :meth:`~OperationWatch.refuse`: it never ran (syntax, validation, limits, a
  persisted-document refusal, a wrong method or transport): outcome ``refused``;
- :meth:`~OperationWatch.enter`: it runs now, in the current task: its span is
  started (back-dated to the arrival) and made current, so resolvers' own spans
  nest under it;
- :meth:`~OperationWatch.result` / :meth:`~OperationWatch.fail`: a result with
  errors, or an exception, makes the outcome ``error``;
- :meth:`~OperationWatch.observe_stream`: a subscription started: the
  subscriptions gauge goes up and each result of the stream is counted;
- :meth:`~OperationWatch.finish` (once; later calls do nothing): counted by
  outcome, timed, its span ended, logged; the subscriptions gauge back down.

``finish`` runs in the task that called ``enter`` (OpenTelemetry's context is
per task). A transport that hands an operation to another task (HTTP to an SSE
stream) calls :meth:`~OperationWatch.hand_over` and lets that task finish it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from graphql import ExecutionResult

__all__ = ["ConnectionWatch", "ObservedStream", "Observer", "OperationWatch"]

_perf_counter = time.perf_counter
_time_ns = time.time_ns


class Observer:
    """What is switched on: ``metrics`` (:mod:`.metrics`), ``tracing`` (:mod:`.tracing`), ``log`` (:mod:`.oplog`)."""

    __slots__ = ("_connections", "durations", "log", "metrics", "named", "outcomes", "tracing")

    def __init__(self, *, metrics: bool, tracing: bool, log: bool, operation_names: bool = False) -> None:
        self.metrics: Any = None
        self.tracing: Any = None
        #: ``METRICS_OPERATION_NAMES``: the by-name counter, or None.
        self.named: Any = None
        if metrics:
            from .metrics import metrics as process_metrics
            from .metrics import named_operations

            self.metrics = process_metrics()
            if operation_names:
                self.named = named_operations().operations
        if tracing:
            from . import tracing as tracing_module

            self.tracing = tracing_module
        self.log = log
        # Labelled children, looked up once: ``labels()`` takes a lock and a dict lookup per call.
        self.outcomes: dict[tuple[str, str, str], Any] = {}
        self.durations: dict[tuple[str, str], Any] = {}
        self._connections: dict[str, Any] = {}

    def connection_gauge(self, transport: str) -> Any:
        gauge = self._connections.get(transport)
        if gauge is None:
            gauge = self._connections[transport] = self.metrics.connections.labels(transport)
        return gauge

    def connection(self, transport: str, scope: Any) -> ConnectionWatch:
        return ConnectionWatch(self, transport, scope)

    def operation(self, transport: str, scope: Any) -> OperationWatch:
        """An operation not tied to a watched connection (an HTTP request, a request on an SSE stream)."""
        parent = self.tracing.parent_of(scope) if self.tracing is not None else None
        return OperationWatch(self, transport, parent)


class ConnectionWatch:
    """One open connection: counted in ``gql_channels_connections`` until :meth:`close`."""

    __slots__ = ("_gauge", "_parent", "_scope", "closed", "observer", "transport")

    def __init__(self, observer: Observer, transport: str, scope: Any) -> None:
        self.observer = observer
        self.transport = transport
        self.closed = False
        self._scope = scope
        #: The parent of every operation on the connection, read at its first operation.
        self._parent: Any = None
        self._gauge: Any = None
        if observer.metrics is not None:
            self._gauge = observer.connection_gauge(transport)
            self._gauge.inc()

    def operation(self) -> OperationWatch:
        """An operation arrives on this connection (the clock starts)."""
        tracing = self.observer.tracing
        if tracing is not None and self._parent is None:
            # The first operation arrives in the task that accepted the connection (the
            # receive loop), under whatever span was current at the handshake.
            self._parent = tracing.parent_of(self._scope)
        return OperationWatch(self.observer, self.transport, self._parent)

    def close(self) -> None:
        """The connection ended (however abruptly); later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        if self._gauge is not None:
            self._gauge.dec()


class OperationWatch:
    """One operation, from arrival to end: see the module's docstring for the steps."""

    __slots__ = ("_parent", "_token", "connection", "done", "error_events", "errors", "events", "exception",
                 "handed_over", "observer", "operation_name", "operation_type", "outcome", "span", "start_ns",
                 "started", "subscribed", "transport")

    def __init__(self, observer: Observer, transport: str, parent: Any) -> None:
        self.observer = observer
        self.transport = transport
        self._parent = parent
        self.started = _perf_counter()
        self.start_ns = _time_ns() if observer.tracing is not None else 0
        self.operation_type: str | None = None
        self.operation_name: str | None = None
        self.outcome: str | None = None
        self.errors: Sequence[BaseException] = ()
        self.exception: BaseException | None = None
        self.span: Any = None
        self._token: Any = None
        self.events = 0
        self.error_events = 0
        self.subscribed = False
        self.handed_over = False
        self.done = False
        #: The connection this operation alone holds open (an HTTP request's), closed on hand-over.
        self.connection: ConnectionWatch | None = None

    def _identify(self, operation: Any) -> None:
        if operation is not None:
            self.operation_type = operation.kind
            self.operation_name = operation.name

    def refuse(self, errors: Sequence[BaseException] = (), operation: Any = None, *,
               transport: str | None = None) -> None:
        """The operation never ran; ``operation`` when it was known by then. Finishes the watch."""
        self._identify(operation)
        if transport is not None:
            self.transport = transport
        self.outcome = "refused"
        self.errors = errors
        self.finish()

    def hand_over(self, transport: str | None = None) -> None:
        """Another task runs and finishes the operation (over ``transport``, when it changes)."""
        self.handed_over = True
        if transport is not None:
            self.transport = transport
        if self.connection is not None:
            self.connection.close()

    def enter(self, operation: Any) -> None:
        """The operation runs now, in this task: its span starts and becomes current."""
        self._identify(operation)
        tracing = self.observer.tracing
        if tracing is not None:
            parent, kind = self._parent
            self.span = tracing.start_span(self.transport, self.operation_type, self.operation_name, parent, kind,
                                           self.start_ns)
            self._token = tracing.attach(self.span)

    def result(self, result: ExecutionResult) -> None:
        """A result of the operation (for a query or mutation, its only one)."""
        if result.errors:
            self.errors = result.errors

    def answered(self, result: ExecutionResult, operation: Any, *, ran: bool) -> None:
        """A query's or mutation's answer: its :meth:`result`, or refused when it never ran (variables that
        do not fit: only request errors)."""
        if ran:
            self.result(result)
        else:
            self.refuse(result.errors or (), operation)

    def fail(self, exc: BaseException) -> None:
        """The operation raised (its stream, the layer); an outcome of ``error``."""
        self.exception = exc

    def observe_stream(self, stream: Any) -> ObservedStream:
        """A subscription's stream of results, counted as they go out."""
        self.subscribed = True
        metrics = self.observer.metrics
        if metrics is not None:
            metrics.subscriptions.inc()
        return ObservedStream(stream, self)

    def event(self, result: Any) -> None:
        self.events += 1
        observer = self.observer
        if observer.metrics is not None:
            observer.metrics.events.inc()
        if self.span is not None and self.events <= observer.tracing.MAX_SPAN_EVENTS:
            self.span.add_event(observer.tracing.SUBSCRIPTION_EVENT)
        # A shared result (SHARED_SUBSCRIPTION_RESULTS) carries its response map instead.
        if (result.errors if isinstance(result, ExecutionResult) else getattr(result, "payload", {}).get("errors")):
            self.error_events += 1

    def finish(self) -> None:
        """Count, time, end the span and log; only the first call does anything."""
        if self.done:
            return
        self.done = True
        duration = _perf_counter() - self.started
        failed = bool(self.errors) or self.exception is not None or self.error_events > 0
        outcome = self.outcome or ("error" if failed else "ok")
        operation_type = self.operation_type or "unknown"
        observer = self.observer
        metrics = observer.metrics
        if metrics is not None:
            key = (self.transport, operation_type, outcome)
            counter = observer.outcomes.get(key)
            if counter is None:
                counter = observer.outcomes[key] = metrics.operations.labels(*key)
            counter.inc()
            timed = key[:2]
            histogram = observer.durations.get(timed)
            if histogram is None:
                histogram = observer.durations[timed] = metrics.duration.labels(*timed)
            histogram.observe(duration)
            if observer.named is not None:
                observer.named.labels(self.transport, operation_type, self.operation_name or "", outcome).inc()
            if self.subscribed:
                metrics.subscriptions.dec()
        tracing = observer.tracing
        if tracing is not None:
            self._end_span(tracing)
        if observer.log:
            from .oplog import log_outcome

            log_outcome(self.transport, operation_type, self.operation_name, duration, outcome)

    def _end_span(self, tracing: Any) -> None:
        span = self.span
        if span is None:  # refused before it ran: a span all the same, so the trace shows why
            parent, kind = self._parent
            span = tracing.start_span(self.transport, self.operation_type, self.operation_name, parent, kind,
                                      self.start_ns)
        errors = list(self.errors)
        if self.exception is not None:
            errors.append(self.exception)
        if errors:
            tracing.record_errors(span, errors)
        elif self.error_events:
            tracing.record_errors(span, [RuntimeError(f"{self.error_events} subscription result(s) had errors")])
        tracing.end_span(span, self.events if self.subscribed else None)
        if self._token is not None:
            token, self._token = self._token, None
            tracing.detach(token)


class ObservedStream:
    """A subscription's result stream, telling its watch of each result; ``aclose`` closes the stream."""

    __slots__ = ("_stream", "_watch")

    def __init__(self, stream: Any, watch: OperationWatch) -> None:
        self._stream = stream
        self._watch = watch

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        result = await self._stream.__anext__()
        self._watch.event(result)
        return result

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()
