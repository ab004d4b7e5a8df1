"""``@defer``/``@stream`` over HTTP: a ``multipart/mixed`` response, one JSON part per payload.

The framing is the one Apollo Client reads (``Accept: multipart/mixed;
deferSpec=20220824``) and GraphiQL's fetcher too: the boundary is ``-``, each
part has its own ``content-type: application/json; charset=utf-8`` header, and
the payloads are the engine's (:class:`~django_gql_channels.engine.IncrementalResults`,
the 2022-08-24 format). The body is::

    \\r\\n---\\r\\ncontent-type: application/json; charset=utf-8\\r\\n\\r\\n{"data":...,"hasNext":true}
    \\r\\n---\\r\\ncontent-type: application/json; charset=utf-8\\r\\n\\r\\n{"incremental":[...],"hasNext":false}
    \\r\\n-----\\r\\n

Each part is sent as soon as its payload is ready, so the client sees the
first part before the deferred work ends. A client that leaves stops that work.

A request for an incremental operation whose ``Accept`` does not admit
``multipart/mixed`` (with ``deferSpec=20220824`` or without a ``deferSpec``)
is refused with 406 before anything runs, as Apollo Server refuses it: one
payload could not carry the result without making the client wait for all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from ..engine import DEFER_SPEC
from .errors import HTTPError
from .negotiation import cached_by_value, parse_accept, weight

__all__ = [
    "MULTIPART_MIXED",
    "NOT_ACCEPTABLE_MESSAGE",
    "accepts_incremental",
    "incremental_not_acceptable",
    "stream_parts",
]

logger = logging.getLogger("django_gql_channels")

#: The response's content type.
MULTIPART_MIXED = f'multipart/mixed; boundary="-"; deferSpec={DEFER_SPEC}'.encode()
NOT_ACCEPTABLE_MESSAGE = (
    "This operation uses incremental delivery (@defer or @stream), but the request's Accept header does "
    f"not admit multipart/mixed responses: send 'Accept: multipart/mixed;deferSpec={DEFER_SPEC}, "
    "application/json' (as Apollo Client does), or remove the directives.")

_PART_HEAD = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = b"\r\n---"
_CLOSE = b"--\r\n"


def _accepts(accept: str) -> bool:
    for media_range in parse_accept(accept):
        if media_range.kind != "multipart" or media_range.subtype != "mixed":
            continue
        spec: str | None = None
        q = 1.0
        for name, value in media_range.params:
            value = value.strip('"')
            if name == "deferspec":
                spec = value
            elif name == "subscriptionspec":
                # Apollo's multipart subscriptions (.multipart_subscriptions), not this.
                q = 0.0
                break
            elif name == "q":
                q = weight(value)
        if q > 0 and spec in (None, DEFER_SPEC):
            return True
    return False


_accepts_value = cached_by_value(_accepts, 64)


def accepts_incremental_value(accept: bytes | None) -> bool:
    """Whether an ``Accept`` value (raw bytes, None if absent) admits this module's ``multipart/mixed``."""
    if not accept:
        return False
    return _accepts_value(accept)


def accepts_incremental(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a request's ``Accept`` admits this module's ``multipart/mixed`` (raw ASGI headers)."""
    return any(name == b"accept" and accepts_incremental_value(value) for name, value in headers)


def incremental_not_acceptable() -> HTTPError:
    return HTTPError(406, NOT_ACCEPTABLE_MESSAGE)


async def _until_disconnect(receive: Callable[..., Any]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def stream_parts(
    send: Callable[..., Any],
    receive: Callable[..., Any],
    status: int,
    headers: list[tuple[bytes, bytes]],
    first: bytes,
    payloads: AsyncIterator[dict[str, Any]],
    encode: Callable[[dict[str, Any]], Any],
    on_failure: Callable[[BaseException], dict[str, Any]],
) -> None:
    """Send the response: ``first`` (an encoded payload) at once, then each of ``payloads`` as it comes.

    ``encode`` turns a payload into ``bytes`` (or an awaitable of them);
    ``on_failure`` words an exception raised by ``payloads`` as the last
    payload's errors. Returns when the last part is sent or the client left.
    """
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MULTIPART_MIXED), *headers]})
    await send({"type": "http.response.body", "body": _DELIMITER + _PART_HEAD + first + _DELIMITER,
                "more_body": True})

    async def pump() -> None:
        try:
            async for payload in payloads:
                body = encode(payload)
                if not isinstance(body, bytes):
                    body = await body
                await send({"type": "http.response.body", "body": _PART_HEAD + body + _DELIMITER,
                            "more_body": True})
        except Exception as exc:
            # The response has started: the failure can only end it, with its errors as the last part.
            last = encode({"hasNext": False, **on_failure(exc)})
            if not isinstance(last, bytes):
                last = await last
            await send({"type": "http.response.body", "body": _PART_HEAD + last + _DELIMITER, "more_body": True})
        await send({"type": "http.response.body", "body": _CLOSE})

    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(_until_disconnect(receive))
    try:
        await asyncio.wait((pumping, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pumping, watching):
            if not task.done():
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watching
        with contextlib.suppress(asyncio.CancelledError):
            await pumping
    if not pumping.cancelled():
        pumping.result()
