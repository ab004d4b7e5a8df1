"""Running a live query (``query ... @live``, ``LIVE_QUERIES`` on): execute, send, wait for a change, re-run.

A :class:`LiveQuery` owns one task that loops:

1. execute the query while :func:`~django_gql_channels.live.recording` notes
   what it read through the ORM (:class:`~django_gql_channels.live.ReadSet`);
2. follow the model groups of what it read (:class:`~django_gql_channels.live.Watch`);
   a group joined only now was not heard during the execution, so one more
   run follows (its result, if the same, is not sent);
3. hand the result to its subscribers if it differs from the previous one;
4. wait until a change concerns what it read (a save, a deletion, an
   ``invalidate``, the end of a layer outage), then until ``throttle`` seconds
   have passed since the last run started: a burst of changes costs one
   re-run, and a change during a run causes another, so the last result
   always reads the latest state.

Each subscriber (one per client operation) is sent a result only when it
differs from the last one it got. With ``SHARED_SUBSCRIPTION_RESULTS`` on,
subscribers of one process running the same operation (document, operation
name, variables, throttle) share one :class:`LiveQuery`: one execution per
change, one encoding per encoder (:class:`~.shared_results.SharedResult`). The
first subscriber's context is the one executions see, as for shared
subscription results; a root field with ``extensions={"shared_results": False}``
(Strawberry: ``metadata=``) opts its queries out.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import FieldNode

from ..channel_layer.loops import PerLoop
from ..conf import gql_settings
from ..engine import Engine, Operation, live_throttle, without_live
from ..live import ReadSet, Watch, recording
from ..observability import count_live_query, count_live_query_run
from .shared_results import SharedResult, field_opts_out

__all__ = ["LiveQuery", "LiveSubscriber", "live_queries", "running_live_queries", "subscribe_live", "throttle_for"]


class LiveQuery:
    """One live query's executions, and the subscribers it feeds."""

    __slots__ = ("_context", "_executed", "_task", "engine", "failure", "key", "operation",
                 "latest", "registry", "root_value", "runs", "subscribers", "throttle", "variables", "version", "watch")

    def __init__(self, engine: Engine, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                 root_value: Any, throttle: float, key: Any = None,
                 registry: dict[Any, LiveQuery] | None = None) -> None:
        self.engine = engine
        self.operation = operation
        # Strawberry's own execution (its extensions) validates against its schema, without @live.
        self._executed = operation if engine.delegate is None else without_live(operation)
        self.variables = variables
        self._context = context
        self.root_value = root_value
        self.throttle = throttle
        self.key = key
        self.registry = registry
        self.subscribers: set[LiveSubscriber] = set()
        self.watch = Watch()
        #: executions so far (the first included)
        self.runs = 0
        #: the last result, its number, and what ended the executions (if something did)
        self.latest: SharedResult | None = None
        self.version = 0
        self.failure: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def join(self) -> LiveSubscriber:
        subscriber = LiveSubscriber(self)
        self.subscribers.add(subscriber)
        if self.latest is not None or self.failure is not None:
            subscriber.fresh.set()
        if self._task is None:
            # A shared query outlives the subscriber that started it: a clean context. An
            # unshared one lives as long as its subscriber and runs in a copy of its context.
            context = contextvars.Context() if self.registry is not None else contextvars.copy_context()
            self._task = context.run(asyncio.get_running_loop().create_task, self._run())
            _running.get()[id(self)] = self
        return subscriber

    async def leave(self, subscriber: LiveSubscriber) -> None:
        self.subscribers.discard(subscriber)
        if self.subscribers:
            return
        if self.registry is not None and self.registry.get(self.key) is self:
            del self.registry[self.key]
        task, self._task = self._task, None
        _running.get().pop(id(self), None)
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
            except Exception:
                pass  # already handed to the subscribers

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        watch = self.watch
        engine = self.engine
        previous: dict[str, Any] | None = None
        count_live_query(1)
        try:
            while True:
                watch.stale.clear()
                started = loop.time()
                read_set = ReadSet()
                watch.running = True
                try:
                    with recording(read_set):
                        result = await engine.execute(self._executed, variables=self.variables,
                                                      context=self._context, root_value=self.root_value)
                finally:
                    watch.running = False
                self.runs += 1
                count_live_query_run()
                payload = engine.format_result(result)
                if await watch.follow(read_set):
                    watch.stale.set()
                if payload != previous:
                    previous = payload
                    self._publish(SharedResult(payload))
                await watch.stale.wait()
                delay = started + self.throttle - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        except Exception as exc:
            self.failure = exc
            if self.registry is not None and self.registry.get(self.key) is self:
                del self.registry[self.key]  # later subscribers start afresh
            for subscriber in self.subscribers:
                subscriber.fresh.set()
        finally:
            count_live_query(-1)
            await watch.stop()

    def _publish(self, result: SharedResult) -> None:
        self.latest = result
        self.version += 1
        for subscriber in self.subscribers:
            subscriber.fresh.set()


