"""Refusals of an HTTP request before (or instead of) any GraphQL execution."""

from __future__ import annotations

__all__ = ["HTTPError"]


class HTTPError(Exception):
    """Reply ``status`` with ``{"errors": [{"message": message}]}`` (and ``headers``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers

