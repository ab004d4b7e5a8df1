"""``GraphQLResult``: one result a test client received, read like graphql-core's ``ExecutionResult``."""

from __future__ import annotations

from typing import Any, cast

from graphql import ExecutionResult, GraphQLError, SourceLocation

__all__ = ["GraphQLResult"]


def _received_error(error: Any) -> GraphQLError:
    """A ``GraphQLError`` carrying what the server sent for one error (message, locations, path, extensions)."""
    if not isinstance(error, dict):
        return GraphQLError(str(error))
    extensions = error.get("extensions")
    received = GraphQLError(str(error.get("message", "")), path=error.get("path"),
                            extensions=extensions if isinstance(extensions, dict) else None)
    locations = error.get("locations")
    if isinstance(locations, list):
        # Whatever the server sent, as sent (graphql-core's annotation says int).
        received.locations = [SourceLocation(cast(int, location.get("line")), cast(int, location.get("column")))
                              for location in locations if isinstance(location, dict)]
    return received


class GraphQLResult(ExecutionResult):
    """One result the server sent, read like graphql-core's ``ExecutionResult``.

    ``.data``, ``.errors`` (``GraphQLError`` objects: ``.message``,
    ``.locations``, ``.path``, ``.extensions``) and ``.extensions``. It also
    reads like the response map it arrived as, for tests written against
    plain dicts: ``result["data"]``, ``result.get("errors")``,
    ``"errors" in result``, and ``result == {"data": ...}`` compares that
    map; ``.formatted`` is the map itself, exactly as received.
    """

    __slots__ = ("_payload",)

    def __init__(self, payload: dict[str, Any]) -> None:
        errors = payload.get("errors")
        super().__init__(
            payload.get("data"),
            [_received_error(error) for error in errors] if isinstance(errors, list) else None,
            payload.get("extensions"),
        )
        self._payload = payload

    @property
    def formatted(self) -> dict[str, Any]:  # type: ignore[override]
        return self._payload

    def __getitem__(self, key: str) -> Any:
        return self._payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._payload.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._payload

    def keys(self) -> Any:
        return self._payload.keys()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return self._payload == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]
