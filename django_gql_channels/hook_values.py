"""What the consumers' default hooks return: a plain value that may also be awaited.

The hooks (``get_context``, ``get_root_value``, ``process_result``,
``render_graphql_ide``, ``on_ws_connect``) may be overridden with ``async def``
or a plain ``def``, and either kind may call ``super()``. An ``async def``
override writes ``await super().get_context(...)``; a plain ``def`` one writes
``super().get_context(...)`` and uses the value at once. For both to work the
defaults are plain methods whose values are awaitable too: awaiting one gives
the value itself, without a coroutine or an event-loop step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any, TypeVar, Union

from .context import GrapheneContext

__all__ = ["READY_NONE", "MaybeAwaitable", "ReadyDict", "ReadyGrapheneContext", "ReadyNone", "ready"]

T = TypeVar("T")
#: What a hook may return: its value, or an awaitable of it (an ``async def`` override).
MaybeAwaitable = Union[T, Awaitable[T]]


def ready(value: T) -> Generator[Any, None, T]:
    """``await`` of ``value``: done at once, with ``value`` as the result (for ``__await__``)."""
    return value
    yield  # pragma: no cover - makes this a generator, never reached


class ReadyDict(dict[str, Any]):
    """A ``dict`` that ``await`` hands back unchanged."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, ReadyDict]:
        return ready(self)


class ReadyGrapheneContext(GrapheneContext):
    """A :class:`~django_gql_channels.context.GrapheneContext` that ``await`` hands back unchanged."""

    def __await__(self) -> Generator[Any, None, ReadyGrapheneContext]:
        return ready(self)


class ReadyNone:
    """``None`` as a default hook returns it: false, and ``await`` gives ``None``."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return ready(None)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "READY_NONE"


READY_NONE = ReadyNone()
