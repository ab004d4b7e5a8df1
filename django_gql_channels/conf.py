"""The ``GQL_CHANNELS`` setting: defaults, validation, import strings, reload.

Everything else in the package reads settings through ``gql_settings`` and is
handed plain values, so a setting is looked up in one place only.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from graphql import GraphQLSchema

SETTING_NAME = "GQL_CHANNELS"

KNOWN_PROTOCOLS = ("graphql-transport-ws", "graphql-ws")
IDE_CHOICES = ("graphiql", "apollo-sandbox", "pathfinder", None)

DEFAULTS: dict[str, Any] = {
    "SCHEMA": None,
    "URL_PATTERN": r"^graphql/?$",
    "GRAPHQL_IDE": "graphiql",
    "ALLOW_QUERIES_VIA_GET": True,
    "MULTIPART_UPLOADS_ENABLED": False,
    "SUBSCRIPTION_PROTOCOLS": list(KNOWN_PROTOCOLS),
    "CONNECTION_INIT_WAIT_TIMEOUT": 60,
    "KEEP_ALIVE": False,
    "KEEP_ALIVE_INTERVAL": 1,
    "DEBUG": False,
    "HTTP_CONSUMER": "django_gql_channels.http.GraphQLHTTPConsumer",
    "WS_CONSUMER": "django_gql_channels.ws.GraphQLWSConsumer",
    "AUTH_MIDDLEWARE": True,
    "ALLOWED_ORIGINS_CHECK": True,
    "REQUIRE_WEBSOCKET_ORIGIN": False,
    # Limits and production switches.
    "MAX_QUERY_DEPTH": 20,
    "MAX_QUERY_TOKENS": 5000,
    "INTROSPECTION": True,
    "VALIDATION_RULES": [],
    "DOCUMENT_CACHE_SIZE": 1000,
    "MAX_OPERATIONS_PER_CONNECTION": 100,
    "SUBSCRIPTION_QUEUE_SIZE": 1000,
    "CHANNEL_LAYER": "default",
    "SHARED_SUBSCRIPTION_RESULTS": False,
    # Server-Sent Events (the graphql-sse protocol).
    "SSE_ENABLED": True,
    "SSE_KEEP_ALIVE_INTERVAL": 12,
    "SSE_RESERVATION_TIMEOUT": 30,
    "SSE_MAX_RESERVATIONS_PER_CLIENT": 16,
    # Apollo's multipart HTTP subscriptions.
    "MULTIPART_SUBSCRIPTIONS_ENABLED": True,
    "MULTIPART_HEARTBEAT_INTERVAL": 5,
    # Persisted (trusted) documents and automatic persisted queries.
    "PERSISTED_DOCUMENTS": None,
    "ONLY_PERSISTED_DOCUMENTS": False,
    "AUTOMATIC_PERSISTED_QUERIES": False,
    "APQ_CACHE": None,
    # Publishing: {"app_label.ModelName": group spec(s)}; see model_events.py.
    "MODEL_EVENTS": {},
    "MAX_MESSAGE_SIZE": 1048576,
    "MASK_ERRORS": None,
    "LAYER_RETRY_DELAY": 0.5,
    "LAYER_RETRY_MAX_DELAY": 5,
    "LAYER_TIMEOUT": 5,
    # Serving existing Django GraphQL APIs: synchronous ORM resolvers, graphql-core middleware.
    "SYNC_EXECUTION": None,
    "MIDDLEWARE": [],
    # Cost limits checked before parsing (bytes) and before validation (counts); see engine/limits.py.
    "MAX_DOCUMENT_SIZE": 100000,
    "MAX_ALIASES": 30,
    "MAX_DIRECTIVES": 50,
    "MAX_QUERY_COMPLEXITY": 5000,
    "MAX_MERGE_COMPARISONS": 5000,
    "DOCUMENT_CACHE_BYTES": 32 * 1024 * 1024,
    # HTTP batching: a JSON array of operations; see http/batching.py.
    "BATCHING": False,
    "MAX_BATCH_SIZE": 10,
    # Observability: see django_gql_channels/observability/.
    "METRICS": False,
    "METRICS_OPERATION_NAMES": False,
    "TRACING": False,
    # Live queries (``query ... @live``); see django_gql_channels/live/.
    "LIVE_QUERIES": False,
    "LIVE_QUERY_THROTTLE": 0.1,
}

#: Keys whose values are dotted paths, imported on first use.
IMPORT_STRINGS = frozenset({"SCHEMA", "HTTP_CONSUMER", "WS_CONSUMER", "VALIDATION_RULES", "MIDDLEWARE"})

#: Keys an engine that validates documents is built from: the schema and what
#: ``engine_options(persisted=False)`` reads (rules, limits, document cache). While
#: one of them has an error, documents are not checked against the server's rules
#: (``manage.py check`` on the manifest, ``gql_check --documents``/``--check-manifest``).
#: ``SYNC_EXECUTION`` and ``MIDDLEWARE`` are not among them: they change how an
#: operation runs, never whether a document validates, so a broken middleware
#: path must not keep the manifest from being checked.
VALIDATION_SETTINGS = frozenset({"SCHEMA", "VALIDATION_RULES", "MAX_QUERY_DEPTH", "MAX_QUERY_TOKENS",
                                 "INTROSPECTION", "DOCUMENT_CACHE_SIZE",
                                 "MAX_DOCUMENT_SIZE", "MAX_ALIASES", "MAX_DIRECTIVES", "MAX_QUERY_COMPLEXITY",
                                 "MAX_MERGE_COMPARISONS", "DOCUMENT_CACHE_BYTES", "LIVE_QUERIES"})

#: key -> what it does, in reStructuredText. The settings page of the docs is
#: generated from this, ``DEFAULTS`` and the expected types below, so every key
#: in ``DEFAULTS`` needs an entry here (a test checks it).
DESCRIPTIONS: dict[str, str] = {
    "SCHEMA": "Required. Dotted path to a graphql-core ``GraphQLSchema``, or to a Strawberry "
              "(``strawberry.Schema``), Graphene 3 (``graphene.Schema``) or Ariadne "
              "(``make_executable_schema``) schema object; the graphql-core schema inside it is served.",
    "URL_PATTERN": "Regular expression matched against the request path without its leading slash, "
                   "as Channels' ``re_path``: HTTP and WebSocket connections that match go to the GraphQL "
                   "consumers, every other HTTP request to Django.",
    "GRAPHQL_IDE": "The IDE a browser ``GET`` is shown: ``\"graphiql\"``, ``\"apollo-sandbox\"``, "
                   "``\"pathfinder\"``, or ``None`` for none (a browser ``GET`` then gets ``404``).",
    "ALLOW_QUERIES_VIA_GET": "Queries over ``GET`` with query parameters (never mutations: those get ``405`` "
                             "with ``Allow: POST``).",
    "MULTIPART_UPLOADS_ENABLED": "File uploads following the GraphQL multipart request spec, behind the "
                                 "``GraphQL-Require-Preflight`` CSRF guard.",
    "SUBSCRIPTION_PROTOCOLS": "WebSocket subprotocols accepted, in preference order: "
                              "``\"graphql-transport-ws\"`` and/or ``\"graphql-ws\"`` (the legacy "
                              "subscriptions-transport-ws protocol). A socket that offers no subprotocol is "
                              "served the first one.",
    "CONNECTION_INIT_WAIT_TIMEOUT": "Seconds a socket may wait before sending ``connection_init``; then "
                                    "it is closed (4408 on ``graphql-transport-ws``).",
    "KEEP_ALIVE": "Send keep-alive messages once the connection is acknowledged: ``ka`` on the legacy "
                  "``graphql-ws`` protocol, ``ping`` on ``graphql-transport-ws``.",
    "KEEP_ALIVE_INTERVAL": "Seconds between keep-alive messages when ``KEEP_ALIVE`` is on.",
    "DEBUG": "Include tracebacks in ``errors[].extensions.exception``.",
    "HTTP_CONSUMER": "Dotted path to the HTTP consumer: a subclass of ``GraphQLHTTPConsumer`` whose hooks "
                     "change the context, root value or results.",
    "WS_CONSUMER": "Dotted path to the WebSocket consumer: a subclass of ``GraphQLWSConsumer`` (for "
                   "``on_ws_connect`` and the context).",
    "AUTH_MIDDLEWARE": "Wrap both transports in Channels' ``AuthMiddlewareStack`` (``scope[\"user\"]``, "
                       "``scope[\"session\"]``) when ``django.contrib.auth`` and ``django.contrib.sessions`` "
                       "are installed.",
    "ALLOWED_ORIGINS_CHECK": "Refuse WebSocket handshakes whose ``Origin`` is not in ``ALLOWED_HOSTS`` "
                             "(matched as Channels' ``AllowedHostsOriginValidator`` does; under ``DEBUG`` an "
                             "empty ``ALLOWED_HOSTS`` allows localhost) and log the refused origin once. This "
                             "stops cross-site WebSocket hijacking: a page on another site opening a socket "
                             "with the visitor's cookies. Handshakes without ``Origin`` (non-browser clients) "
                             "are accepted unless ``REQUIRE_WEBSOCKET_ORIGIN`` is set.",
    "REQUIRE_WEBSOCKET_ORIGIN": "Also refuse WebSocket handshakes without an ``Origin`` header (unless "
                                "``ALLOWED_HOSTS`` contains ``\"*\"``). Browsers always send one, and a "
                                "header-less client holds no visitor's cookie, so the default lets scripts and "
                                "SDK clients in; turn this on to shut out every non-browser client, e.g. when a "
                                "proxy adds credentials (client certificates, trusted network) that any "
                                "process able to reach it would otherwise ride. Needs ``ALLOWED_ORIGINS_CHECK``.",
    "MAX_QUERY_DEPTH": "Deepest field nesting allowed (fragments included); ``None``: no limit.",
    "MAX_QUERY_TOKENS": "The parser gives up past this many tokens; ``None``: no limit.",
    "INTROSPECTION": "``False`` refuses ``__schema`` and ``__type`` (production APIs).",
    "VALIDATION_RULES": "Dotted paths to extra graphql-core validation rules, run beside the standard ones.",
    "DOCUMENT_CACHE_SIZE": "Parsed and validated documents kept (LRU, keyed by the document text); "
                           "``0`` disables the cache.",
    "MAX_OPERATIONS_PER_CONNECTION": "Operations running at once on one socket; ``None``: no limit.",
    "SUBSCRIPTION_QUEUE_SIZE": "Channel-layer messages waiting per subscription before further ones are "
                               "dropped (and logged).",
    "CHANNEL_LAYER": "The ``CHANNEL_LAYERS`` alias subscriptions use.",
    "SHARED_SUBSCRIPTION_RESULTS": "Opt-in: subscriptions of one process that run the same operation (document, "
                                   "operation name, variables) and receive the same event object share one "
                                   "execution and one encoded ``next`` payload; only the operation id differs "
                                   "per connection. Correct only when the resolvers below the subscription's "
                                   "root field ignore per-connection context (the user, "
                                   "``connection_params``); a field opts out with "
                                   "``extensions={\"shared_results\": False}``. See :doc:`subscriptions`. "
                                   "Identical live queries of one process (same document, operation name, "
                                   "variables) share one re-run the same way (:doc:`live-queries`).",
    "SSE_ENABLED": "GraphQL over Server-Sent Events (the graphql-sse protocol, both modes) at the GraphQL URL.",
    "SSE_KEEP_ALIVE_INTERVAL": "Seconds between keep-alive comments on an idle event stream, so proxies "
                               "do not cut it; ``None``: none.",
    "SSE_MAX_RESERVATIONS_PER_CLIENT": "Single-connection-mode reservations (``PUT``) one client may hold at "
                                       "once in a process (a client: its user, else its session, else its "
                                       "IP address); past it a ``PUT`` is answered 429.",
    "SSE_RESERVATION_TIMEOUT": "Seconds a single-connection-mode reservation (``PUT``) waits for its "
                               "stream to be opened before it expires.",
    "MULTIPART_SUBSCRIPTIONS_ENABLED": "Apollo's multipart HTTP subscriptions at the GraphQL URL: a subscription "
                                       "whose ``Accept`` names ``multipart/mixed;subscriptionSpec=\"1.0\"`` (as "
                                       "Apollo Client sends it) is answered as a ``multipart/mixed`` stream.",
    "MULTIPART_HEARTBEAT_INTERVAL": "Seconds between heartbeat parts (``{}``) on an idle multipart subscription, "
                                    "so proxies do not cut it; ``None``: none.",
    "PERSISTED_DOCUMENTS": "Path to a persisted-documents manifest: a JSON object ``{\"<id>\": \"<document>\"}`` "
                           "(ids ``sha256:<hex>`` or bare hex) or Apollo's persisted query manifest. Read and "
                           "validated once, at start-up; requests may then name a document by ``documentId`` "
                           "or by Apollo's ``extensions.persistedQuery.sha256Hash``. See :doc:`trusted-documents`.",
    "ONLY_PERSISTED_DOCUMENTS": "Refuse query text that is not a document of the manifest (``400``, or an "
                                "``error`` for a WebSocket operation): only trusted documents run. "
                                "``not DEBUG`` keeps the IDE usable in development.",
    "AUTOMATIC_PERSISTED_QUERIES": "Apollo's automatic persisted queries: an unknown hash gets "
                                   "``PersistedQueryNotFound``, and text sent with its hash is registered once "
                                   "the hash matches and the text validates. Never used with "
                                   "``ONLY_PERSISTED_DOCUMENTS``.",
    "APQ_CACHE": "A ``CACHES`` alias keeping APQ texts in that Django cache, shared by every process using "
                 "it; ``None``: each process keeps its ``DOCUMENT_CACHE_SIZE`` most recent texts.",
    "MODEL_EVENTS": "``{\"app_label.ModelName\": group}``: after the transaction that saved or deleted an "
                    "instance commits, the group receives ``{\"type\": \"model.saved\"`` (or "
                    "``\"model.deleted\"``), ``\"model\", \"pk\", \"created\"}``. The group may be a "
                    "``str.format`` template of the instance (``\"order_{pk}\"``), a dotted path to a callable "
                    "``(instance) -> group(s)``, or a list of these. See :doc:`publishing`.",
    "MAX_MESSAGE_SIZE": "Bytes (UTF-8) of one WebSocket frame; a larger one closes the socket with ``1009`` "
                        "(message too big) before it is decoded or parsed. ``None``: no limit.",
    "MASK_ERRORS": "``None``: on when Django's ``DEBUG`` is off. Masked, an exception that is not a "
                   "``GraphQLError`` reaches clients as ``\"Internal server error\"`` with "
                   "``extensions.code`` ``\"INTERNAL_SERVER_ERROR\"`` (locations and path kept) and is "
                   "logged in full with the operation and path; a ``GraphQLError`` passes as raised. "
                   "Wins over :gqlsetting:`DEBUG`'s tracebacks.",
    "LAYER_RETRY_DELAY": "Seconds before a subscription receiver first retries a channel layer that "
                         "stopped answering; doubled on each retry (jittered) up to "
                         ":gqlsetting:`LAYER_RETRY_MAX_DELAY`.",
    "LAYER_RETRY_MAX_DELAY": "Seconds between retries at most while the channel layer is down: how long "
                             "subscriptions may take to resume once it answers again.",
    "LAYER_TIMEOUT": "Seconds any channel-layer call the app makes (publishing, joining and leaving groups, "
                     "creating a channel, ``ws.channel_layer``'s calls) may take; past it the operation fails "
                     "with ``SERVICE_UNAVAILABLE`` (a publish through ``broadcast`` is logged or raises "
                     "``BroadcastError``). A WebSocket handshake never waits on the layer. ``None``: no bound.",
    "SYNC_EXECUTION": "Run an operation's execution, and each subscription event's, in Django's "
                      "thread-sensitive executor (asgiref's ``sync_to_async(thread_sensitive=True)``), as "
                      "Django runs a sync view under ASGI, so synchronous resolvers may use the ORM: one hop "
                      "per operation (per event), with Django's ``close_old_connections`` before and after in "
                      "that thread (a connection inside a transaction is left alone). The subscribe resolver's "
                      "stream stays on the event loop. ``None``: on for Graphene schemas (graphene-django's "
                      "resolvers are synchronous), off otherwise; ``True`` / ``False`` force it. Async "
                      "resolvers (DataLoaders) still run on the loop: the synchronous part runs in the "
                      "thread, an awaitable result is finished on the loop, and the synchronous resolvers "
                      "below an awaited field go back to the thread in one hop per awaited object or list "
                      "value. Off, a resolver that touches the ORM gets an error naming this setting.",
    "MIDDLEWARE": "Dotted paths to graphql-core middleware (functions ``resolve(next, root, info, **args)``, "
                  "or classes with such a ``resolve`` method, instantiated once), around every resolver on "
                  "every transport: queries, mutations and each subscription event. For a Graphene schema "
                  "``settings.GRAPHENE[\"MIDDLEWARE\"]`` is used while this key is not set, as "
                  "graphene-django's view does (graphene-django's ``DEBUG``-time "
                  "``DjangoDebugMiddleware`` is not added on its own: list it to have it). With "
                  ":gqlsetting:`SYNC_EXECUTION` on, middleware runs in Django's thread with the resolver it "
                  "wraps; write it as a plain function or method (an ``async def`` middleware calls the "
                  "resolver it wraps from the event loop, where the ORM is refused).",
    "MAX_DOCUMENT_SIZE": "Bytes (UTF-8) of document text accepted, checked before the text is hashed, cached or "
                         "parsed: query text and APQ registrations (manifest documents are exempt). Larger gets "
                         "``413`` over HTTP (``extensions.code`` ``\"DOCUMENT_TOO_LARGE\"``) and an ``error`` "
                         "on WebSockets. ``None``: no limit. See :ref:`limits`.",
    "MAX_ALIASES": "Most field aliases in one operation, counted with fragments expanded (an alias in a "
                   "fragment counts each time it is spread); more is a validation error "
                   "(``MAX_ALIASES_EXCEEDED``), found before validation runs. ``None``: no limit.",
    "MAX_DIRECTIVES": "Most directives in one operation, fragments expanded as for :gqlsetting:`MAX_ALIASES` "
                      "(``MAX_DIRECTIVES_EXCEEDED``). ``None``: no limit.",
    "MAX_QUERY_COMPLEXITY": "Most fields one operation may select, counted before validation with fragments "
                            "expanded (a spread costs its fragment's fields each time); every field costs 1 and "
                            "list sizes do not multiply. More is a validation error "
                            "(``MAX_QUERY_COMPLEXITY_EXCEEDED``). ``None``: no limit.",
    "MAX_MERGE_COMPARISONS": "Bound on the pairs of same-response-key fields graphql-core's overlapping-fields "
                             "rule compares (quadratic in repeats: 700 copies of ``node { id }`` cost seconds), "
                             "counted before validation (``MAX_MERGE_COMPARISONS_EXCEEDED``). ``None``: no limit.",
    "DOCUMENT_CACHE_BYTES": "Estimated bytes the document cache may keep (texts and their parsed documents), "
                            "beside :gqlsetting:`DOCUMENT_CACHE_SIZE`; the in-process APQ store keeps at most "
                            "this many bytes of text too. ``None``: entries only.",
    "BATCHING": "HTTP batching: a ``POST`` whose JSON body is an array of operations is answered with a JSON "
                "array of their results, in the same order; each element is its own operation (its errors do "
                "not fail the others), and they run one after another. ``GET`` is never batched. Off, an array "
                "is refused with ``400``. See :ref:`batching`.",
    "MAX_BATCH_SIZE": "Most operations in one batch; a longer batch is refused with ``400`` "
                      "(``BATCH_LIMIT_EXCEEDED``) before anything runs. The cost limits "
                      "(:gqlsetting:`MAX_QUERY_COMPLEXITY`, :gqlsetting:`MAX_ALIASES`, :gqlsetting:`MAX_DIRECTIVES`, "
                      ":gqlsetting:`MAX_MERGE_COMPARISONS`, :gqlsetting:`MAX_DOCUMENT_SIZE`) count over the whole "
                      "batch as well as per operation.",
    "METRICS": "Prometheus metrics through ``prometheus_client`` (the ``[prometheus]`` extra), in its default "
               "registry, on every transport: ``gql_channels_operations_total`` (``transport``, "
               "``operation_type``, ``outcome``), ``gql_channels_operation_duration_seconds``, "
               "``gql_channels_connections``, ``gql_channels_subscriptions``, "
               "``gql_channels_subscription_events_total``, ``gql_channels_dropped_messages_total``, "
               "``gql_channels_layer_errors_total``. See :doc:`observing`.",
    "METRICS_OPERATION_NAMES": "Opt-in, with :gqlsetting:`METRICS`: also count operations by name, in "
                               "``gql_channels_operations_by_name_total`` (``transport``, ``operation_type``, "
                               "``operation_name``, ``outcome``; ``\"\"`` for unnamed ones). Names come from "
                               "clients: every new one is a new time series, so only with a bounded set of "
                               "documents (:gqlsetting:`ONLY_PERSISTED_DOCUMENTS`); ``gql_channels.W090`` "
                               "warns otherwise. See :doc:`observing`.",
    "TRACING": "OpenTelemetry spans through ``opentelemetry-api`` (the ``[opentelemetry]`` extra) and the global "
               "tracer provider: one span per operation, named ``\"<operation type> <operation name>\"``, with "
               "``graphql.operation.type``, ``graphql.operation.name`` and ``graphql.transport``; a request's "
               "(or WebSocket handshake's) W3C ``traceparent`` is its parent. See :doc:`observing`.",
    "LIVE_QUERIES": "``query ... @live`` runs as a live query over WebSockets and SSE: the client receives the "
                    "full result, then a new full result whenever the data it read (through the ORM) may have "
                    "changed. The schema declares ``directive @live(throttle: Int) on QUERY``; off, ``@live`` is "
                    "an unknown directive. See :doc:`live-queries`.",
    "LIVE_QUERY_THROTTLE": "Seconds a live query waits at least between two re-runs: a burst of changes is "
                           "coalesced into one re-run (the last one reads the latest state). A client's "
                           "``@live(throttle: <ms>)`` may ask for more, never for less.",
}


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with ``GQL_CHANNELS``; ``id`` is the system-check id."""

    id: str
    key: str | None
    msg: str
    hint: str | None = None

    @property
    def level(self) -> str:
        """``"error"`` or ``"warning"``, as the id says (``gql_channels.E001``, ``gql_channels.W001``)."""
        return "error" if self.id.rpartition(".")[2].startswith("E") else "warning"

    def __str__(self) -> str:
        # Problems without a key name their own setting in the message.
        return f"{SETTING_NAME}[{self.key!r}]: {self.msg}" if self.key else self.msg


class SettingsError(Exception):
    """Raised when a setting is used while it is invalid."""

    def __init__(self, problem: SettingProblem) -> None:
        super().__init__(str(problem) + (f" HINT: {problem.hint}" if problem.hint else ""))
        self.problem = problem


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_non_negative_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_optional_positive_int(value: Any) -> bool:
    return value is None or _is_positive_int(value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


#: key -> (predicate, description of the expected type). The system checks and
#: attribute access apply the predicate; the settings reference shows the description.
TYPE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "SCHEMA": (_is_str, "a dotted path string"),
    "URL_PATTERN": (_is_str, "a regular expression string"),
    "GRAPHQL_IDE": (lambda v: v is None or isinstance(v, str), "a string or None"),
    "ALLOW_QUERIES_VIA_GET": (_is_bool, "a bool"),
    "MULTIPART_UPLOADS_ENABLED": (_is_bool, "a bool"),
    "SUBSCRIPTION_PROTOCOLS": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(p, str) for p in v),
        "a list of strings",
    ),
    "CONNECTION_INIT_WAIT_TIMEOUT": (_is_non_negative_number, "a number of seconds >= 0"),
    "KEEP_ALIVE": (_is_bool, "a bool"),
    "KEEP_ALIVE_INTERVAL": (lambda v: _is_non_negative_number(v) and v > 0, "a number of seconds > 0"),
    "DEBUG": (_is_bool, "a bool"),
    "HTTP_CONSUMER": (_is_str, "a dotted path string"),
    "WS_CONSUMER": (_is_str, "a dotted path string"),
    "AUTH_MIDDLEWARE": (_is_bool, "a bool"),
    "ALLOWED_ORIGINS_CHECK": (_is_bool, "a bool"),
    "REQUIRE_WEBSOCKET_ORIGIN": (_is_bool, "a bool"),
    "MAX_QUERY_DEPTH": (_is_optional_positive_int, "a positive int or None"),
    "MAX_QUERY_TOKENS": (_is_optional_positive_int, "a positive int or None"),
    "INTROSPECTION": (_is_bool, "a bool"),
    "VALIDATION_RULES": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(p, str) for p in v),
        "a list of dotted path strings",
    ),
    "DOCUMENT_CACHE_SIZE": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an int >= 0",
    ),
    "MAX_OPERATIONS_PER_CONNECTION": (_is_optional_positive_int, "a positive int or None"),
    "SUBSCRIPTION_QUEUE_SIZE": (_is_positive_int, "a positive int"),
    "CHANNEL_LAYER": (_is_str, "a CHANNEL_LAYERS alias string"),
    "SHARED_SUBSCRIPTION_RESULTS": (_is_bool, "a bool"),
    "SSE_ENABLED": (_is_bool, "a bool"),
    "SSE_KEEP_ALIVE_INTERVAL": (lambda v: v is None or (_is_non_negative_number(v) and v > 0),
                                "a number of seconds > 0, or None for no keep-alive"),
    "SSE_MAX_RESERVATIONS_PER_CLIENT": (_is_positive_int, "a positive int"),
    "SSE_RESERVATION_TIMEOUT": (lambda v: _is_non_negative_number(v) and v > 0, "a number of seconds > 0"),
    "MULTIPART_SUBSCRIPTIONS_ENABLED": (_is_bool, "a bool"),
    "MULTIPART_HEARTBEAT_INTERVAL": (lambda v: v is None or (_is_non_negative_number(v) and v > 0),
                                     "a number of seconds > 0, or None for no heartbeat"),
    "PERSISTED_DOCUMENTS": (lambda v: v is None or isinstance(v, (str, os.PathLike)),
                            "a path to a manifest file, or None"),
    "ONLY_PERSISTED_DOCUMENTS": (_is_bool, "a bool"),
    "AUTOMATIC_PERSISTED_QUERIES": (_is_bool, "a bool"),
    "APQ_CACHE": (lambda v: v is None or isinstance(v, str), "a CACHES alias string or None"),
    "MODEL_EVENTS": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
        'a dict like {"app_label.ModelName": "group"}',
    ),
    "MAX_MESSAGE_SIZE": (_is_optional_positive_int, "a positive int (bytes) or None"),
    "MASK_ERRORS": (lambda v: v is None or isinstance(v, bool), "a bool or None"),
    "LAYER_RETRY_DELAY": (lambda v: _is_non_negative_number(v) and v > 0, "a number of seconds > 0"),
    "LAYER_RETRY_MAX_DELAY": (lambda v: _is_non_negative_number(v) and v > 0, "a number of seconds > 0"),
    "LAYER_TIMEOUT": (lambda v: v is None or (_is_non_negative_number(v) and v > 0),
                      "a number of seconds > 0 or None"),
    "SYNC_EXECUTION": (lambda v: v is None or isinstance(v, bool), "a bool or None"),
    "MIDDLEWARE": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(p, str) for p in v),
        "a list of dotted path strings",
    ),
    "MAX_DOCUMENT_SIZE": (_is_optional_positive_int, "a positive int (bytes) or None"),
    "MAX_ALIASES": (_is_optional_positive_int, "a positive int or None"),
    "MAX_DIRECTIVES": (_is_optional_positive_int, "a positive int or None"),
    "MAX_QUERY_COMPLEXITY": (_is_optional_positive_int, "a positive int or None"),
    "MAX_MERGE_COMPARISONS": (_is_optional_positive_int, "a positive int or None"),
    "DOCUMENT_CACHE_BYTES": (_is_optional_positive_int, "a positive int (bytes) or None"),
    "BATCHING": (_is_bool, "a bool"),
    "MAX_BATCH_SIZE": (_is_positive_int, "a positive int"),
    "METRICS": (_is_bool, "a bool"),
    "METRICS_OPERATION_NAMES": (_is_bool, "a bool"),
    "TRACING": (_is_bool, "a bool"),
    "LIVE_QUERIES": (_is_bool, "a bool"),
    "LIVE_QUERY_THROTTLE": (_is_non_negative_number, "a number of seconds >= 0"),
}


def _value_problems(key: str, value: Any) -> list[SettingProblem]:
    """Problems with the value of one key beyond its type."""
    if key == "URL_PATTERN":
        try:
            re.compile(value)
        except re.error as exc:
            return [SettingProblem("gql_channels.E008", key, f"is not a valid regular expression: {exc}.",
                                   'Use a pattern like r"^graphql/?$".')]
    elif key == "GRAPHQL_IDE" and value not in IDE_CHOICES:
        return [SettingProblem("gql_channels.E008", key, f"{value!r} is not a known IDE.",
                               f"Use one of {', '.join(repr(c) for c in IDE_CHOICES)}.")]
    elif key == "SUBSCRIPTION_PROTOCOLS":
        unknown = [p for p in value if p not in KNOWN_PROTOCOLS]
        if unknown:
            return [SettingProblem("gql_channels.E008", key, f"unknown protocol(s) {unknown!r}.",
                                   f"Use a subset of {list(KNOWN_PROTOCOLS)!r}.")]
        if not value:
            return [SettingProblem("gql_channels.E008", key, "is empty: no WebSocket could connect.",
                                   f"Use a subset of {list(KNOWN_PROTOCOLS)!r}.")]
    return []


def validate_user_settings(user_settings: Any) -> list[SettingProblem]:
    """Type and value problems of a ``GQL_CHANNELS`` value, without importing anything."""
    if not isinstance(user_settings, dict):
        return [SettingProblem("gql_channels.E001", None,
                               f"{SETTING_NAME} must be a dict, not {type(user_settings).__name__}.",
                               'Set GQL_CHANNELS = {"SCHEMA": "myapp.schema.schema"}.')]
    problems: list[SettingProblem] = []
    for key in user_settings:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key).upper(), DEFAULTS, n=1, cutoff=0.75)
            hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(sorted(DEFAULTS))}."
            problems.append(SettingProblem("gql_channels.E002", str(key), "is not a known key.", hint))
    if user_settings.get("SCHEMA") is None:
        problems.append(SettingProblem("gql_channels.E003", "SCHEMA", "is required.",
                                       'Point it at your schema, e.g. "myapp.schema.schema".'))
    for key, value in user_settings.items():
        if key not in TYPE_RULES or (key == "SCHEMA" and value is None):
            continue
        check, expected = TYPE_RULES[key]
        if not check(value):
            problems.append(SettingProblem("gql_channels.E007", key,
                                           f"must be {expected}, not {value!r}.",
                                           f"Default: {DEFAULTS[key]!r}."))
        else:
            problems.extend(_value_problems(key, value))
    return problems


class GQLChannelsSettings:
    """Attribute access to ``GQL_CHANNELS`` with defaults; import strings imported once.

    Values are cached on first access and dropped by :meth:`reload`, which runs
    on Django's ``setting_changed`` signal (``override_settings`` in tests).
    """

    def __init__(self) -> None:
        self._cached: dict[str, Any] = {}
        self._user_settings: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user_settings is None:
            value = getattr(settings, SETTING_NAME, {})
            self._user_settings = value if isinstance(value, dict) else {}
        return self._user_settings

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key not in DEFAULTS:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {key!r}")
        try:
            return self._cached[key]
        except KeyError:
            pass
        value = self.user_settings.get(key, DEFAULTS[key])
        if key in TYPE_RULES and value is not None and not TYPE_RULES[key][0](value):
            raise SettingsError(SettingProblem("gql_channels.E007", key,
                                               f"must be {TYPE_RULES[key][1]}, not {value!r}."))
        if key == "SCHEMA":
            value = load_schema_setting(value)
        elif key in IMPORT_STRINGS:
            value = _import_setting(key, value)
        self._cached[key] = value
        return value

    def reload(self) -> None:
        self._cached.clear()
        self._user_settings = None
        for callback in _reload_callbacks:
            callback()


def _import_setting(key: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_import_setting(key, item) for item in value]
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise SettingsError(SettingProblem("gql_channels.E004" if key == "SCHEMA" else "gql_channels.E009",
                                           key, f"could not import {value!r}: {exc}.")) from exc


def load_schema_setting(value: Any) -> GraphQLSchema:
    """Import and unwrap the ``SCHEMA`` setting into a graphql-core schema."""
    from .schema import NotASchemaError, get_graphql_schema

    if value is None:
        raise SettingsError(SettingProblem("gql_channels.E003", "SCHEMA", "is required.",
                                           'Point it at your schema, e.g. "myapp.schema.schema".'))
    obj = value
    if isinstance(value, str):
        try:
            obj = import_string(value)
        except ImportError as exc:
            raise SettingsError(SettingProblem("gql_channels.E004", "SCHEMA",
                                               f"could not import {value!r}: {exc}.",
                                               "Check the dotted path and that the module imports cleanly.")) from exc
        except Exception as exc:  # a module that fails while importing
            raise SettingsError(SettingProblem("gql_channels.E004", "SCHEMA",
                                               f"importing {value!r} raised {type(exc).__name__}: {exc}.",
                                               "Fix the error in the schema module.")) from exc
    try:
        return get_graphql_schema(obj)
    except NotASchemaError as exc:
        raise SettingsError(SettingProblem("gql_channels.E005", "SCHEMA", str(exc),
                                           "Point SCHEMA at a GraphQLSchema or a Strawberry, "
                                           "Graphene or Ariadne schema object.")) from exc


_reload_callbacks: list[Callable[[], None]] = []


def on_reload(callback: Callable[[], None]) -> Callable[[], None]:
    """Register a cache to drop whenever settings are reloaded."""
    _reload_callbacks.append(callback)
    return callback


gql_settings = GQLChannelsSettings()


def _reload_settings(*, setting: str, **kwargs: Any) -> None:
    # GRAPHENE: its MIDDLEWARE serves Graphene schemas while GQL_CHANNELS has none.
    if setting in (SETTING_NAME, "CHANNEL_LAYERS", "INSTALLED_APPS", "DEBUG", "ALLOWED_HOSTS", "GRAPHENE"):
        gql_settings.reload()


setting_changed.connect(_reload_settings)
