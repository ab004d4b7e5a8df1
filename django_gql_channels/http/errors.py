"""Refusals of an HTTP request before (or instead of) any GraphQL execution.

:class:`HTTPError` carries a status and message; the functions below build
the refusals more than one step of the request path makes, so each status
has one wording.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HTTPError", "check_charset", "method_not_allowed", "not_acceptable", "too_large",
           "unsupported_media_type"]


class HTTPError(Exception):
    """Reply ``status`` with ``{"errors": [{"message": message}]}`` (and ``headers``).

    With ``code``, the error carries ``extensions.code`` too.
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, *,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.code = code

    def as_error(self) -> dict[str, Any]:
        """The refusal as one entry of ``errors``."""
        if self.code is None:
            return {"message": self.message}
        return {"message": self.message, "extensions": {"code": self.code}}


def not_acceptable() -> HTTPError:
    """406: ``Accept`` admits neither JSON media type."""
    return HTTPError(406, "The Accept header admits no type this endpoint sends: accept "
                          "application/graphql-response+json or application/json.")


def too_large(limit: int) -> HTTPError:
    """413: the body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    return HTTPError(413, f"The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE ({limit} bytes).")


def unsupported_media_type(content_type: bytes | None, *, multipart_enabled: bool) -> HTTPError:
    """415: a ``Content-Type`` this endpoint does not read (or none)."""
    supported = "application/json"
    if multipart_enabled:
        supported += " or multipart/form-data (GraphQL multipart request)"
    if content_type is None:
        return HTTPError(415, f"The request has no Content-Type: send {supported}.")
    media_type = content_type.split(b";", 1)[0].strip().decode("latin-1")
    if media_type.lower() == "multipart/form-data":
        return HTTPError(415, "Multipart uploads are turned off (MULTIPART_UPLOADS_ENABLED is False): "
                              "send application/json.")
    return HTTPError(415, f"Unsupported Content-Type {media_type!r}: send {supported}.")


def check_charset(content_type: bytes) -> None:
    """Refuse (415) a JSON body whose ``charset`` parameter is not UTF-8."""
    for param in content_type.split(b";")[1:]:
        name, _, value = param.partition(b"=")
        if name.strip().lower() == b"charset" and value.strip(b" \t\"'").lower() not in (b"utf-8", b"utf8"):
            raise HTTPError(415, f"Unsupported charset {value.strip().decode('latin-1')!r}: "
                                 "send JSON in UTF-8.")


def method_not_allowed(method: str, *, queries_via_get: bool, ide: bool, sse_enabled: bool) -> HTTPError:
    """405 for a method the endpoint does not serve, with the ``Allow`` header of those it does."""
    allowed = "GET, POST" if queries_via_get or ide else "POST"
    if sse_enabled:
        allowed = f"{allowed}{'' if allowed.startswith('GET') else ', GET'}, PUT, DELETE"
    return HTTPError(405, f"{method} is not supported: send queries with POST{' or GET' if queries_via_get else ''}.",
                     {"Allow": allowed})
