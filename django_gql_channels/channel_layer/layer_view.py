"""A consumer's ``channel_layer``: the layer, remembering the groups the consumer's own channel joins.

Also :func:`unavailable_if_unreachable`, which turns "cannot reach the
layer's server" into :class:`~django_gql_channels.exceptions.ChannelLayerUnavailable`
for the client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from channels.layers import BaseChannelLayer

from ..exceptions import ChannelLayerUnavailable
from .outage import is_connection_error, layer_failed, retry_once

__all__ = ["ConsumerLayer", "unavailable_if_unreachable"]


@contextlib.contextmanager
def unavailable_if_unreachable(layer: BaseChannelLayer, what: str) -> Iterator[None]:
    """Turn "cannot reach the layer's server" into a clear error for the client (no host, no port)."""
    try:
        yield
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        layer_failed(layer, what, exc)
        raise ChannelLayerUnavailable() from exc


class ConsumerLayer:
    """A consumer's view of its channel layer; everything else is the layer's own.

    Remembers the groups the consumer's own channel joins through it, so the
    consumer can leave them when its connection ends. ``own_channel`` gives
    that channel's name (``None`` until it has one) without creating it.
    """

    __slots__ = ("_layer", "_owner", "_own_channel", "joined")

    def __init__(self, layer: BaseChannelLayer, owner: str, own_channel: Callable[[], str | None]) -> None:
        self._layer = layer
        self._owner = owner
        self._own_channel = own_channel
        self.joined: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._layer, name)

    def __repr__(self) -> str:
        return f"<{type(self._layer).__name__} as seen by {self._owner}>"

    async def group_add(self, group: str, channel: str) -> None:
        with unavailable_if_unreachable(self._layer, f"joining group {group}"):
            await self._layer.group_add(group, channel)
        if channel == self._own_channel():
            self.joined.add(group)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """The layer's ``group_send``, retried once if the first attempt could not reach its server."""
        layer = self._layer
        await retry_once(layer, f"group_send to {group}", lambda: layer.group_send(group, message))

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """The layer's ``send``, retried once if the first attempt could not reach its server."""
        layer = self._layer
        await retry_once(layer, f"send to {channel}", lambda: layer.send(channel, message))

    async def group_discard(self, group: str, channel: str) -> None:
        await self._layer.group_discard(group, channel)
        if channel == self._own_channel():
            self.joined.discard(group)
