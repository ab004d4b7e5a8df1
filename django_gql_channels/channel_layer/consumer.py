"""``ChannelsConsumer``: the base of both transports, and ``listen_to_channel``.

Channel-layer plumbing is lazy: a consumer touches the layer only when code
uses it, so an HTTP request that never listens costs no layer channel and no
receive task.

Subscriptions that pass ``groups`` to :meth:`ChannelsConsumer.listen_to_channel`
share one layer channel per (process, group), kept in the process-wide
registry of :mod:`.groups`. So

- two subscriptions listening to different groups never see each other's
  messages (a channel-layer message does not say which group sent it, so the
  channel it arrives on has to), and
- one subscription ending never drops a group another one still listens to
  (memberships are reference-counted).

Listeners of one process receive the *same* message dict: treat it as
read-only.

Listeners without ``groups`` read the consumer's own ``channel_name``, as in
the Channels tutorial (``group_add(group, ws.channel_name)``), and so do
listeners for the groups that channel already joined by hand: those messages
arrive there anyway, and reading them through the shared membership as well
would deliver them twice. Own-channel messages that arrive while nothing
listens are kept (bounded in count and age) for a listener that starts
later: the tutorial greets the rooms it joined before it listens.

A channel-layer outage does not end subscriptions: receivers retry with a
bounded backoff and re-join their groups when the layer answers again
(:mod:`.receiving`, :mod:`.outage`); a new subscription that cannot reach the
layer gets :class:`~django_gql_channels.exceptions.ChannelLayerUnavailable`.

The iterator a listener reads is :class:`~.listener.ChannelListener`; the
``channel_layer`` resolvers see is :class:`~.layer_view.ConsumerLayer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from functools import cached_property
from typing import Any, ClassVar

from channels.consumer import AsyncConsumer, get_handler_name
from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.utils.datastructures import CaseInsensitiveMapping

from ..conf import gql_settings
from ..exceptions import ChannelLayerUnavailable
from .groups import SharedGroup, join_group, leave_group
from .layer_view import ConsumerLayer, unavailable_if_unreachable
from .listener import ChannelListener
from .outage import bounded, layer_failed, layer_is_down
from .receiving import Refresher, forget_channel, pump

__all__ = ["ChannelListener", "ChannelsConsumer", "scope_headers"]

logger = logging.getLogger("django_gql_channels")


def scope_headers(scope: Mapping[str, Any]) -> CaseInsensitiveMapping[str]:
    """An ASGI scope's headers as a case-insensitive mapping of decoded values.

    Repeated headers are joined as RFC 9110 allows (``, ``), cookies with
    ``; `` as RFC 6265 does.
    """
    merged: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if name in merged:
            separator = "; " if name.lower() == "cookie" else ", "
            merged[name] = merged[name] + separator + value
        else:
            merged[name] = value
    return CaseInsensitiveMapping(merged)


class ChannelsConsumer(AsyncConsumer):
    """Base of the GraphQL consumers: scope, send, and channel-layer listening."""

    channel_layer_alias: ClassVar[str] = "default"
    # types-channels types scope and messages as WebSocket ones (TypedDicts); these
    # consumers serve HTTP too and build their messages as plain dicts.
    scope: dict[str, Any]  # type: ignore[assignment]
    base_send: Callable[[Mapping[str, Any]], Awaitable[None]]
    #: Own-channel messages nothing listened to or handled are kept for a
    #: listener that starts later (the tutorial greets a room it joined by
    #: hand, then listens): at most this many (or the layer's ``capacity``)...
    unclaimed_limit: ClassVar[int] = 100
    #: ...for at most this many seconds (or the layer's ``expiry``).
    unclaimed_expiry: ClassVar[float] = 60.0

    def __init__(self) -> None:
        super().__init__()
        self.scope = {}
        self._channel_name: str | None = None
        #: listeners of this consumer's own channel
        self._listeners: dict[str, set[ChannelListener]] = {}
        #: this consumer's group listeners -> the process memberships they use
        self._group_listeners: dict[ChannelListener, list[SharedGroup]] = {}
        self._receivers: dict[str, asyncio.Task[None]] = {}
        #: creating the own channel (at most one attempt at a time)
        self._channel_task: asyncio.Task[str] | None = None
        #: (arrival time, message) that reached the own channel while nothing
        #: took them; created on first need (an empty deque costs 760 bytes)
        self._unclaimed: deque[tuple[float, dict[str, Any]]] | None = None

    @cached_property
    def headers(self) -> Mapping[str, str]:
        """The request's (HTTP) or the handshake's (WebSocket) headers, case-insensitive.

        ``info.context["ws"].headers["authorization"]``; built on first use.
        """
        return scope_headers(self.scope)

    # -- the layer -----------------------------------------------------------

    @cached_property
    def raw_channel_layer(self) -> BaseChannelLayer | None:
        """The configured layer itself (``None`` without ``CHANNEL_LAYERS``), without the
        bookkeeping of :attr:`channel_layer`; for this package's transports."""
        alias = self.channel_layer_alias
        if alias == "default":
            alias = gql_settings.CHANNEL_LAYER
        return get_channel_layer(alias)

    @cached_property
    def channel_layer(self) -> BaseChannelLayer | None:  # type: ignore[override]
        """The channel layer, as resolvers use it (``group_send``, ``group_add``...).

        Groups that this consumer's own ``channel_name`` joins through it are
        remembered and left when the connection ends, even if the code that
        joined them never calls ``group_discard``.
        """
        layer = self.raw_channel_layer
        if layer is None:
            return None
        return ConsumerLayer(layer, type(self).__name__, lambda: self._channel_name)  # type: ignore[return-value]

    def _require_layer(self) -> BaseChannelLayer:
        layer = self.raw_channel_layer
        if layer is None:
            raise ImproperlyConfigured(
                "Subscriptions need a channel layer: set CHANNEL_LAYERS, e.g. "
                '{"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}.'
            )
        return layer

    async def ensure_channel_name(self) -> str:
        """This consumer's own layer channel, created on first use.

        Waits at most ``LAYER_TIMEOUT`` seconds (also for an attempt
        :meth:`prepare_channel_name` started); a layer that cannot be reached
        raises :class:`~django_gql_channels.exceptions.ChannelLayerUnavailable`.
        """
        if self._channel_name is not None:
            return self._channel_name
        layer = self._require_layer()
        task = self._channel_task
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._start_channel_task(layer)
        with unavailable_if_unreachable(layer, "creating a channel"):
            # Shielded: a caller giving up (or cancelled) leaves the attempt to the next one.
            return await asyncio.shield(task)

    def prepare_channel_name(self) -> None:
        """Start creating this consumer's own channel without waiting for it (a WebSocket handshake).

        Nothing happens without a layer, with a channel already made or
        being made, or while the layer is known to be down: the channel is
        then made by :meth:`ensure_channel_name` when an operation needs it.
        """
        layer = self.raw_channel_layer
        if layer is None or self._channel_name is not None or self._channel_task is not None or layer_is_down(layer):
            return
        self._start_channel_task(layer)

    def _start_channel_task(self, layer: BaseChannelLayer) -> asyncio.Task[str]:
        async def create() -> str:
            name = await bounded(layer.new_channel(), "creating a channel")
            self._channel_name = name
            return name

        def done(task: asyncio.Task[str]) -> None:
            if task.cancelled():
                return
            if task.exception() is not None:
                layer_failed(layer, "creating a channel", task.exception())  # type: ignore[arg-type]
            elif self._channel_task is task:
                # The name is kept; a finished task (and its coroutine) would
                # only hold half a KiB per connection.
                self._channel_task = None

        task = self._channel_task = asyncio.get_running_loop().create_task(create())
        task.add_done_callback(done)
        return task

    @property
    def channel_name(self) -> str:  # type: ignore[override]
        """This consumer's layer channel; messages sent to it reach its listeners.

        Reading it starts receiving on it, so messages sent there (by
        ``group_add(group, ws.channel_name)`` memberships) are delivered to
        listeners without ``groups`` and to ``type``-named handler methods.
        """
        if self._channel_name is None:
            layer = self.raw_channel_layer
            if layer is not None and layer_is_down(layer):
                raise ChannelLayerUnavailable()  # the socket opened during an outage
            raise AttributeError(
                "This consumer has no layer channel yet: use `await consumer.ensure_channel_name()`."
            )
        self._start_receiving(self._channel_name)
        return self._channel_name

    # -- listening -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def listen_to_channel(
        self,
        type: str | Iterable[str],
        *,
        timeout: float | None = None,
        groups: Iterable[str] = (),
    ) -> AsyncIterator[ChannelListener]:
        """Join ``groups`` and yield an async iterator of their ``type`` messages.

        ``type`` may also be several types: one iterator then yields all of
        them in the order they arrived (``("model.saved", "model.deleted")``).
        Without ``groups`` the iterator reads the consumer's own channel. So
        does it for those of ``groups`` that the own channel already joined
        by hand (``ws.channel_layer.group_add(group, ws.channel_name)``, as in
        the Channels tutorial): their messages arrive there anyway, so
        reading them from the process's shared membership too would deliver
        each twice. A listener reading the own channel first gets the
        messages of its types that reached it while nothing listened (a
        greeting sent right after joining). On exit the groups this listener
        alone used are left and its queue is freed.
        """
        layer = self._require_layer()
        groups = list(dict.fromkeys(groups))
        listener = ChannelListener(type, timeout=timeout, max_queued=gql_settings.SUBSCRIPTION_QUEUE_SIZE)
        own_channel: str | None = None
        try:
            if groups:
                by_hand = self._joined_by_hand()
                shared_groups = [group for group in groups if group not in by_hand] if by_hand else groups
                if len(shared_groups) < len(groups):
                    own_channel = self._channel_name
                if shared_groups:
                    memberships = self._group_listeners[listener] = []
                    for group in shared_groups:
                        with unavailable_if_unreachable(layer, f"joining group {group}"):
                            shared = await join_group(layer, group)
                        memberships.append(shared)
                        # Listen before the next await: a message for this group
                        # may arrive while the next one is being joined.
                        for message_type in listener.types:
                            shared.listeners.setdefault(message_type, set()).add(listener)
            else:
                own_channel = await self.ensure_channel_name()
            if own_channel is not None:
                self._listeners.setdefault(own_channel, set()).add(listener)
                self._hand_over_unclaimed(listener)
                self._start_receiving(own_channel)
            yield listener
        finally:
            if own_channel is not None:
                listeners = self._listeners.get(own_channel)
                if listeners is not None:
                    listeners.discard(listener)
                    if not listeners:
                        del self._listeners[own_channel]
            listener.close()
            await self._release_listener(listener)

    def _joined_by_hand(self) -> set[str] | tuple[()]:
        """The groups this consumer's own channel joined through ``self.channel_layer``."""
        view: ConsumerLayer | None = self.__dict__.get("channel_layer")
        return view.joined if view is not None and self._channel_name is not None else ()

    def _keep_unclaimed(self, message: dict[str, Any]) -> None:
        """Hold an own-channel message nothing took, as the layer would have held it (within limits)."""
        capacity = getattr(self.raw_channel_layer, "capacity", None)
        limit = self.unclaimed_limit
        if isinstance(capacity, int) and 0 < capacity < limit:
            limit = capacity
        self._drop_expired_unclaimed()
        unclaimed = self._unclaimed
        if unclaimed is None:
            unclaimed = self._unclaimed = deque()
        while unclaimed and len(unclaimed) >= limit:
            dropped = unclaimed.popleft()[1]
            logger.debug("Dropped an unclaimed %r message: %d already wait.", dropped.get("type"), limit)
        if limit > 0:
            unclaimed.append((time.monotonic(), message))

    def _drop_expired_unclaimed(self) -> None:
        unclaimed = self._unclaimed
        if not unclaimed:
            return
        expiry = getattr(self.raw_channel_layer, "expiry", None)
        if not isinstance(expiry, (int, float)) or expiry > self.unclaimed_expiry:
            expiry = self.unclaimed_expiry
        oldest_kept = time.monotonic() - expiry
        while unclaimed and unclaimed[0][0] < oldest_kept:
            dropped = unclaimed.popleft()[1]
            logger.debug("No listener for a %r message on %s within %ss; dropped.",
                         dropped.get("type"), self._channel_name, expiry)

    def _hand_over_unclaimed(self, listener: ChannelListener) -> None:
        """Give a new own-channel listener the waiting messages of its type, oldest first."""
        self._drop_expired_unclaimed()
        unclaimed = self._unclaimed
        if not unclaimed:
            return
        kept: deque[tuple[float, dict[str, Any]]] = deque()
        for entry in unclaimed:
            if entry[1].get("type") in listener.types:
                listener.put(entry[1])
            else:
                kept.append(entry)
        self._unclaimed = kept or None

    async def _release_listener(self, listener: ChannelListener) -> None:
        """Unregister a group listener; leave the groups nobody in the process uses any more."""
        memberships = self._group_listeners.pop(listener, None)
        if not memberships:
            return
        for shared in memberships:
            await leave_group(shared, listener)

    # -- receiving -----------------------------------------------------------

    def _start_receiving(self, channel: str) -> None:
        if channel not in self._receivers:
            self._receivers[channel] = asyncio.get_running_loop().create_task(self._receive_from(channel))

    async def _stop_receiving(self, channel: str) -> None:
        task = self._receivers.pop(channel, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        layer = self.raw_channel_layer
        if layer is not None:
            forget_channel(layer, channel)

    async def _receive_from(self, channel: str) -> None:
        layer = self._require_layer()

        async def rejoin() -> None:
            # The channel's name is the consumer's for good (resolvers hold
            # it); the server may have forgotten the groups it joined.
            view: ConsumerLayer | None = self.__dict__.get("channel_layer")
            for group in list(view.joined) if view is not None else ():
                await layer.group_add(group, channel)

        what = f"receiving channel {channel}"
        refresher = Refresher(layer, what, rejoin)
        try:
            await pump(layer, channel, lambda message: self._route_layer_message(channel, message), rejoin, what)
        finally:
            await refresher.stop()

    async def _route_layer_message(self, channel: str, message: dict[str, Any]) -> None:
        message_type = message.get("type")
        delivered = False
        for listener in self._listeners.get(channel, ()):
            if message_type in listener.types:
                listener.put(message)
                delivered = True
        if delivered or channel != self._channel_name or not isinstance(message_type, str):
            return
        # A consumer subclass may handle its own channel's messages with
        # methods named after the type, as Channels' consumers do.
        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            await handler(message)
        else:
            # A listener may come for it: the tutorial joins a group by hand,
            # greets it, and only then starts listening.
            self._keep_unclaimed(message)

    # -- what this consumer holds (read-only, for tests and debugging) --------

    @property
    def channel_listeners(self) -> tuple[ChannelListener, ...]:
        """The listeners open on this consumer, on its own channel or on groups."""
        found = dict.fromkeys(self._group_listeners)
        for listeners in self._listeners.values():
            found.update(dict.fromkeys(listeners))
        return tuple(found)

    @property
    def receiving_channels(self) -> tuple[str, ...]:
        """The channels this consumer receives on itself (group memberships are received per process)."""
        return tuple(self._receivers)

    @property
    def unclaimed_messages(self) -> tuple[dict[str, Any], ...]:
        """Own-channel messages kept for a listener yet to come, oldest first."""
        return tuple(message for _, message in self._unclaimed or ())

    @property
    def layer_in_use(self) -> bool:
        """Whether this consumer listens, receives or joined groups: :meth:`close_channel_layer` has work."""
        return bool(self._group_listeners or self._receivers or self._listeners or self._channel_task is not None
                    or self._channel_name is not None or "channel_layer" in self.__dict__)

    async def close_channel_layer(self) -> None:
        """Stop every receive task and leave every group; safe to call twice."""
        for listener in list(self._group_listeners):
            with contextlib.suppress(Exception):
                await self._release_listener(listener)
        layer_view: ConsumerLayer | None = self.__dict__.get("channel_layer")
        if layer_view is not None and self._channel_name is not None:
            for group in list(layer_view.joined):
                with contextlib.suppress(Exception):
                    await layer_view.group_discard(group, self._channel_name)
        task, self._channel_task = self._channel_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for channel in list(self._receivers):
            await self._stop_receiving(channel)
        self._listeners.clear()
        self._unclaimed = None
