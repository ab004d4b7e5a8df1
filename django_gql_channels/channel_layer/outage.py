"""Riding out a channel-layer outage: which errors count, how long to wait, what to log.

When the layer's server (Redis) goes away, the process's group receivers
retry with a bounded, jittered exponential backoff (``LAYER_RETRY_DELAY`` up
to ``LAYER_RETRY_MAX_DELAY`` seconds) and re-join their groups when the layer
answers again; their subscribers never notice but for the messages published
meanwhile, which are lost. One outage is logged once when it starts (with the
first error in full) and once when it ends, however many receivers retry how
often in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from ..conf import gql_settings
from ..observability import count_layer_error

__all__ = ["LayerTimeout", "backoff_delays", "bounded", "forget_outage", "is_connection_error", "layer_failed",
           "layer_is_down", "layer_recovered", "on_layer_recovery", "on_layer_restart", "prepare_to_publish",
           "retry_once", "retry_until_done", "sleep_until_retry"]

logger = logging.getLogger("django_gql_channels")

T = TypeVar("T")

_connection_errors: tuple[type[BaseException], ...] | None = None


class LayerTimeout(TimeoutError):
    """A channel-layer call took longer than ``LAYER_TIMEOUT`` (a frozen server, a dropped route)."""


async def bounded(call: Awaitable[T], what: str) -> T:
    """``await call``, at most ``LAYER_TIMEOUT`` seconds; past that, :class:`LayerTimeout`.

    With ``socket_timeout: None`` (what channels_redis needs for its blocking
    receive) redis-py waits for a stopped server forever; this is the bound
    for every call the app makes other than receiving.
    """
    timeout = gql_settings.LAYER_TIMEOUT
    if timeout is None:
        return await call
    # asyncio.timeout runs the call in the caller's task (wait_for, on 3.11, in a new one).
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await call
    except TimeoutError:
        if not scope.expired():
            raise
        raise LayerTimeout(f"{what}: no answer within {timeout} s") from None


def _connection_error_types() -> tuple[type[BaseException], ...]:
    global _connection_errors
    if _connection_errors is None:
        types: list[type[BaseException]] = [OSError, asyncio.TimeoutError, TimeoutError, EOFError]
        with contextlib.suppress(ImportError):  # redis-py's own, which are not OSErrors
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import TimeoutError as RedisTimeoutError

            types += [RedisConnectionError, RedisTimeoutError]
        _connection_errors = tuple(types)
    return _connection_errors


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the layer's server could not be reached (rather than refused a request)."""
    return isinstance(exc, _connection_error_types())


def backoff_delays() -> Iterator[float]:
    """Seconds to wait before each retry: doubling from ``LAYER_RETRY_DELAY`` to ``LAYER_RETRY_MAX_DELAY``.

    Each delay is jittered down by up to half, so the processes of a
    deployment do not all knock on the server in the same instant.
    """
    delay = float(gql_settings.LAYER_RETRY_DELAY)
    ceiling = float(gql_settings.LAYER_RETRY_MAX_DELAY)
    while True:
        yield min(delay, ceiling) * random.uniform(0.5, 1.0)
        delay *= 2


#: id(layer) -> (when its current outage started in monotonic seconds, whether it was logged)
_outages: dict[int, tuple[float, bool]] = {}
#: id(layer) -> when its last outage ended
_recovered_at: dict[int, float] = {}
#: Seconds after an outage during which a failure is its tail (pooled
#: connections to the old server failing once each): tracked, not logged.
RECOVERY_GRACE = 10.0


def layer_failed(layer: Any, what: str, exc: BaseException) -> None:
    """Record that ``what`` failed on ``layer``; logs only the first failure of an outage."""
    count_layer_error()
    key = id(layer)
    if key in _outages:
        logger.debug("Channel layer still unavailable (%s): %s", what, exc)
        return
    now = time.monotonic()
    if now - _recovered_at.get(key, -RECOVERY_GRACE) < RECOVERY_GRACE:
        _outages[key] = (now, False)
        logger.info("%s failed just after the channel layer came back (%s); retrying.", what, exc)
        return
    _outages[key] = (now, True)
    logger.error("The channel layer %s is unavailable (%s failed); subscriptions wait and retry until it "
                 "answers. Messages sent to groups meanwhile are lost.", type(layer).__name__, what,
                 exc_info=(type(exc), exc, exc.__traceback__))


def forget_outage(layer: Any) -> None:
    """Drop what is known of ``layer``'s outages, the current one and the last one's end (tests start clean)."""
    _outages.pop(id(layer), None)
    _recovered_at.pop(id(layer), None)


def layer_is_down(layer: Any) -> bool:
    """Whether an outage of ``layer`` is under way (its last failure has not been followed by a success)."""
    return id(layer) in _outages


