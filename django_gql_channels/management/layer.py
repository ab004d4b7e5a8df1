"""The configured channel layer as the management commands use it.

Every layer call is bounded by a timeout: a Redis that is stopped refuses at
once, but one behind a dropped route would otherwise hang a command forever.
Commands run their coroutines with ``async_to_sync``: from ``manage.py`` that
is a fresh event loop (whose closing also closes channels_redis' connections),
and from code already inside an event loop (``sync_to_async(call_command)``)
it is that loop, which is the only way to reach an in-memory layer's
consumers in the same process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string

from ..conf import DEFAULTS, gql_settings

__all__ = [
    "LayerError",
    "LayerInfo",
    "RoundTrip",
    "bounded",
    "configured_layer",
    "describe_error",
    "group_round_trip",
]

DEFAULT_LAYER_TIMEOUT = 5.0
PROBE_TYPE = "gql_channels.probe"

T = TypeVar("T")


class LayerError(Exception):
    """The layer is missing, broken, or did not answer in time; the message says which.

    Messages do not name the layer: callers put :class:`LayerInfo` in front.
    """


@dataclass(frozen=True)
class LayerInfo:
    """Which ``CHANNEL_LAYERS`` entry ``GQL_CHANNELS["CHANNEL_LAYER"]`` names."""

    alias: str
    backend: str | None  # None when CHANNEL_LAYERS has no such entry

    def __str__(self) -> str:
        return f"layer {self.alias!r} ({self.backend or 'not configured'})"

    @property
    def in_memory(self) -> bool:
        """True for ``InMemoryChannelLayer`` and subclasses: they reach this process only."""
        if not self.backend:
            return False
        try:
            backend = import_string(self.backend)
        except ImportError:
            return False
        return isinstance(backend, type) and issubclass(backend, InMemoryChannelLayer)

    def in_memory_warning(self, what: str) -> str:
        return (f"{self} keeps messages inside one process: {what} only reaches consumers in this "
                "same process, never a server running in another one. Configure a Redis layer "
                "(channels_redis) to reach other processes.")

    def get(self) -> Any:
        """The layer object; :class:`LayerError` when it is not configured or cannot be built."""
        if self.backend is None:
            configured = ", ".join(repr(a) for a in (getattr(settings, "CHANNEL_LAYERS", None) or {})) or "none"
            raise LayerError(f"CHANNEL_LAYERS has no {self.alias!r} entry (configured: {configured}); "
                             "set CHANNEL_LAYERS or GQL_CHANNELS['CHANNEL_LAYER'].")
        try:
            layer = get_channel_layer(self.alias)
        except Exception as exc:  # Channels raises several kinds for a bad BACKEND or CONFIG
            raise LayerError(f"cannot be created: {describe_error(exc)}") from exc
        if layer is None:  # pragma: no cover - backend present but Channels returned nothing
            raise LayerError("is not available.")
        return layer


def configured_layer() -> LayerInfo:
    """The layer the GraphQL consumers use, without importing or connecting to it."""
    alias = gql_settings.user_settings.get("CHANNEL_LAYER", DEFAULTS["CHANNEL_LAYER"])
    if not isinstance(alias, str):  # reported by the system checks (E007); fall back like Channels
        alias = DEFAULTS["CHANNEL_LAYER"]
    entry = (getattr(settings, "CHANNEL_LAYERS", None) or {}).get(alias)
    if entry is None:
        return LayerInfo(alias, None)
    backend = entry.get("BACKEND") if isinstance(entry, dict) else None
    return LayerInfo(alias, backend if isinstance(backend, str) else "no BACKEND")


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")  # callers end the sentence
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """``await awaitable``, as a :class:`LayerError` naming ``what`` after ``timeout`` seconds or on failure."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise LayerError(f"{what}: no answer within {timeout:g} s") from None
    except (LayerError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise LayerError(f"{what}: {describe_error(exc)}") from exc


@dataclass(frozen=True)
class RoundTrip:
    """Seconds taken by a probe through the layer."""

    first: float  # joining a fresh group, then the first message out and back (connections included)
    steady: float  # the next message out and back: what a subscription's messages take


async def group_round_trip(layer: Any, timeout: float) -> RoundTrip:
    """Send probes out to a fresh group and back through the layer, timing them.

    It exercises what subscriptions use (``new_channel``, ``group_add``,
    ``group_send``, ``receive``); on a pub/sub layer, getting the first probe
    back also proves every subscription made before it is active. The first
    probe pays for connecting and subscribing (channels_redis' pub/sub reader
    also polls every 0.1 s until a subscription is active), hence a second one.
    """
    group = f"gql_channels.probe.{uuid.uuid4().hex}"
    started = time.perf_counter()
    channel = await bounded(layer.new_channel(), timeout, "creating a channel")
    await bounded(layer.group_add(group, channel), timeout, "joining a group")
    try:
        times = []
        for _ in range(2):
            await bounded(layer.group_send(group, {"type": PROBE_TYPE}), timeout, "sending to a group")
            message = await bounded(layer.receive(channel), timeout, "receiving the message back")
            if message.get("type") != PROBE_TYPE:  # pragma: no cover - a layer mixing channels up
                raise LayerError(f"the layer returned {message!r} instead of the probe message")
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
        return RoundTrip(first=times[0], steady=times[1])
    finally:
        try:
            await asyncio.wait_for(layer.group_discard(group, channel), timeout)
        except Exception:  # the outcome is already decided; leaving a probe group is best effort
            pass
