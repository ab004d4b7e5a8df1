"""The operation lifecycle every streaming transport shares: start, confirm, cancel, complete, clean up.

A connection (a WebSocket, a Server-Sent Events stream) owns one
:class:`Operations`: the operations running on it, each in its own task. The
transport admits an operation through the connection's
:class:`~.admission.Admission` (which built the :class:`Operations`) and
hands it over with its context and root value; results, completions and
failures go back through an :class:`OperationSink`, which says how they
look on the wire.

**Confirmation.** A subscription counts as started once its first result
is sent (a confirming ``None`` included, which the client receives as a
``null`` result), it waits inside ``listen_to_channel`` for its first
message, or it ends.
:meth:`Operations.start` returns only then (or after ``confirm_timeout``),
so a transport can handle the client's next request knowing the
subscription already listens.

A live query (``query ... @live``, ``LIVE_QUERIES`` on) runs like a
subscription whose results come from re-running the query
(:mod:`.live_queries`); it needs no confirmation.

Per delivered subscription event the work is: take the message from the
listener's queue (in the user's generator), execute the selection set
against it, encode the reply once, send it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from graphql import ExecutionResult, GraphQLError

from ..channel_layer import ChannelListener
from ..conf import gql_settings
from ..engine import Engine, Operation, is_live, log_exception
from .live_queries import LiveSubscriber, subscribe_live
from .shared_results import SharedOperation, SharedResult, join_shared

if TYPE_CHECKING:  # pragma: no cover
    from ..observability.watches import OperationWatch

__all__ = ["ConfirmingListener", "ConnectionGone", "OperationSink", "Operations"]

logger = logging.getLogger("django_gql_channels")

#: Inside a starting subscription's task: the callback that confirms it.
_confirm_current: ContextVar[Callable[[], None] | None] = ContextVar("gql_confirm_subscription", default=None)


class ConnectionGone(Exception):
    """Sending to the client failed: the connection is closed or closing."""


class OperationSink(Protocol):
    """Where an operation's results go: one method per kind of outgoing message."""

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        """One result (``data`` and maybe ``errors``) of an operation."""

    async def send_complete(self, op_id: Any) -> None:
        """The operation finished on the server's side."""

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        """The operation failed (refused before running, or its stream raised); it is over."""

    # Optional: ``async def send_next_shared(op_id, result: SharedResult)``, one
    # result other subscribers share (``SHARED_SUBSCRIPTION_RESULTS``): encode
    # ``result.payload`` once through ``result.encoded(key, encode)`` and splice
    # the id in. Sinks without it get ``send_next(op_id, result.payload)``.


class _Operation:
    __slots__ = ("id", "started", "task")

    def __init__(self, op_id: Any, task: asyncio.Task[None], started: asyncio.Future[None] | None) -> None:
        self.id = op_id
        self.task = task
        self.started = started


class _ConfirmOnEnter:
    """``listen_to_channel`` for a starting subscription: once inside, the first wait confirms it.

    Not entering itself: a generator that enters and yields its confirming
    ``None`` (or a message already queued) gets that result sent before the
    connection's next request is handled, so a client sees it before, say,
    the ``pong`` to a ``ping`` sent after ``subscribe``.
    """

    __slots__ = ("_confirm", "_manager")

    def __init__(self, manager: Any, confirm: Callable[[], None]) -> None:
        self._manager = manager
        self._confirm = confirm

    async def __aenter__(self) -> Any:
        listener = await self._manager.__aenter__()
        if isinstance(listener, ChannelListener):
            listener.on_wait = self._confirm
        else:  # a subclass's own listener: we cannot see it wait
            self._confirm()
        return listener

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._manager.__aexit__(*exc_info)


class ConfirmingListener:
    """Mixin for consumers that run :class:`Operations`: ``listen_to_channel`` confirms a starting subscription."""

    def listen_to_channel(self, type: str | Iterable[str], *, timeout: float | None = None,
                          groups: Iterable[str] = ()) -> Any:
        manager = super().listen_to_channel(type, timeout=timeout, groups=groups)  # type: ignore[misc]
        confirm = _confirm_current.get()
        return manager if confirm is None else _ConfirmOnEnter(manager, confirm)


