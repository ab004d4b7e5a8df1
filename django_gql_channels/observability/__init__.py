"""What a team running this in production sees: metrics, traces and a log line per operation.

Three outputs, each off until asked for:

- ``METRICS``: Prometheus metrics through ``prometheus_client``, in its default
  registry (:mod:`.metrics`);
- ``TRACING``: OpenTelemetry spans through the global tracer provider (:mod:`.tracing`);
- the ``django_gql_channels.operations`` logger, at INFO: one line per operation
  outcome, on when logging is configured to show it (:mod:`.oplog`).

Transports call in at a few points only: :func:`watch_connection` when a
connection opens (a WebSocket, an SSE stream, an HTTP request),
:meth:`~.watches.ConnectionWatch.operation` when an operation arrives, then
the :class:`~.watches.OperationWatch`'s ``refuse`` / ``enter`` / ``result`` /
``fail`` / ``observe_stream`` / ``finish``. Each returns ``None`` when all three
outputs are off, so the transports skip everything behind one ``is None`` test
and neither ``prometheus_client`` nor ``opentelemetry`` is imported.
The channel layer reports drops and failures through :func:`count_dropped` and
:func:`count_layer_error`, which do nothing with ``METRICS`` off.

This package knows no transport, engine or channel layer: they call it.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from ..conf import SettingProblem, gql_settings, on_reload

if TYPE_CHECKING:  # pragma: no cover
    from .metrics import Metrics
    from .watches import ConnectionWatch, Observer

__all__ = [
    "OPERATIONS_LOGGER",
    "TRANSPORTS",
    "count_dropped",
    "count_layer_error",
    "count_live_query",
    "count_live_query_run",
    "observability_problems",
    "observer",
    "watch_connection",
]

#: The ``transport`` label's values.
TRANSPORTS = ("http", "sse", "graphql-transport-ws", "graphql-ws")

#: One INFO line per operation outcome; silent unless logging is configured to show it.
OPERATIONS_LOGGER = logging.getLogger("django_gql_channels.operations")

#: (METRICS, TRACING) as the settings read, cached until they reload.
_switches: tuple[bool, bool] | None = None
#: (metrics, tracing, log) -> the observer doing those
_observers: dict[tuple[bool, bool, bool], Observer] = {}



@on_reload
def _forget_switches() -> None:
    global _switches
    _switches = None
    _observers.clear()


def _read_switches() -> tuple[bool, bool]:
    global _switches
    if _switches is None:
        _switches = (bool(gql_settings.METRICS), bool(gql_settings.TRACING))
    return _switches


def observer() -> Observer | None:
    """The process's observer for what is switched on now; ``None`` when nothing is."""
    switches = _switches if _switches is not None else _read_switches()
    log = OPERATIONS_LOGGER.isEnabledFor(logging.INFO)
    if not (switches[0] or switches[1] or log):
        return None
    key = (switches[0], switches[1], log)
    found = _observers.get(key)
    if found is None:
        from .watches import Observer

        found = _observers[key] = Observer(metrics=key[0], tracing=key[1], log=log,
                                           operation_names=key[0] and bool(gql_settings.METRICS_OPERATION_NAMES))
    return found


def watch_connection(transport: str, scope: Any) -> ConnectionWatch | None:
    """A connection of ``transport`` opens (its ``scope``'s headers may carry a ``traceparent``).

    ``None`` when nothing is observed; else call its ``close()`` when the connection ends.
    """
    found = observer()
    return None if found is None else found.connection(transport, scope)


def _metrics() -> Metrics | None:
    switches = _switches if _switches is not None else _read_switches()
    if not switches[0]:
        return None
    from .metrics import metrics

    return metrics()


def count_dropped(count: int = 1) -> None:
    """A listener dropped ``count`` messages for a slow subscriber."""
    found = _metrics()
    if found is not None:
        found.dropped.inc(count)


def count_live_query(change: int) -> None:
    """A live query started (``1``) or stopped (``-1``) being kept up to date."""
    found = _metrics()
    if found is not None:
        found.live_queries.inc(change)


def count_live_query_run() -> None:
    """A live query was executed (its first run or a re-run)."""
    found = _metrics()
    if found is not None:
        found.live_query_runs.inc()


def count_layer_error() -> None:
    """A channel-layer call failed or timed out."""
    found = _metrics()
    if found is not None:
        found.layer_errors.inc()


#: setting -> (module it needs, the extra that installs it, check id)
_EXTRAS = {
    "METRICS": ("prometheus_client", "prometheus", "gql_channels.E090"),
    "TRACING": ("opentelemetry.trace", "opentelemetry", "gql_channels.E091"),
}


def observability_problems(user_settings: dict[str, Any], bad_keys: set[str | None]) -> list[SettingProblem]:
    """``METRICS`` / ``TRACING`` on without the package they need (found without importing it);
    operation names as labels while clients may send any document."""
    problems = []
    if (user_settings.get("METRICS_OPERATION_NAMES") is True and user_settings.get("METRICS") is True
            and user_settings.get("ONLY_PERSISTED_DOCUMENTS") is not True):
        problems.append(SettingProblem(
            "gql_channels.W090", "METRICS_OPERATION_NAMES",
            "labels operations with names clients choose, while ONLY_PERSISTED_DOCUMENTS is off: any client "
            "can create new time series without bound.",
            "Turn ONLY_PERSISTED_DOCUMENTS on (a known set of documents), or leave operation names to traces "
            "and the operation log."))
    for key, (module, extra, check_id) in _EXTRAS.items():
        if user_settings.get(key) is not True or key in bad_keys:
            continue
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing too
            found = False
        if not found:
            problems.append(SettingProblem(check_id, key, f"is on, but {module.split('.')[0]} is not installed.",
                                           f'pip install "django-gql-channels[{extra}]".'))
    return problems
