"""Reading a request body from ASGI ``receive``: whole JSON bodies, spooled multipart bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from tempfile import SpooledTemporaryFile
from typing import Any

from django.conf import settings

from .errors import HTTPError, too_large
from .multipart import parse_multipart

__all__ = ["Disconnected", "read_body", "read_multipart"]


class Disconnected(Exception):
    """The client went away while we read its body."""


async def read_body(receive: Callable[..., Any], content_length: bytes | None) -> bytes:
    """The whole body, refused with 413 past ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and content_length is not None:
        try:
            too_big = int(content_length) > limit
        except ValueError:
            raise HTTPError(400, "The Content-Length header is not a number.") from None
        if too_big:
            raise too_large(limit)
    message = await receive()
    if message["type"] != "http.request":
        raise Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if limit is not None and len(body) > limit:
            raise too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def read_multipart(receive: Callable[..., Any], content_type: str) -> tuple[Any, Any]:
    """A ``multipart/form-data`` body's fields and files, as Django's parser reads them."""
    # Spooled like Django's ASGI handler: in memory up to
    # FILE_UPLOAD_MAX_MEMORY_SIZE, then on disk. Django's parser then
    # applies its own limits to fields and files.
    memory_limit = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    size = 0
    with SpooledTemporaryFile(max_size=memory_limit, mode="w+b") as stream:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise Disconnected
            chunk = message.get("body", b"")
            if chunk:
                stream.write(chunk)
                size += len(chunk)
            if not message.get("more_body"):
                break
        stream.seek(0)
        if size > memory_limit:  # on disk: keep file I/O off the event loop
            return await asyncio.to_thread(parse_multipart, stream, content_type, size)
        return parse_multipart(stream, content_type, size)
