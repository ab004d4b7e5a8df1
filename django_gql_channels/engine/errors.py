"""Errors as clients see them (masked or with a debug stack trace) and as the log records them.

:class:`~.execution.Engine`'s ``format_*`` methods call these with its
``mask_errors`` and ``debug`` settings; what a transport formats goes through
the engine, so a subclass can override one place.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.core.exceptions import SynchronousOnlyOperation
from graphql import GraphQLError

from .documents import Operation

__all__ = [
    "INTERNAL_ERROR_CODE",
    "INTERNAL_ERROR_MESSAGE",
    "SYNC_ONLY_HINT",
    "SYNC_ONLY_IN_ASYNC_RESOLVER_HINT",
    "explain_sync_only",
    "format_error",
    "log_errors",
    "log_exception",
    "masked_error",
]

logger = logging.getLogger("django_gql_channels")

#: What a client sees of an unexpected exception while errors are masked.
INTERNAL_ERROR_MESSAGE = "Internal server error"
INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"


#: What replaces Django's bare "You cannot call this from an async context" while
#: ``SYNC_EXECUTION`` is off: the setting that makes synchronous resolvers work.
SYNC_ONLY_HINT = ("Django's ORM (or another synchronous-only API) was called from the event loop by a resolver: "
                  "set GQL_CHANNELS['SYNC_EXECUTION'] = True to run operations in Django's thread-sensitive "
                  "executor, as Django runs a sync view, or call it through sync_to_async in an async resolver.")
#: The same while ``SYNC_EXECUTION`` is on: then only an ``async def`` resolver is on the loop.
SYNC_ONLY_IN_ASYNC_RESOLVER_HINT = (
    "Django's ORM (or another synchronous-only API) was called from the event loop by an async resolver: "
    "with GQL_CHANNELS['SYNC_EXECUTION'] on, write it as a plain def (it then runs in Django's thread) "
    "or call the ORM through sync_to_async.")


def explain_sync_only(errors: list[GraphQLError], *, sync_execution: bool) -> list[GraphQLError]:
    """``errors`` with each ``SynchronousOnlyOperation`` a resolver raised replaced by one naming the way out.

    The replacement keeps the error's path, locations and extensions, and is
    still an unexpected exception (masked like any other, logged with the
    original as its cause). Without such errors the list is returned as is.
    """
    if not any(isinstance(error.original_error, SynchronousOnlyOperation) for error in errors):
        return errors
    hint = SYNC_ONLY_IN_ASYNC_RESOLVER_HINT if sync_execution else SYNC_ONLY_HINT
    explained = []
    for error in errors:
        original = error.original_error
        if isinstance(original, SynchronousOnlyOperation):
            replacement = SynchronousOnlyOperation(f"{hint} ({original})").with_traceback(original.__traceback__)
            replacement.__cause__ = original
            error = GraphQLError(replacement.args[0], error.nodes, error.source, error.positions, error.path,
                                 replacement, error.extensions)
        explained.append(error)
    return explained


def format_error(error: GraphQLError, *, mask_errors: bool, debug: bool) -> dict[str, Any]:
    """One error as the client sees it; see :meth:`~.execution.Engine.format_error`."""
    original = error.original_error
    if (mask_errors and original is not None and not isinstance(original, GraphQLError)
            and error.path is not None):
        return masked_error([location.formatted for location in error.locations] if error.locations else None,
                            error.path)
    formatted = error.formatted
    if debug and original is not None and not isinstance(original, GraphQLError):
        extensions = dict(formatted.get("extensions") or {})
        extensions["exception"] = {
            "type": type(original).__qualname__,
            "stacktrace": traceback.format_exception(type(original), original, original.__traceback__),
        }
        formatted["extensions"] = extensions
    return formatted  # type: ignore[return-value]


def masked_error(locations: Sequence[Mapping[str, object]] | None, path: list[str | int] | None) -> dict[str, Any]:
    """The formatted error that stands for an unexpected exception while errors are masked."""
    formatted: dict[str, Any] = {"message": INTERNAL_ERROR_MESSAGE}
    if locations:
        formatted["locations"] = locations
    if path is not None:
        formatted["path"] = path
    formatted["extensions"] = {"code": INTERNAL_ERROR_CODE}
    return formatted


def log_errors(errors: Collection[GraphQLError], operation: Operation | None = None) -> None:
    """Log the unexpected exceptions among ``errors`` (a client's mistakes are not the server's)."""
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            log_exception(original, operation, error.path)


def log_exception(exc: BaseException, operation: Operation | None, path: Any = None) -> None:
    """Log an unexpected exception in full, with the operation and the field path it broke."""
    where = ".".join(str(key) for key in path) if path else "(no field)"
    logger.error("Error in GraphQL operation %s at %s: %s: %s", _describe(operation), where,
                 type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__))


def _describe(operation: Operation | None) -> str:
    if operation is None:
        return "(unknown)"
    return f"{operation.kind} {operation.name or '(anonymous)'}"
