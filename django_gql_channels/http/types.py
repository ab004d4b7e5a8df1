"""What resolvers and hooks see of an HTTP request, and what they can send back.

- :class:`ChannelsRequest`: the request (``context["request"]``).
- :class:`TemporalResponse`: status and headers a resolver sets for the reply
  (``context["response"]``).
- :class:`ChannelsResponse`: a complete reply a hook returns (the IDE page).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Union

from django.utils.datastructures import MultiValueDict

from ..channel_layer.consumer import ChannelsConsumer, scope_headers
from ..hook_values import ready

if TYPE_CHECKING:  # pragma: no cover
    from .multipart import UploadedFiles

__all__ = ["ChannelsRequest", "ChannelsResponse", "HeadersInput", "TemporalResponse", "encode_headers"]

#: Headers as a mapping (a value may be a list or tuple, sent as repeated headers) or as pairs.
HeadersInput = Union[Mapping[str, Union[str, list[str], tuple[str, ...]]], Iterable[tuple[str, str]]]


class ChannelsRequest:
    """An HTTP request as resolvers see it: ``info.context["request"]``.

    ``headers`` is a case-insensitive mapping of decoded header values, built
    from the ASGI scope on first use (so requests whose resolvers never look
    pay nothing). ``scope`` is the consumer's ASGI scope (``scope["user"]``,
    ``scope["session"]`` with Channels' auth middleware). For multipart
    requests ``body`` is empty: the parts are in ``files`` and, already mapped
    into the variables, in the operation itself.
    """

    __slots__ = ("_headers", "body", "consumer", "content_type", "files", "method")

    def __init__(
        self,
        consumer: ChannelsConsumer,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
        content_type: str | None = None,
        files: UploadedFiles | None = None,
    ) -> None:
        self.consumer = consumer
        self.body = body
        self._headers = headers
        self.method = method
        self.content_type = content_type
        self.files: UploadedFiles = files if files is not None else MultiValueDict()

    @property
    def headers(self) -> Mapping[str, str]:
        if self._headers is None:
            consumer = self.consumer
            # The consumer's own mapping (``consumer.headers``): built once for both.
            self._headers = (consumer.headers if isinstance(consumer, ChannelsConsumer)
                             else scope_headers(consumer.scope))
        return self._headers

    @property
    def scope(self) -> dict[str, Any]:
        return self.consumer.scope

    @property
    def query_params(self) -> dict[str, str]:
        """The URL's query parameters (the first value of each)."""
        from urllib.parse import parse_qsl

        params: dict[str, str] = {}
        query_string = self.consumer.scope.get("query_string", b"").decode("latin-1")
        for key, value in parse_qsl(query_string, keep_blank_values=True, encoding="utf-8", errors="replace"):
            params.setdefault(key, value)
        return params

    def __repr__(self) -> str:
        return f"<ChannelsRequest {self.method} {self.consumer.scope.get('path', '')!r}>"


class TemporalResponse:
    """Status and headers resolvers may set for the HTTP reply: ``info.context["response"]``.

    ``status_code`` reads 200 until a resolver sets it; once set it replaces
    the status the transport would have chosen. ``headers`` values may be
    lists to send a header more than once (``Set-Cookie``).
    """

    __slots__ = ("_status_code", "headers")

    def __init__(self, status_code: int | None = None, headers: dict[str, Any] | None = None) -> None:
        self._status_code = status_code
        self.headers: dict[str, Any] = headers if headers is not None else {}

    @property
    def status_code(self) -> int:
        return 200 if self._status_code is None else self._status_code

    @status_code.setter
    def status_code(self, value: int) -> None:
        self._status_code = value

    @property
    def status_code_set(self) -> bool:
        """Whether a resolver chose the status."""
        return self._status_code is not None

    @property
    def chosen_status(self) -> int | None:
        """The status a resolver chose, ``None`` until one does."""
        return self._status_code

    def __repr__(self) -> str:
        return f"<TemporalResponse {self.status_code} {self.headers!r}>"


class ChannelsResponse:
    """A complete HTTP reply, as :meth:`GraphQLHTTPConsumer.render_graphql_ide` returns."""

    __slots__ = ("content", "content_type", "headers", "status")

    def __await__(self) -> Generator[Any, None, ChannelsResponse]:
        # What ``render_graphql_ide``'s default returns, so that an ``async def``
        # override may ``await super().render_graphql_ide(request)``.
        return ready(self)

    def __init__(
        self,
        content: bytes | str,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        headers: HeadersInput | None = None,
    ) -> None:
        self.content = content.encode() if isinstance(content, str) else content
        self.status = status
        self.content_type = content_type
        self.headers = headers

    def __repr__(self) -> str:
        return f"<ChannelsResponse {self.status} {self.content_type!r} {len(self.content)} bytes>"


def _header_pairs(headers: HeadersInput) -> Iterator[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if isinstance(value, (list, tuple)):
            for one in value:
                yield name, one
        else:
            yield name, value


def encode_headers(headers: HeadersInput | None) -> list[tuple[bytes, bytes]]:
    """ASGI header pairs: names lower-cased, values latin-1 (as HTTP/1.1 allows)."""
    if not headers:
        return []
    return [(str(name).lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in _header_pairs(headers)]
