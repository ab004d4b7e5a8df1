"""Calling the HTTP consumer's hooks: each may be ``async def`` or a plain ``def``."""

from __future__ import annotations

from collections.abc import Iterable
from inspect import isawaitable
from typing import TypeVar

from ..hook_values import MaybeAwaitable

__all__ = ["MaybeAwaitable", "hook_result", "overridden_hooks"]

T = TypeVar("T")

#: What sync hooks usually return: never awaitable.
_PLAIN_TYPES = frozenset({str, bytes, dict, list, type(None)})

_overridden_by_class: dict[type, frozenset[str]] = {}


async def hook_result(value: MaybeAwaitable[T]) -> T:
    """What a hook returned, awaited when it is awaitable."""
    if value.__class__ in _PLAIN_TYPES or not isawaitable(value):  # the usual answers, checked cheaply
        return value  # type: ignore[return-value]
    return await value


def overridden_hooks(cls: type, base: type, names: Iterable[str]) -> frozenset[str]:
    """Those of ``names`` that ``cls`` overrides from ``base`` (computed once per class)."""
    try:
        return _overridden_by_class[cls]
    except KeyError:
        overridden = frozenset(name for name in names if getattr(cls, name) is not getattr(base, name))
        _overridden_by_class[cls] = overridden
        return overridden
