"""The process-wide registry of shared group memberships.

Subscriptions that pass ``groups`` to
:meth:`~django_gql_channels.channel_layer.consumer.ChannelsConsumer.listen_to_channel` share
one layer channel per (process, group): the first listener in the process
joins the group, later ones (on any connection, of any transport) register
with it, and the last one to leave leaves the group. Each group message thus
crosses the layer once per *process*, however many connections listen
there, and is handed to each listener's queue in-process.

The registry is per event loop (:class:`~.loops.PerLoop`): memberships hold
tasks, and tasks belong to one loop. :func:`membership` and
:func:`memberships` show what it holds. A membership's receiver survives
layer outages: see :func:`~.receiving.pump` and :mod:`.outage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from typing import Any

from channels.layers import BaseChannelLayer

from .listener import ChannelListener
from .loops import PerLoop
from .outage import bounded, layer_failed, layer_recovered
from .receiving import Refresher, forget_channel, pump

__all__ = ["SharedGroup", "join_group", "leave_group", "listening_loops", "membership", "memberships"]

logger = logging.getLogger("django_gql_channels")


class SharedGroup:
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
        self.rejoiner: Refresher | None = None

    async def join(self) -> None:
        what = f"joining group {self.group}"
        self.channel = await bounded(self.layer.new_channel(), what)
        try:
            await bounded(self.layer.group_add(self.group, self.channel), what)
        except BaseException:
            forget_channel(self.layer, self.channel)
            raise
        layer_recovered(self.layer, f"joining group {self.group}")
        # A clean context: the tasks outlive the listener that happened to
        # join first and must not hold on to its context variables.
        context = contextvars.Context()
        create_task = asyncio.get_running_loop().create_task
        self.task = context.run(create_task, self._receive_forever())
        self.rejoiner = Refresher(self.layer, f"re-joining group {self.group}", self._add_current)
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
            what = f"renewing the membership of group {self.group}"
            try:
                await bounded(self.layer.group_add(self.group, channel), what)
            except Exception as exc:
                layer_failed(self.layer, f"renewing the membership of group {self.group}", exc)

    async def _receive_forever(self) -> None:
        listeners_by_type = self.listeners

        def deliver(message: dict[str, Any]) -> None:
            for listener in listeners_by_type.get(message.get("type"), ()):  # type: ignore[arg-type]
                listener.put(message)

        assert self.channel is not None
        await pump(self.layer, self.channel, deliver, self._add_current, f"receiving group {self.group}")

    async def _add_current(self) -> None:
        what = f"re-joining group {self.group}"
        await bounded(self.layer.group_add(self.group, self.channel), what)  # type: ignore[arg-type]
        layer_recovered(self.layer, f"re-joining group {self.group}")

    async def leave(self) -> None:
        channel = self.channel
        assert channel is not None
        if self.rejoiner is not None:
            await self.rejoiner.stop()  # no re-join may follow the leave
        try:
            # Leave first, so no message can arrive for a channel nobody reads.
            await bounded(self.layer.group_discard(self.group, channel), f"leaving group {self.group}")
        finally:
            for task in (self.refresher, self.task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            forget_channel(self.layer, channel)


#: {(id(layer), group): the process's membership}, per event loop
_memberships: PerLoop[tuple[int, str], SharedGroup] = PerLoop()


def membership(layer: BaseChannelLayer, group: str) -> SharedGroup | None:
    """The running loop's membership of ``group`` on ``layer``, if a listener of this process uses one."""
    shared = _memberships.get().get((id(layer), group))
    return shared if shared is not None and shared.layer is layer else None


def memberships() -> list[SharedGroup]:
    """Every membership the listeners of the running loop use (on any layer)."""
    return list(_memberships.get().values())


def listening_loops() -> list[asyncio.AbstractEventLoop]:
    """The event loops on which listeners joined groups at some time; safe to call from any thread."""
    return _memberships.loops()


async def join_group(layer: BaseChannelLayer, group: str) -> SharedGroup:
    """The process's membership of ``group``, joining it if nobody in the process has."""
    registry = _memberships.get()
    key = (id(layer), group)
    while True:
        shared = registry.get(key)
        if shared is None or shared.layer is not layer:
            shared = registry[key] = SharedGroup(layer, group, key)
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


async def leave_group(shared: SharedGroup, listener: ChannelListener) -> None:
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
    registry = _memberships.get()
    if registry.get(shared.key) is shared:
        del registry[shared.key]
    try:
        await shared.leave()
    except Exception:
        logger.warning("Leaving group %s failed.", shared.group, exc_info=True)