def layer_recovered(layer: Any, what: str) -> None:
    """Record that ``what`` works on ``layer`` again; logs the end of an outage once.

    Ending an outage calls every callback registered with
    :func:`on_layer_recovery` for the layer: a restarted server has forgotten
    every group membership, including those whose receivers never saw an
    error (with channels_redis' core layer only one receive per process
    talks to the server at a time, so only that one fails).
    """
    key = id(layer)
    outage = _outages.pop(key, None)
    if outage is not None:
        started, logged = outage
        now = _recovered_at[key] = time.monotonic()
        if logged:
            logger.warning("The channel layer %s answers again (%s), %.1f s after it failed.",
                           type(layer).__name__, what, now - started)
        for callback in list(_recovery_callbacks.get(key, ())):
            callback()
    # Whoever got through first wakes the receivers waiting out their backoff.
    with contextlib.suppress(RuntimeError):
        event = _recovered_events.pop((key, asyncio.get_running_loop()), None)
        if event is not None:
            event.set()


#: (id(layer), event loop) -> set when that layer next answers after failing
_recovered_events: dict[tuple[int, asyncio.AbstractEventLoop], asyncio.Event] = {}


async def sleep_until_retry(layer: Any, delay: float) -> None:
    """Wait ``delay`` seconds, or less if anything in this process finds the layer answering again."""
    key = (id(layer), asyncio.get_running_loop())
    event = _recovered_events.get(key)
    if event is None:
        event = _recovered_events[key] = asyncio.Event()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), delay)


#: id(layer) -> callbacks to run when an outage of that layer ends
_recovery_callbacks: dict[int, set[Callable[[], None]]] = {}


def on_layer_recovery(layer: Any, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` whenever an outage of ``layer`` ends; returns the function that unregisters it."""
    return _register(_recovery_callbacks, id(layer), callback)


def _register(registry: dict[int, set[Any]], key: int, item: Any) -> Callable[[], None]:
    """Add ``item`` to ``registry[key]``; the returned function removes it (and the emptied set)."""
    items = registry.setdefault(key, set())
    items.add(item)

    def unregister() -> None:
        items.discard(item)
        if not items and registry.get(key) is items:
            del registry[key]

    return unregister


#: id(layer) -> coroutine functions that restore what a restarted server forgot (group memberships)
_restorers: dict[int, set[Callable[[], Awaitable[None]]]] = {}


def on_layer_restart(layer: Any, restore: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Have :func:`prepare_to_publish` await ``restore()`` after an outage; returns the unregistering function."""
    return _register(_restorers, id(layer), restore)


def _reconnect_pubsub_receivers(layer: Any) -> list[Awaitable[None]]:
    """channels_redis' pub/sub layer: reconnect its subscriber connections now, if one dropped.

    Its receive loop waits a second after each failure before redis-py
    reconnects and re-subscribes; a message published in that window is lost
    to every subscriber of the process. Reconnecting here re-sends the
    SUBSCRIBEs (redis-py does it on connect) before the publish that follows.
    """
    get_layer = getattr(layer, "_get_layer", None)
    if get_layer is None or type(layer).__module__ != "channels_redis.pubsub":
        return []
    pending = []
    for shard in getattr(get_layer(), "_shards", ()):
        pubsub: Any = getattr(shard, "_pubsub", None)
        connection = getattr(pubsub, "connection", None)
        if connection is not None and not connection.is_connected:
            pending.append(pubsub.connect())
    return pending


async def prepare_to_publish(layer: Any, what: str) -> None:
    """Before a publish: after an outage, restore this process's memberships first (bounded, best effort).

    A restarted server has forgotten every group membership; the process's
    receivers re-join on their own backoff, and a message published before
    they do is lost to them. A publish from this process that finds an
    outage under way (or pub/sub connections down) re-joins them first, so
    the first message after a restart reaches its subscribers here.
    """
    pending = _reconnect_pubsub_receivers(layer)
    if id(layer) in _outages:
        pending += [restore() for restore in list(_restorers.get(id(layer), ()))]
    if not pending:
        return
    timeout = gql_settings.LAYER_TIMEOUT
    try:
        async with asyncio.timeout(timeout):
            results = await asyncio.gather(*pending, return_exceptions=True)
    except TimeoutError:
        logger.debug("Restoring memberships before %s took longer than %s s.", what, timeout)
        return
    for result in results:
        if isinstance(result, Exception):
            logger.debug("Restoring a membership before %s failed: %s", what, result)


async def retry_until_done(layer: Any, what: str, call: Callable[[], Awaitable[None]]) -> None:
    """``await call()`` until it succeeds, waiting :func:`backoff_delays` between attempts (cancel to stop)."""
    for delay in backoff_delays():
        try:
            await call()
            return
        except Exception as exc:
            layer_failed(layer, what, exc)
        await sleep_until_retry(layer, delay)


async def retry_once(layer: Any, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, once more if it fails to reach the layer's server.

    Meant for publishing. The usual such failure is a pooled connection the
    server dropped when it restarted: the command never reached a live
    server, and the second attempt opens a fresh connection. A duplicate
    delivery would need the server to run the command and then die before
    answering it; see the README's "Running in production".
    """
    await prepare_to_publish(layer, what)
    try:
        result = await call()
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        count_layer_error()
        logger.info("%s could not reach the channel layer (%s); retrying once.", what, exc)
        await prepare_to_publish(layer, what)
    else:
        if _outages:
            layer_recovered(layer, what)
        return result
    try:
        result = await call()
    except Exception as exc:
        if is_connection_error(exc):
            layer_failed(layer, what, exc)
        raise
    layer_recovered(layer, what)
    return result
