"""The Prometheus metrics (``METRICS``), registered once per process in ``prometheus_client``'s default registry.

Labels are bounded: ``transport`` (four values), ``operation_type`` (``query``,
``mutation``, ``subscription``, or ``unknown`` for a document refused before
its type was known) and ``outcome`` (``ok``, ``error``, ``refused``). No
operation or group names: each distinct label value is a time series kept
forever by every scraper.

The gauges say how much a process holds now; with several worker processes
(``PROMETHEUS_MULTIPROC_DIR``) their ``livesum`` mode adds up the live
processes' values and forgets those of processes that exited.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImproperlyConfigured(
        'GQL_CHANNELS["METRICS"] is on but prometheus_client is not installed: '
        'pip install "django-gql-channels[prometheus]".'
    ) from exc

__all__ = ["DURATION_BUCKETS", "Metrics", "NamedOperations", "metrics", "named_operations"]

#: Seconds: queries and mutations in the first buckets, subscriptions' lifetimes in the last.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0, 300.0, 1800.0, 3600.0)


class Metrics:
    """The metrics of CONTRACT.md's ``METRICS``, in ``registry``."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.operations = Counter(
            "gql_channels_operations", "GraphQL operations finished, by transport, type and outcome.",
            ["transport", "operation_type", "outcome"], registry=registry)
        self.duration = Histogram(
            "gql_channels_operation_duration_seconds",
            "Seconds from an operation's arrival to its end (a subscription's whole lifetime).",
            ["transport", "operation_type"], buckets=DURATION_BUCKETS, registry=registry)
        self.connections = Gauge(
            "gql_channels_connections",
            "Open connections: WebSockets, SSE streams, HTTP requests being answered.",
            ["transport"], multiprocess_mode="livesum", registry=registry)
        self.subscriptions = Gauge(
            "gql_channels_subscriptions", "Subscriptions running.",
            multiprocess_mode="livesum", registry=registry)
        self.events = Counter(
            "gql_channels_subscription_events", "Subscription results sent to clients.", registry=registry)
        self.dropped = Counter(
            "gql_channels_dropped_messages",
            "Channel-layer messages dropped because a slow subscriber's queue was full "
            "(SUBSCRIPTION_QUEUE_SIZE).", registry=registry)
        self.layer_errors = Counter(
            "gql_channels_layer_errors", "Channel-layer calls that failed or timed out.", registry=registry)
        # Beyond CONTRACT.md's names: live queries (LIVE_QUERIES). One shared live query
        # (SHARED_SUBSCRIPTION_RESULTS) counts once however many subscribers it feeds.
        self.live_queries = Gauge(
            "gql_channels_live_queries", "Live queries being kept up to date in this process.",
            multiprocess_mode="livesum", registry=registry)
        self.live_query_runs = Counter(
            "gql_channels_live_query_runs", "Executions of live queries (the first of each included).",
            registry=registry)


class NamedOperations:
    """``METRICS_OPERATION_NAMES``: operations counted by name too (opt-in: names are the client's)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.operations = Counter(
            "gql_channels_operations_by_name",
            "GraphQL operations finished, by transport, type, operation name and outcome.",
            ["transport", "operation_type", "operation_name", "outcome"], registry=registry)


_metrics: Metrics | None = None
_named: NamedOperations | None = None


def metrics() -> Metrics:
    """The process's metrics, registered on first use."""
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def named_operations() -> NamedOperations:
    """The by-name counter, registered the first time it is asked for (never with the opt-in off)."""
    global _named
    if _named is None:
        _named = NamedOperations()
    return _named
