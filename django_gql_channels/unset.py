"""The ``UNSET`` sentinel: "no value given", distinct from ``None``."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

__all__ = ["UNSET", "UnsetType"]


class UnsetType:
    _instance: UnsetType | None = None

    def __new__(cls) -> UnsetType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __await__(self) -> Generator[Any, None, UnsetType]:
        # What ``on_ws_connect``'s default returns, so that an ``async def``
        # override may ``await super().on_ws_connect(context)``.
        return self
        yield  # pragma: no cover - makes this a generator, never reached

    def __reduce__(self) -> Any:
        return "UNSET"


UNSET: Any = UnsetType()
