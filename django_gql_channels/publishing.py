"""``broadcast`` and ``abroadcast``: one channel-layer message to a group, from any Django code.

Both send through the layer the GraphQL consumers use (``GQL_CHANNELS["CHANNEL_LAYER"]``).
Inside an atomic block of the ``using`` database the message leaves after the
outermost block commits (``transaction.on_commit``), and never if it rolls
back; outside one it leaves at once. A failing layer is logged on the
``django_gql_channels.publishing`` logger and does not break the caller,
unless ``raise_errors=True``.

Where the sync ``broadcast`` runs decides how it reaches the layer:

- a plain thread (a Celery task, a management command, a script): the send
  runs to completion before ``broadcast`` returns;
- a thread of ``sync_to_async`` (a sync Django view or signal handler under an
  ASGI server): the send runs on the server's event loop and ``broadcast``
  waits for it;
- the thread of a running event loop (a sync GraphQL resolver, sync code
  called from a coroutine): waiting there would block the loop, so the send
  is scheduled on that loop and ``broadcast`` returns at once. Errors are
  then only logged; ``await abroadcast(...)`` instead to handle them.

The in-memory layer only works inside one event loop. A plain thread of a
process whose event loop reads that layer has its sends run on that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .channel_layer.groups import listening_loops
from .channel_layer.names import INVALID_GROUP_CHARS, MAX_GROUP_LENGTH, is_valid_group_name
from .channel_layer.outage import retry_once
from .conf import gql_settings
from .unset import UNSET

__all__ = ["BroadcastError", "abroadcast", "broadcast", "safe_group_name"]

logger = logging.getLogger("django_gql_channels.publishing")

#: ``timeout`` not given: ``LAYER_TIMEOUT`` seconds, read when sending. A layer
#: behind a dropped route (or a frozen Redis) would otherwise hang the request that broadcasts.
DEFAULT_TIMEOUT: Any = UNSET

# Sends scheduled from sync code on a running loop: held so they are not
# garbage-collected before they finish.
_scheduled: set[asyncio.Task[None]] = set()


class BroadcastError(Exception):
    """A message could not be sent (raised only with ``raise_errors=True``)."""


def safe_group_name(text: str) -> str:
    """``text`` if it is a valid group name, else a valid name derived from it.

    Channels accepts ASCII letters, digits, ``-``, ``_`` and ``.``, fewer than
    100 of them. Other characters become ``_`` and an over-long name is cut;
    either way a short hash of the original text is appended, so two texts
    that differ only in refused characters still get different groups.
    """
    if is_valid_group_name(text):
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = INVALID_GROUP_CHARS.sub("_", text)
    return f"{cleaned[:MAX_GROUP_LENGTH - len(digest) - 1]}.{digest}"


def _checked_message(message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        raise TypeError(f'message must be a dict with a "type", not {type(message).__name__}.')
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f'message must have a non-empty string "type" (got {kind!r}), e.g. '
                         '{"type": "chat.message", ...}: subscribers listen by type.')
    # A copy: the caller may change its dict before the transaction commits.
    return dict(message)


def _checked_group(group: Any) -> str:
    if not isinstance(group, str):
        raise TypeError(f"group must be a str, not {type(group).__name__}.")
    if not is_valid_group_name(group):
        raise ValueError(f"{group!r} is not a valid group name: use fewer than 100 ASCII letters, digits, "
                         "hyphens, underscores or periods (safe_group_name() derives one from any text).")
    return group


def _failed(group: str, message: dict[str, Any], exc: BaseException, raise_errors: bool, timeout: float | None) -> None:
    timed_out = isinstance(exc, (asyncio.TimeoutError, concurrent.futures.TimeoutError))
    reason = f"no answer within {timeout}s" if timed_out else exc
    if raise_errors:
        raise BroadcastError(f"Broadcasting a {message['type']!r} message to group {group!r} failed: {reason}") from exc
    logger.error("Broadcasting a %r message to group %r failed: %s", message["type"], group, reason,
                 exc_info=not (timed_out or isinstance(exc, BroadcastError)))


async def _send(groups: Sequence[str], message: dict[str, Any], raise_errors: bool, timeout: float | None) -> None:
    timeout = _timeout(timeout)
    for group in groups:
        try:
            layer = get_channel_layer(gql_settings.CHANNEL_LAYER)
            if layer is None:
                raise BroadcastError(f"CHANNEL_LAYERS has no {gql_settings.CHANNEL_LAYER!r} layer.")
            # A restarted Redis leaves stale pooled connections: retried once, like ws.channel_layer's publishes.
            await asyncio.wait_for(
                retry_once(layer, f"broadcasting to group {group}", partial(layer.group_send, group, message)), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _failed(group, message, exc, raise_errors, timeout)


def _timeout(timeout: Any) -> float | None:
    bound: float | None = gql_settings.LAYER_TIMEOUT if timeout is UNSET else timeout
    return bound


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _in_memory_loop(layer: Any) -> asyncio.AbstractEventLoop | None:
    """The one running event loop that reads ``layer``, if it is in-memory and there is one.

    The in-memory layer's queues belong to the loop its readers wait in: a
    message put there from a loop in another thread may never wake them.
    """
    if not isinstance(layer, InMemoryChannelLayer):
        return None
    loops: set[asyncio.AbstractEventLoop | None] = set(listening_loops())  # loops with subscriptions on groups
    loops.update(getattr(queue, "_loop", None) for queue in list(layer.channels.values()))
    running = [loop for loop in loops if loop is not None and loop.is_running()]
    return running[0] if len(running) == 1 else None


def _send_from_sync(groups: Sequence[str], message: dict[str, Any], raise_errors: bool,
                    timeout: float | None) -> None:
    loop = _running_loop()
    if loop is not None:
        if raise_errors:
            raise RuntimeError("broadcast(..., raise_errors=True) cannot wait for the layer in a thread that "
                               "runs an event loop; use `await abroadcast(...)` there.")
        task = loop.create_task(_send(groups, message, False, timeout))
        _scheduled.add(task)
        task.add_done_callback(_scheduled.discard)
        return
    send = partial(_send, groups, message, raise_errors, timeout)
    home = _in_memory_loop(get_channel_layer(gql_settings.CHANNEL_LAYER))
    if home is not None:
        future = asyncio.run_coroutine_threadsafe(send(), home)
        bound = _timeout(timeout)
        try:
            # Bounded even if that loop is blocked (by code waiting for this very thread).
            future.result(None if bound is None else bound + 1)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            _failed(groups[0], message, exc, raise_errors, bound)
    else:
        # In a thread of sync_to_async this runs on the server's loop; in a plain
        # thread, on a new loop (whose closing also closes channels_redis' connections).
        async_to_sync(send)()


def _in_atomic_block(using: str | None) -> bool:
    # The attribute, not transaction.on_commit(): outside a block on_commit
    # would open a database connection just to learn that it can send now.
    return connections[using or DEFAULT_DB_ALIAS].in_atomic_block


def publish(groups: Sequence[str], message: dict[str, Any], *, on_commit: bool = True, using: str | None = None,
            raise_errors: bool = False, timeout: float | None = DEFAULT_TIMEOUT) -> None:
    """:func:`broadcast` of one already-checked message to several groups (one layer round per group)."""
    send = partial(_send_from_sync, tuple(groups), message, raise_errors, timeout)
    if on_commit and _in_atomic_block(using):
        transaction.on_commit(send, using=using)
    else:
        send()


def broadcast(
    group: str,
    message: Mapping[str, Any],
    *,
    on_commit: bool = True,
    using: str | None = None,
    raise_errors: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> None:
    """Send ``message`` (a dict with a ``type``) to ``group`` from sync code.

    With ``on_commit`` (the default), inside an atomic block of the ``using``
    database it is sent when the outermost block commits and never if it
    rolls back; otherwise it is sent now. Layer errors and sends taking more
    than ``timeout`` seconds (by default ``LAYER_TIMEOUT``) are logged, or raised as :class:`BroadcastError`
    with ``raise_errors=True`` (after a commit: out of the commit, which has
    happened). A bad ``group`` or ``message`` raises at once.
    """
    publish((_checked_group(group),), _checked_message(message), on_commit=on_commit, using=using,
            raise_errors=raise_errors, timeout=timeout)


async def abroadcast(
    group: str,
    message: Mapping[str, Any],
    *,
    on_commit: bool = True,
    using: str | None = None,
    raise_errors: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> None:
    """:func:`broadcast` for coroutines: awaits the send.

    Django runs no transaction in an event loop's thread (its ORM refuses to),
    so ``on_commit`` only defers a send from code allowed to
    (``DJANGO_ALLOW_ASYNC_UNSAFE``). A transaction opened by sync code that
    calls ``async_to_sync(abroadcast)`` is invisible here: use
    :func:`broadcast` in sync code.
    """
    group = _checked_group(group)
    checked = _checked_message(message)
    if on_commit and _in_atomic_block(using):
        transaction.on_commit(partial(_send_from_sync, (group,), checked, raise_errors, timeout), using=using)
        return
    await _send((group,), checked, raise_errors, timeout)
