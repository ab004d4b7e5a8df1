"""Names of JSON value kinds, for error messages about what a client sent."""

from __future__ import annotations

from typing import Any

__all__ = ["json_kind", "json_kind_with_article"]

_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: bool is an int
    ((int, float), "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (bytes, "bytes"),
)


def json_kind(value: Any) -> str:
    """``"null"``, ``"boolean"``, ``"number"``, ``"string"``, ``"array"``, ``"object"`` (or the type name)."""
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return type(value).__name__


def json_kind_with_article(value: Any) -> str:
    """:func:`json_kind` as a noun phrase: ``"a number"``, ``"an array"``, ``"null"``."""
    kind = json_kind(value)
    if kind in ("null", "bytes"):
        return kind
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
