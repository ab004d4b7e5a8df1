"""A live query's ears: the model groups of what it read, joined once per process.

A :class:`Watch` follows the groups of the models its last execution read
(:func:`~.changes.model_group`), through the process-wide memberships that
subscriptions share (:mod:`django_gql_channels.channel_layer.groups`): a
thousand live queries reading ``todos.Todo`` in one process make one group
membership, and each change crosses the layer once per process. A change
whose keys concern the watch's :class:`~.reads.ReadSet` sets :attr:`Watch.stale`.

The end of a layer outage sets it too: changes sent during the outage are lost,
so every live query re-runs once when the layer is back. An idle process may
not notice an outage at all (channels_redis' pub/sub layer reconnects its
subscriptions without a word), so while live queries run, each process
publishes a heartbeat to the layer every :data:`HEARTBEAT_INTERVAL` seconds:
the publish that fails starts an outage, the first one that succeeds ends it
(:mod:`django_gql_channels.channel_layer.outage`), and the re-runs follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from ..channel_layer.groups import SharedGroup, join_group, leave_group
from ..channel_layer.layer_view import unavailable_if_unreachable
from ..channel_layer.listener import ChannelListener
from ..channel_layer.loops import PerLoop
from ..channel_layer.outage import layer_failed, on_layer_recovery, retry_once
from ..conf import gql_settings
from .changes import CHANGED, model_group
from .reads import ReadSet

__all__ = ["HEARTBEAT_GROUP", "HEARTBEAT_INTERVAL", "Watch", "heartbeats"]

logger = logging.getLogger("django_gql_channels")

#: Seconds between two heartbeats of a process with live queries.
HEARTBEAT_INTERVAL = 1.0
#: Where heartbeats go: nobody needs to listen, the publish is the probe.
HEARTBEAT_GROUP = "gql_live.heartbeat"


class _Heartbeat:
    """Publishes to the layer while live queries of this loop use it, so that outages are seen."""

    __slots__ = ("layer", "task", "users")

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.users = 0
        self.task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        layer = self.layer
        what = "a live-query heartbeat"
        send = partial(layer.group_send, HEARTBEAT_GROUP, {"type": "gql.live.heartbeat"})
        while True:
            try:
                # retry_once records the outage (its first failure) and its end (the next success),
                # which calls the watches' recovery callbacks.
                await asyncio.wait_for(retry_once(layer, what, send), gql_settings.LAYER_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                layer_failed(layer, what, exc)
            await asyncio.sleep(HEARTBEAT_INTERVAL)


#: {id(layer): its heartbeat}, per event loop
_heartbeats: PerLoop[int, _Heartbeat] = PerLoop()


def heartbeats() -> list[Any]:
    """The layers this loop's live queries send heartbeats to now."""
    return [beat.layer for beat in _heartbeats.get().values()]


def _start_heartbeat(layer: BaseChannelLayer) -> None:
    registry = _heartbeats.get()
    beat = registry.get(id(layer))
    if beat is None or beat.layer is not layer:
        beat = registry[id(layer)] = _Heartbeat(layer)
        # A clean context: the task outlives the live query that started it.
        beat.task = contextvars.Context().run(asyncio.get_running_loop().create_task, beat.beat())
    beat.users += 1


def _stop_heartbeat(layer: BaseChannelLayer) -> asyncio.Task[None] | None:
    registry = _heartbeats.get()
    beat = registry.get(id(layer))
    if beat is None:
        return None
    beat.users -= 1
    if beat.users > 0:
        return None
    del registry[id(layer)]
    task, beat.task = beat.task, None
    if task is not None:
        task.cancel()
    return task


class Watch(ChannelListener):
    """Hears of changes to what one live query read; :attr:`stale` is set when one concerns it."""

    __slots__ = ("_layer", "_memberships", "_unregister", "read_set", "running", "stale")

    def __init__(self) -> None:
        super().__init__(CHANGED, timeout=None, max_queued=1)
        self.stale = asyncio.Event()
        self.read_set = ReadSet()
        #: An execution is under way: what it reads is not known yet, so any change
        #: to a followed model may concern it.
        self.running = False
        self._memberships: dict[str, SharedGroup] = {}
        self._layer: BaseChannelLayer | None = None
        self._unregister: Callable[[], None] | None = None

    def put(self, message: dict[str, Any]) -> None:
        # Called by the shared membership's receiver for every change to a model
        # read by some live query of the process: a set lookup per key, no queue.
        if self.stale.is_set():
            return
        keys = message.get("keys")
        if not isinstance(keys, list):
            return
        if self.running:
            self.stale.set()
            return
        read_set = self.read_set
        for key in keys:
            if isinstance(key, str) and read_set.affected_by(key):
                self.stale.set()
                return

    def _recovered(self) -> None:
        self.stale.set()

    @property
    def groups(self) -> list[str]:
        """The groups followed now."""
        return list(self._memberships)

    async def follow(self, read_set: ReadSet) -> bool:
        """Listen for changes to what ``read_set`` holds; True if a group had to be joined.

        A group joined now was not heard while the execution ran: the caller
        re-runs once, so a change made meanwhile is not lost.
        """
        self.read_set = read_set
        wanted = {model_group(label) for label in read_set.labels}
        joined = False
        for group in [g for g in self._memberships if g not in wanted]:
            await leave_group(self._memberships.pop(group), self)
        missing = [g for g in wanted if g not in self._memberships]
        if missing:
            layer = self._get_layer()
            for group in missing:
                with unavailable_if_unreachable(layer, f"joining group {group}"):
                    shared = await join_group(layer, group)
                self._memberships[group] = shared
                shared.listeners.setdefault(CHANGED, set()).add(self)
                joined = True
        return joined

    def _get_layer(self) -> BaseChannelLayer:
        if self._layer is None:
            layer = get_channel_layer(gql_settings.CHANNEL_LAYER)
            if layer is None:
                raise RuntimeError(f"Live queries need a channel layer: CHANNEL_LAYERS has no "
                                   f"{gql_settings.CHANNEL_LAYER!r} layer.")
            self._layer = layer
            self._unregister = on_layer_recovery(layer, self._recovered)
            _start_heartbeat(layer)
        return self._layer

    async def stop(self) -> None:
        """Leave every group (the live query ends)."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        if self._layer is not None:
            beat = _stop_heartbeat(self._layer)
            self._layer = None
            if beat is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
        memberships, self._memberships = self._memberships, {}
        for shared in memberships.values():
            try:
                await leave_group(shared, self)
            except Exception:
                logger.warning("Leaving group %s failed.", shared.group, exc_info=True)
