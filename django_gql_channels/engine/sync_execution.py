"""``SYNC_EXECUTION``: run an operation's execution in Django's thread-sensitive executor.

Synchronous resolvers that use the ORM (graphene-django's all do) cannot run on
the event loop: Django raises ``SynchronousOnlyOperation`` in any thread with a
running loop. With ``SYNC_EXECUTION`` on, :class:`~.execution.Engine` runs each
execution as Django runs a sync view under ASGI:

- **One hop per operation** (per event for a subscription): the whole
  synchronous execution (variable coercion, every sync resolver, completion of
  their values) runs in one call to asgiref's ``sync_to_async(...,
  thread_sensitive=True)``, with Django's per-request database hygiene around it
  in that thread (:func:`db_hygiene`: ``close_old_connections`` before and after,
  sparing a connection inside a transaction). The thread is the caller's
  ``ThreadSensitiveContext``'s when there is one (Django's own handler, for a
  view), otherwise the process's shared sync thread, the one Channels'
  ``database_sync_to_async`` and Django's async ORM methods use.
- **Async resolvers still run on the loop.** In the thread an ``async def``
  resolver only creates its coroutine; if the execution's result is awaitable
  (some resolver was async: a DataLoader field), the engine awaits it on the
  event loop, so loaders batch and awaits run concurrently as before.
- **Sync work reached from the loop hops back, one subtree at a time.**
  graphql-core completes an awaited field's value inside the coroutine, on the
  loop, so the sync resolvers below an async field would run there. The
  executor classes here (:class:`ThreadedExecutor`, one per graphql-core
  version) catch the two places where sync work starts on the loop: completing
  an awaited value of a composite type (``complete_value``: the sub-selection's
  resolvers) and executing a field (``execute_field``: later fields of a
  mutation, abstract types resolved asynchronously). Called on the loop, each
  runs in the thread in one hop for that value's whole synchronous subtree;
  called in the thread (a context variable says so) it costs one lookup. Leaf
  values (scalars, enums) are completed on the loop: no resolver runs there.
  A pure-sync operation therefore pays one hop, a mixed one one more hop per
  awaited composite value, and one for the closing hygiene.

A sync resolver that returns a loop-bound awaitable (``loader.load(key)`` from a
plain ``def``) runs in the thread, where there is no event loop: write it as an
``async def`` that awaits the loader.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeGuard

from asgiref.sync import sync_to_async
from django.db import connections
from graphql import get_named_type, is_leaf_type

try:  # graphql-core 3.3
    from graphql.execution.executor_throwing_on_incremental import (
        ExecutorThrowingOnIncremental as _BaseExecutor,
    )

    _GRAPHQL_CORE_3_3 = True
except ImportError:  # graphql-core 3.2
    from graphql import ExecutionContext as _BaseExecutor  # type: ignore[attr-defined,no-redef]

    _GRAPHQL_CORE_3_3 = False

__all__ = ["ThreadedExecution", "ThreadedExecutor", "db_hygiene", "in_sync_thread", "run_in_thread"]

#: True while this context runs in the thread-sensitive executor on the engine's behalf.
_in_thread: ContextVar[bool] = ContextVar("django_gql_channels_in_sync_thread", default=False)


def in_sync_thread() -> bool:
    """Whether the caller runs in the engine's thread hop (so the ORM may be used)."""
    return _in_thread.get()


def db_hygiene() -> None:
    """Django's per-request ``close_old_connections``, minus connections inside a transaction.

    Closing a connection in an atomic block (``ATOMIC_REQUESTS`` around a view
    calling the engine, a test case's transaction) would mark that transaction
    for rollback; Django itself never closes there (its signals run outside
    the view), so neither does this.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _operation_in_thread(function: Callable[..., Any], *args: Any) -> Any:
    db_hygiene()
    token = _in_thread.set(True)
    finished = True
    try:
        result = function(*args)
        finished = not inspect.isawaitable(result)
        return result
    finally:
        # Reset before returning: asgiref copies the thread's context variables back to the caller.
        _in_thread.reset(token)
        if finished:
            db_hygiene()


def _part_in_thread(function: Callable[..., Any], *args: Any) -> Any:
    token = _in_thread.set(True)
    try:
        return function(*args)
    finally:
        _in_thread.reset(token)


_operation_hop = sync_to_async(_operation_in_thread, thread_sensitive=True)
_part_hop = sync_to_async(_part_in_thread, thread_sensitive=True)
_hygiene_hop = sync_to_async(db_hygiene, thread_sensitive=True)


async def run_in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, one whole execution, in the thread; an awaitable result is finished on the loop.

    The closing hygiene runs in the thread once the result is complete: right
    after the call for a synchronous execution, after the loop's part (one
    more hop) for a mixed one.
    """
    result = await _operation_hop(function, *args)
    if inspect.isawaitable(result):
        try:
            result = await result
        finally:
            await _hygiene_hop()
    return result


def _async_iterable_off_thread(value: Any) -> TypeGuard[AsyncIterable[Any]]:
    return hasattr(value, "__aiter__") and not (_in_thread.get() and hasattr(value, "__iter__"))


async def _finish_in_thread(function: Callable[..., Any], *args: Any) -> Any:
    result = await _part_hop(function, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


# Type checkers see the executor the mixin's methods extend; at run time it is mixed into either executor.
_MixinBase: Any = _BaseExecutor if TYPE_CHECKING else object


class ThreadedExecution(_MixinBase):
    """What :class:`ThreadedExecutor` adds to graphql-core's executor, as a mixin: the incremental
    executor (:mod:`.incremental`) is threaded with it too.

    The methods take their arguments positionally and pass them on, so one
    class fits both versions' signatures.

    graphql-core 3.3 iterates a list value that is also async iterable
    asynchronously, on the loop: a ``QuerySet`` is both, so each of its items
    would be completed there, one hop each. In the thread such a value is
    iterated synchronously instead (the ORM may run there), as 3.2 does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _GRAPHQL_CORE_3_3:
            self.is_async_iterable = _async_iterable_off_thread

    def execute_field(self, *args: Any) -> Any:
        if _in_thread.get():
            return super().execute_field(*args)
        return _finish_in_thread(super().execute_field, *args)

    def complete_value(self, return_type: Any, *args: Any) -> Any:
        # args: field nodes (3.2) or details (3.3), info, path, result[, position context (3.3)].
        if _in_thread.get() or args[3] is None or is_leaf_type(get_named_type(return_type)):
            return super().complete_value(return_type, *args)
        return _finish_in_thread(super().complete_value, return_type, *args)


class ThreadedExecutor(ThreadedExecution, _BaseExecutor):
    """graphql-core's executor (3.3) or execution context (3.2), sending sync work started on the loop to the thread.

    See :class:`ThreadedExecution`.
    """
