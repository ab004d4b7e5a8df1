"""Receiving a layer channel until cancelled, through outages: :func:`pump` and :class:`Refresher`.

Used by both kinds of receiver: the process's shared group memberships
(:mod:`.groups`) and each consumer's own channel (:mod:`.consumer`). What
counts as an outage, how long to wait and what is logged is :mod:`.outage`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer

from .outage import (
    backoff_delays,
    layer_failed,
    layer_recovered,
    on_layer_recovery,
    on_layer_restart,
    retry_until_done,
    sleep_until_retry,
)

__all__ = ["Refresher", "forget_channel", "pump"]


async def pump(
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
        while True:
            try:
                message = await layer.receive(channel)
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


class Refresher:
    """Re-joins a receiver's groups in the background when an outage of its layer ends.

    For receivers that never saw the outage: the restarted server forgot
    their memberships too, but their receive went on waiting.
    """

    __slots__ = ("_layer", "_rejoin", "_task", "_unregister", "_unregister_restore", "_what")

    def __init__(self, layer: BaseChannelLayer, what: str, rejoin: Callable[[], Awaitable[None]]) -> None:
        self._layer = layer
        self._what = what
        self._rejoin = rejoin
        self._task: asyncio.Task[None] | None = None
        self._unregister = on_layer_recovery(layer, self._start)
        # A publish of this process after an outage re-joins first (see outage.prepare_to_publish).
        self._unregister_restore = on_layer_restart(layer, rejoin)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                retry_until_done(self._layer, self._what, self._rejoin))

    async def stop(self) -> None:
        self._unregister()
        self._unregister_restore()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def forget_channel(layer: BaseChannelLayer, channel: str) -> None:
    """Free what the layer keeps for ``channel``, which nobody will read again."""
    if isinstance(layer, InMemoryChannelLayer):
        # The in-memory layer keeps a queue per channel until its messages
        # expire.
        layer.channels.pop(channel, None)
