"""OpenTelemetry spans (``TRACING``): one per operation, through the global tracer provider.

Names and attributes follow OpenTelemetry's GraphQL semantic conventions: the
span is named ``"<operation type> <operation name>"`` (the type alone when
unnamed; ``"GraphQL Operation"`` when the document was refused before its
type was known) and carries ``graphql.operation.type`` and
``graphql.operation.name``, plus ``graphql.transport`` (``http``, ``sse``,
``graphql-transport-ws``, ``graphql-ws``).

**Parent.** Inside a span that is already current (OpenTelemetry's ASGI
middleware around the application), the operation's span is its child, of
kind ``INTERNAL``. Otherwise the request's (or the WebSocket handshake's)
headers are read with the global propagator (W3C ``traceparent`` and
``tracestate`` by default) and the span, of kind ``SERVER``, continues that
trace; with no such header it starts a new one.

**Subscriptions.** The span covers the subscription's lifetime: it starts with
the ``subscribe`` message and ends when the subscription does, and is exported
only then. Each result sent is an event named ``graphql.subscription.event`` on
it, and the count is the attribute ``graphql.subscription.events`` at the end.
A span event costs a timestamp and a small object; a child span per event would
cost a whole span, exported on its own, per subscriber and event. The SDK keeps
at most ``OTEL_SPAN_EVENT_COUNT_LIMIT`` (128) events per span, so later results
add none (the SDK would drop them); the count attribute stays exact.

**Errors.** A result with errors sets the span's status to ``ERROR`` (the first
error's message) and records each error as an ``exception`` event (the first
ten); an exception the operation raised is recorded the same way. Traces are
server-side: messages are not masked.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.propagate import extract, get_global_textmap
    from opentelemetry.propagators.textmap import Getter
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImproperlyConfigured(
        'GQL_CHANNELS["TRACING"] is on but opentelemetry-api is not installed: '
        'pip install "django-gql-channels[opentelemetry]".'
    ) from exc

__all__ = ["MAX_SPAN_EVENTS", "SUBSCRIPTION_EVENT", "attach", "detach", "end_span", "parent_of", "record_errors",
           "span_name", "start_span"]

#: The name of the span event each subscription result adds.
SUBSCRIPTION_EVENT = "graphql.subscription.event"
#: Errors recorded as events on one span at most.
MAX_RECORDED_ERRORS = 10
#: Subscription events added to one span at most: the SDK's own limit, past which it
#: would make each event only to drop it (``OTEL_SPAN_EVENT_COUNT_LIMIT``, 128 by default).
MAX_SPAN_EVENTS = int(os.environ.get("OTEL_SPAN_EVENT_COUNT_LIMIT") or 128)

_tracer: Any = None


def _get_tracer() -> Any:
    global _tracer
    if _tracer is None:
        try:
            version: str | None = importlib.metadata.version("django-gql-channels")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
            version = None
        # A proxy until the application sets a provider: spans go to whatever is set by then.
        _tracer = trace.get_tracer("django_gql_channels", version)
    return _tracer


class _ASGIHeaders(Getter[Sequence[tuple[bytes, bytes]]]):
    """Reads propagation headers straight from an ASGI scope's header list."""

    def get(self, carrier: Sequence[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for name, value in carrier if name == wanted]
        return values or None

    def keys(self, carrier: Sequence[tuple[bytes, bytes]]) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier]


_getter = _ASGIHeaders()
#: A context without a span: the parent of a span that starts a new trace.
_ROOT = otel_context.Context()


#: (the global propagator, the header names it reads as bytes), looked up once per propagator
_fields: tuple[Any, frozenset[bytes]] | None = None


def _propagated_headers() -> frozenset[bytes]:
    global _fields
    propagator = get_global_textmap()
    if _fields is None or _fields[0] is not propagator:
        _fields = (propagator, frozenset(name.lower().encode("latin-1") for name in propagator.fields))
    return _fields[1]


def parent_of(scope: Any) -> tuple[Any, Any]:
    """``(parent context, span kind)`` for operations of a request or handshake with ``scope``."""
    if trace.get_current_span().get_span_context().is_valid:
        return None, SpanKind.INTERNAL  # the current span (an ASGI middleware's) is the parent
    headers: Sequence[tuple[bytes, bytes]] = (scope.get("headers") or ()) if isinstance(scope, dict) else ()
    wanted = _propagated_headers()
    if not any(name in wanted for name, _ in headers):
        # Nothing to continue: a new trace (the propagator would find nothing either).
        return _ROOT, SpanKind.SERVER
    return extract(headers, getter=_getter), SpanKind.SERVER


def span_name(operation_type: str | None, operation_name: str | None) -> str:
    if operation_type is None:
        return "GraphQL Operation"
    return f"{operation_type} {operation_name}" if operation_name else operation_type


def start_span(transport: str, operation_type: str | None, operation_name: str | None, parent: Any, kind: Any,
               start_ns: int) -> Any:
    attributes: dict[str, str] = {"graphql.transport": transport}
    if operation_type is not None:
        attributes["graphql.operation.type"] = operation_type
    if operation_name:
        attributes["graphql.operation.name"] = operation_name
    return _get_tracer().start_span(span_name(operation_type, operation_name), context=parent, kind=kind,
                                    attributes=attributes, start_time=start_ns)


def attach(span: Any) -> Any:
    """Make ``span`` current (resolvers' own spans nest under it); the token goes to :func:`detach`."""
    return otel_context.attach(trace.set_span_in_context(span))


def detach(token: Any) -> None:
    otel_context.detach(token)


def record_errors(span: Any, errors: Sequence[BaseException]) -> None:
    """The span failed: ``ERROR`` with the first error's message, each error an ``exception`` event."""
    if not errors:
        return
    span.set_status(Status(StatusCode.ERROR, str(errors[0]) or type(errors[0]).__name__))
    for error in errors[:MAX_RECORDED_ERRORS]:
        span.record_exception(getattr(error, "original_error", None) or error)


def end_span(span: Any, events: int | None) -> None:
    if events is not None:
        span.set_attribute("graphql.subscription.events", events)
    span.end()