class Operations:
    """The operations running on one connection, by id.

    ``transport`` names the connection in log lines ("a WebSocket", "an SSE stream").
    ``share_results`` (default: the ``SHARED_SUBSCRIPTION_RESULTS`` setting)
    lets subscriptions share results with the process's other subscribers of
    the same operation (:mod:`.shared_results`).
    """

    def __init__(
        self,
        engine: Engine,
        sink: OperationSink,
        *,
        transport: str,
        confirm_timeout: float = 5.0,
        cleanup_timeout: float = 10.0,
        share_results: bool | None = None,
    ) -> None:
        self.engine = engine
        self.share_results: bool = gql_settings.SHARED_SUBSCRIPTION_RESULTS if share_results is None \
            else share_results
        self.sink = sink
        self.transport = transport
        self.confirm_timeout = confirm_timeout
        self.cleanup_timeout = cleanup_timeout
        #: Set once the connection closes: failures are no longer reported to it.
        self.closing = False
        self._running: dict[Any, _Operation] = {}

    def __contains__(self, op_id: Any) -> bool:
        return op_id in self._running

    def __len__(self) -> int:
        return len(self._running)

    async def start(self, op_id: Any, operation: Operation, variables: dict[str, Any] | None,
                    context: Any, root_value: Any, *, watch: OperationWatch | None = None) -> None:
        """Run a prepared operation; for subscriptions, return once it has started.

        ``watch`` (metrics, tracing, the operation log) is finished when the operation ends.
        """
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] | None = None
        if operation.kind == "subscription":
            started = loop.create_future()
            coroutine = self._run_subscription(op_id, operation, variables, context, root_value, started, watch)
        elif self.engine.live_queries and is_live(operation):
            coroutine = self._run_live(op_id, operation, variables, context, root_value, watch)
        else:
            coroutine = self._run_single(op_id, operation, variables, context, root_value, watch)
        task = loop.create_task(coroutine)
        self._running[op_id] = _Operation(op_id, task, started)
        if started is not None and not started.done():
            await asyncio.wait((started,), timeout=self.confirm_timeout)

    async def stop(self, op_id: Any) -> bool:
        """Cancel a running operation and wait for its clean-up; False if none runs with that id."""
        operation = self._running.pop(op_id, None)
        if operation is None:
            return False
        operation.task.cancel()
        await self._wait_cleanup([operation.task])
        return True

    def cancel_all(self) -> None:
        """The connection is closing: cancel every operation now, without waiting."""
        self.closing = True
        for operation in list(self._running.values()):
            operation.task.cancel()

    async def stop_all(self) -> None:
        """The connection is gone: cancel every operation and wait for their clean-up."""
        self.closing = True
        tasks = [operation.task for operation in self._running.values()]
        self._running.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await self._wait_cleanup(tasks)

    async def wait_all(self) -> None:
        """Until no operation runs (those started meanwhile included)."""
        while self._running:
            await asyncio.wait([operation.task for operation in self._running.values()])

    async def _wait_cleanup(self, tasks: list[asyncio.Task[None]]) -> None:
        _, pending = await asyncio.wait(tasks, timeout=self.cleanup_timeout)
        for task in pending:
            logger.warning("An operation did not finish within %ss of being cancelled: %r "
                           "(does its generator catch CancelledError?)", self.cleanup_timeout, task)

    async def _run_single(self, op_id: Any, operation: Operation, variables: Any, context: Any,
                          root_value: Any, watch: OperationWatch | None = None) -> None:
        sink = self.sink
        try:
            if watch is not None:
                watch.enter(operation)
            if operation.incremental:
                await self._run_incremental(op_id, operation, variables, context, root_value, watch)
            else:
                result = await self.engine.execute(operation, variables=variables, context=context,
                                                   root_value=root_value)
                if watch is not None:
                    watch.result(result)
                await sink.send_next(op_id, self.engine.format_result(result))
            await sink.send_complete(op_id)
        except ConnectionGone:
            pass
        except Exception as exc:
            await self._fail(op_id, operation, exc, watch)
        finally:
            if watch is not None:
                watch.finish()
            self._forget(op_id)

    async def _run_incremental(self, op_id: Any, operation: Operation, variables: Any, context: Any,
                               root_value: Any, watch: OperationWatch | None = None) -> None:
        """``@defer``/``@stream``: each payload (``hasNext``, ``incremental``) is one ``next`` message."""
        engine = self.engine
        send_next = self.sink.send_next
        results = await engine.execute_incrementally(operation, variables=variables, context=context,
                                                     root_value=root_value)
        if isinstance(results, ExecutionResult):  # nothing was deferred after all
            if watch is not None:
                watch.result(results)
            await send_next(op_id, engine.format_result(results))
            return
        if watch is not None:
            watch.result(results.initial)
        try:
            await send_next(op_id, results.initial_payload(engine.format_result(results.initial)))
            async for payload in results.subsequent():
                await send_next(op_id, payload)
        finally:
            # Cancelled or disconnected: the deferred work still running stops.
            await results.aclose()

    async def _run_live(self, op_id: Any, operation: Operation, variables: Any, context: Any,
                        root_value: Any, watch: OperationWatch | None = None) -> None:
        """A live query (:mod:`.live_queries`): results until the client stops it or goes.

        Observed as a subscription is: one operation for its lifetime, each result sent an event.
        """
        subscriber: LiveSubscriber | None = None
        try:
            if watch is not None:
                watch.enter(operation)
            subscriber = subscribe_live(self.engine, operation, variables, context, root_value,
                                        share=self.share_results)
            results: Any = subscriber.results()
            await _send_shared(self.sink, op_id, results if watch is None else watch.observe_stream(results),
                               lambda: None)
        except ConnectionGone:
            pass
        except Exception as exc:
            await self._fail(op_id, operation, exc, watch)
        finally:
            try:
                if subscriber is not None:
                    await subscriber.live.leave(subscriber)
            finally:
                if watch is not None:
                    watch.finish()
                self._forget(op_id)

    async def _run_subscription(
        self,
        op_id: Any,
        operation: Operation,
        variables: Any,
        context: Any,
        root_value: Any,
        started: asyncio.Future[None],
        watch: OperationWatch | None = None,
    ) -> None:
        def confirm() -> None:
            if not started.done():
                started.set_result(None)

        _confirm_current.set(confirm)
        sink = self.sink
        engine = self.engine
        stream: Any = None
        shared: SharedOperation | None = None
        try:
            if watch is not None:
                watch.enter(operation)
            map_event = None
            if self.share_results:
                shared = join_shared(engine, operation, variables)
                if shared is not None:
                    map_event = shared.subscriber()
            stream = await engine.subscribe(operation, variables=variables, context=context,
                                            root_value=root_value, map_event=map_event)
            if isinstance(stream, ExecutionResult):
                # The subscription could not start (bad variables, the
                # subscribe resolver raised): one result with errors.
                if watch is not None:
                    watch.result(stream)
                await sink.send_next(op_id, engine.format_result(stream))
            elif map_event is not None:
                await _send_shared(sink, op_id, stream if watch is None else watch.observe_stream(stream), confirm)
            else:
                if watch is not None:  # its results counted as they go out
                    stream = watch.observe_stream(stream)
                send_next = sink.send_next
                format_result = engine.format_result
                # Started once its first result (often the confirming null)
                # is on the wire: the connection's next request is answered after it.
                async for result in stream:
                    await send_next(op_id, format_result(result))
                    break
                confirm()
                async for result in stream:  # the same stream, from its second result on
                    await send_next(op_id, format_result(result))
            await sink.send_complete(op_id)
        except ConnectionGone:
            pass
        except Exception as exc:
            await self._fail(op_id, operation, exc, watch)
        finally:
            confirm()
            if stream is not None and not isinstance(stream, ExecutionResult):
                with contextlib.suppress(Exception):
                    await stream.aclose()
            if shared is not None:
                shared.leave()
            if watch is not None:
                watch.finish()
            self._forget(op_id)

    def _forget(self, op_id: Any) -> None:
        operation = self._running.get(op_id)
        if operation is not None and operation.task is asyncio.current_task():
            del self._running[op_id]

    async def _fail(self, op_id: Any, operation: Operation, exc: Exception, watch: OperationWatch | None) -> None:
        """An operation raised: observed as failed, then told to its client."""
        if watch is not None:
            watch.fail(exc)
        await self._report_failure(op_id, operation, exc)

    async def _report_failure(self, op_id: Any, operation: Operation, exc: Exception) -> None:
        """An operation raised outside graphql-core's error handling: tell that operation only."""
        if self.closing:
            return
        if isinstance(exc, GraphQLError):
            logger.info("Operation %s (%r) on %s ended with an error: %s", op_id, operation, self.transport, exc)
        else:
            log_exception(exc, operation)
        with contextlib.suppress(Exception):
            await self.sink.send_errors(op_id, [self.engine.format_exception(exc)])


async def _send_shared(sink: OperationSink, op_id: Any, stream: Any, confirm: Callable[[], None]) -> None:
    """Send a stream of :class:`SharedResult` objects, pre-encoded where the sink can splice.

    As for unshared results, the subscription counts as started once its
    first result is on the wire.
    """
    send_shared = getattr(sink, "send_next_shared", None)
    result: SharedResult
    if send_shared is None:
        send_next = sink.send_next

        async def send_shared(op_id: Any, result: SharedResult) -> None:
            await send_next(op_id, result.payload)

    async for result in stream:
        await send_shared(op_id, result)
        break
    confirm()
    async for result in stream:  # the same stream, from its second result on
        await send_shared(op_id, result)
