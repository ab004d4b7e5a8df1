"""A consumer's ``channel_layer``: the layer, remembering the groups the consumer's own channel joins.

Also :func:`unavailable_if_unreachable`, which turns "cannot reach the
layer's server" (or no answer within ``LAYER_TIMEOUT``) into
:class:`~django_gql_channels.exceptions.ChannelLayerUnavailable` for the client.
Every call through the view is bounded by ``LAYER_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from channels.layers import BaseChannelLayer
from graphql import GraphQLError

from ..exceptions import ChannelLayerUnavailable
from .outage import bounded, is_connection_error, layer_failed, retry_once

__all__ = ["ConsumerLayer", "PublishingUnavailable", "unavailable_if_unreachable"]


class PublishingUnavailable(ChannelLayerUnavailable):
    """A publish (``group_send``, ``send``) through ``ws.channel_layer`` could not reach the layer in time."""

    def __init__(self) -> None:
        GraphQLError.__init__(self, "Publishing is temporarily unavailable: try again shortly.",
                              extensions={"code": "SERVICE_UNAVAILABLE"})


@contextlib.contextmanager
def unavailable_if_unreachable(layer: BaseChannelLayer, what: str,
                               error: type[ChannelLayerUnavailable] = ChannelLayerUnavailable) -> Iterator[None]:
    """Turn "cannot reach the layer's server" into a clear error for the client (no host, no port)."""
    try:
        yield
    except ChannelLayerUnavailable:
        raise
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        layer_failed(layer, what, exc)
        raise error() from exc


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
        what = f"joining group {group}"
        with unavailable_if_unreachable(self._layer, what):
            await bounded(self._layer.group_add(group, channel), what)
        if channel == self._own_channel():
            self.joined.add(group)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """The layer's ``group_send``, retried once if the first attempt could not reach its server.

        Both attempts together take at most ``LAYER_TIMEOUT``; a layer that
        cannot be reached raises :class:`PublishingUnavailable` (``SERVICE_UNAVAILABLE``).
        """
        layer = self._layer
        what = f"group_send to {group}"
        with unavailable_if_unreachable(layer, what, PublishingUnavailable):
            await bounded(retry_once(layer, what, lambda: layer.group_send(group, message)), what)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """The layer's ``send``, retried once if the first attempt could not reach its server (as ``group_send``)."""
        layer = self._layer
        what = f"send to {channel}"
        with unavailable_if_unreachable(layer, what, PublishingUnavailable):
            await bounded(retry_once(layer, what, lambda: layer.send(channel, message)), what)

    async def group_discard(self, group: str, channel: str) -> None:
        what = f"leaving group {group}"
        try:
            with unavailable_if_unreachable(self._layer, what):
                await bounded(self._layer.group_discard(group, channel), what)
        finally:
            # Forgotten either way: a re-join after an outage must not bring it back.
            if channel == self._own_channel():
                self.joined.discard(group)
