"""The process-wide registry of shared group memberships, and receiving through outages.

Subscriptions that pass ``groups`` to
:meth:`~django_gql_channels.channel_layer.consumer.ChannelsConsumer.listen_to_channel` share
one layer channel per (process, group): the first listener in the process
joins the group, later ones (on any connection, of any transport) register
with it, and the last one to leave leaves the group. Each group message thus
crosses the layer once per *process*, however many connections listen
there, and is handed to each listener's queue in-process.

The registry is per event loop: memberships hold tasks, and tasks belong to
one loop. Receivers (these memberships' and consumers' own channels) survive
layer outages: see :func:`_pump` and :mod:`.outage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer

from .outage import (
    backoff_delays,
    layer_failed,
    layer_recovered,
    on_layer_recovery,
    retry_until_done,
    sleep_until_retry,
)

if TYPE_CHECKING:  # pragma: no cover
    from .consumer import ChannelListener

__all__ = ["join_group", "leave_group"]

logger = logging.getLogger("django_gql_channels")


async def _pump(
    layer: BaseChannelLayer,
    channel: str,
    deliver: Callable[[dict[str, Any]], Awaitable[None] | None],
    rejoin: Callable[[], Awaitable[None]],
    what: str,
) -> None:
    """Hand every message arriving on ``channel`` to ``deliver`` until cancelled.

    A failing receive (the layer's server went away) does not end the loop:
    it is reported once per outage, then ``rejoin`` (re-join the channel's
    groups, which a restarted server has forgotten; the channel's name stays
    good, it is only a name to the server) is retried with a bounded backoff
    until the layer answers, and receiving resumes. Listeners keep waiting
    meanwhile.
    """
    failing = False
    while True:
        receive = layer.receive
        while True:
            try:
                message = await receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                layer_failed(layer, what, exc)
                failing = True
                break
            if failing:
                layer_recovered(layer, what)
                failing = False
            delivered = deliver(message)
            if delivered is not None:
                await delivered
        await sleep_until_retry(layer, next(backoff_delays()))
        await retry_until_done(layer, what, rejoin)


class _Refresher:
    """Re-joins a receiver's groups in the background when an outage of its layer ends.

    For receivers that never saw the outage: the restarted server forgot
    their memberships too, but their receive went on waiting.
    """

    __slots__ = ("_layer", "_rejoin", "_task", "_unregister", "_what")

    def __init__(self, layer: BaseChannelLayer, what: str, rejoin: Callable[[], Awaitable[None]]) -> None:
        self._layer = layer
        self._what = what
        self._rejoin = rejoin
        self._task: asyncio.Task[None] | None = None
        self._unregister = on_layer_recovery(layer, self._start)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                retry_until_done(self._layer, self._what, self._rejoin))

    async def stop(self) -> None:
        self._unregister()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _SharedGroup:
    """This process's membership of one group on one layer, shared by every listener."""

    __slots__ = ("channel", "group", "key", "layer", "listeners", "ready", "rejoiner", "refresher", "task", "users")

    def __init__(self, layer: BaseChannelLayer, group: str, key: tuple[int, str]) -> None:
        self.layer = layer
        self.group = group
        self.key = key
        self.users = 0
        self.channel: str | None = None
        #: message type -> listeners of that type
        self.listeners: dict[str, set[ChannelListener]] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.refresher: asyncio.Task[None] | None = None
        self.rejoiner: _Refresher | None = None

    async def join(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        layer_recovered(self.layer, f"joining group {self.group}")
        # A clean context: the tasks outlive the listener that happened to
        # join first and must not hold on to its context variables.
        context = contextvars.Context()
        create_task = asyncio.get_running_loop().create_task
        self.task = context.run(create_task, self._receive_forever())
        self.rejoiner = _Refresher(self.layer, f"re-joining group {self.group}", self._add_current)
        expiry = getattr(self.layer, "group_expiry", None)
        if isinstance(expiry, (int, float)) and expiry > 0:
            self.refresher = context.run(create_task, self._refresh_membership(expiry / 2))

    async def _refresh_membership(self, interval: float) -> None:
        # Layers with a group_expiry (the in-memory one, channels_redis' core
        # layer: 86400 s by default) silently drop a membership that old, and
        # a shared one lives as long as any subscriber in the process does.
        channel = self.channel
        assert channel is not None  # join() sets it before starting this task
        while True:
            await asyncio.sleep(interval)
            try:
                await self.layer.group_add(self.group, channel)
            except Exception as exc:
                layer_failed(self.layer, f"renewing the membership of group {self.group}", exc)

    async def _receive_forever(self) -> None:
        listeners_by_type = self.listeners

        def deliver(message: dict[str, Any]) -> None:
            for listener in listeners_by_type.get(message.get("type"), ()):  # type: ignore[arg-type]
                listener.put(message)

        assert self.channel is not None
        await _pump(self.layer, self.channel, deliver, self._add_current, f"receiving group {self.group}")

    async def _add_current(self) -> None:
        await self.layer.group_add(self.group, self.channel)  # type: ignore[arg-type]
        layer_recovered(self.layer, f"re-joining group {self.group}")

    async def leave(self) -> None:
        channel = self.channel
        assert channel is not None
        if self.rejoiner is not None:
            await self.rejoiner.stop()  # no re-join may follow the leave
        try:
            # Leave first, so no message can arrive for a channel nobody reads.
            await self.layer.group_discard(self.group, channel)
        finally:
            for task in (self.refresher, self.task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            _forget_channel(self.layer, channel)


def _forget_channel(layer: BaseChannelLayer, channel: str) -> None:
    if isinstance(layer, InMemoryChannelLayer):
        # The in-memory layer keeps a queue per channel until its messages
        # expire; nobody will read this one again.
        layer.channels.pop(channel, None)


#: event loop -> {(id(layer), group): the process's membership}
_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str], _SharedGroup]] = (
    weakref.WeakKeyDictionary()
)


def _registry() -> dict[tuple[int, str], _SharedGroup]:
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = {}
    return registry


async def join_group(layer: BaseChannelLayer, group: str) -> _SharedGroup:
    """The process's membership of ``group``, joining it if nobody in the process has."""
    registry = _registry()
    key = (id(layer), group)
    while True:
        shared = registry.get(key)
        if shared is None or shared.layer is not layer:
            shared = registry[key] = _SharedGroup(layer, group, key)
            try:
                await shared.join()
            except BaseException as exc:
                if registry.get(key) is shared:
                    del registry[key]
                if isinstance(exc, Exception):
                    shared.ready.set_exception(exc)
                    shared.ready.exception()  # retrieved: no "never retrieved" warning
                else:
                    shared.ready.cancel()
                raise
            shared.ready.set_result(None)
            break
        try:
            await asyncio.shield(shared.ready)
        except asyncio.CancelledError:
            if shared.ready.cancelled():
                continue  # whoever was joining was cancelled, not us: join ourselves
            raise
        break
    shared.users += 1
    return shared


async def leave_group(shared: _SharedGroup, listener: ChannelListener) -> None:
    """Unregister ``listener`` from ``shared``; leave the group if nobody in the process uses it any more."""
    for message_type in listener.types:
        listeners = shared.listeners.get(message_type)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del shared.listeners[message_type]
    shared.users -= 1
    if shared.users > 0:
        return
    registry = _registry()
    if registry.get(shared.key) is shared:
        del registry[shared.key]
    try:
        await shared.leave()
    except Exception:
        logger.warning("Leaving group %s failed.", shared.group, exc_info=True)