class LiveSubscriber:
    """One client operation's view of a :class:`LiveQuery`: the results it has not been sent yet."""

    __slots__ = ("fresh", "last", "live", "version")

    def __init__(self, live: LiveQuery) -> None:
        self.live = live
        self.fresh = asyncio.Event()
        self.last: SharedResult | None = None
        self.version = 0

    async def results(self) -> AsyncIterator[SharedResult]:
        """Each result this subscriber has not had, skipping one equal to the last it got."""
        live = self.live
        while True:
            await self.fresh.wait()
            self.fresh.clear()
            if live.failure is not None:
                raise live.failure
            result = live.latest
            if result is None or result is self.last:
                continue
            skipped = live.version != self.version + 1
            self.version = live.version
            # Consecutive results always differ; after missed ones, this may equal the last sent.
            if skipped and self.last is not None and self.last.payload == result.payload:
                continue
            self.last = result
            yield result


#: {(engine, operation, variables as JSON, throttle): the live query shared}, per event loop
_shared: PerLoop[tuple[Any, ...], LiveQuery] = PerLoop()


#: {id: every live query running}, per event loop
_running: PerLoop[int, LiveQuery] = PerLoop()


def live_queries() -> list[LiveQuery]:
    """The shared live queries of the running loop."""
    return list(_shared.get().values())


def running_live_queries() -> list[LiveQuery]:
    """Every live query running on the running loop, shared or not."""
    return list(_running.get().values())


def _opted_out(engine: Engine, operation: Operation) -> bool:
    """Whether a root field of the query asks not to share results (``extensions={"shared_results": False}``)."""
    fields = engine.schema.query_type.fields if engine.schema.query_type is not None else {}
    for selection in operation.definition.selection_set.selections:
        if isinstance(selection, FieldNode):
            field = fields.get(selection.name.value)
            if field is not None and field_opts_out(field):
                return True
    return False


def throttle_for(operation: Operation, variables: Mapping[str, Any] | None) -> float:
    floor: float = gql_settings.LIVE_QUERY_THROTTLE
    asked = live_throttle(operation, variables)
    return floor if asked is None else max(floor, asked)


def subscribe_live(engine: Engine, operation: Operation, variables: Mapping[str, Any] | None, context: Any,
                   root_value: Any, *, share: bool) -> LiveSubscriber:
    """A subscriber of the live query for these arguments: shared with the process's others if ``share``."""
    throttle = throttle_for(operation, variables)
    if share and not _opted_out(engine, operation):
        try:
            variables_key = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            variables_key = None
        if variables_key is not None:
            registry = _shared.get()
            key = (id(engine), id(operation), variables_key, throttle)
            live = registry.get(key)
            if live is None or live.engine is not engine or live.operation is not operation:
                live = registry[key] = LiveQuery(engine, operation, variables, context, root_value, throttle,
                                                 key, registry)
            return live.join()
    return LiveQuery(engine, operation, variables, context, root_value, throttle).join()
