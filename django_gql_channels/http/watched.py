"""The observed side of one HTTP request, shared by the consumer and the Django view."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .errors import HTTPError

__all__ = ["watched_request"]


@contextlib.contextmanager
def watched_request(watch: Any, connection: Any) -> Iterator[None]:
    """Answer a request under its operation ``watch``: refused on an :class:`HTTPError`, failed on
    any other exception, finished unless another task took it over; ``connection`` (if any) closed."""
    try:
        yield
    except HTTPError:
        watch.refuse()
        raise
    except Exception as exc:
        watch.fail(exc)
        raise
    finally:
        if connection is not None:
            connection.close()
        if not watch.handed_over:
            watch.finish()
