"""The protocol-free engine: documents in, results out; nothing here knows HTTP, WebSockets or Channels.

Other layers import from this package, never from its modules (except
:mod:`.json_kinds`), so the engine's inside can change without them. Inside,
each module imports only those before it:

- :mod:`.limits`: size and cost limits, checked before parsing and before validation;
- :mod:`.documents`: parsing and validating a text once (:class:`ParsedDocument`),
  picking its :class:`Operation`, the bounded LRU :class:`DocumentCache`;
- :mod:`.batch_limits`: the limits of :mod:`.limits` summed over a batch of operations (HTTP batching);
- :mod:`.errors`: errors as clients see them (masking) and as the log records them;
- :mod:`django_gql_channels.engine.persisted`: the manifest's documents and the APQ stores;
- :mod:`.sync_execution`: ``SYNC_EXECUTION``, executions in Django's thread-sensitive
  executor so synchronous resolvers may use the ORM;
- :mod:`.strawberry`: a Strawberry schema's own extensions;
- :mod:`.incremental`: ``@defer``/``@stream`` (graphql-core 3.3), payloads in the 2022-08-24 format;
- :mod:`.event_executors`: subscriptions' executors whose per-event copies keep nothing (graphql-core 3.3);
- :mod:`.live`: the ``@live`` directive (``LIVE_QUERIES``), declared and read;
- :mod:`.execution`: :class:`Engine`, executing and subscribing;
- :mod:`.resolution`: :func:`resolve_operation`, request parameters to an operation;
- :mod:`.configured`: :func:`get_engine`, the engine the settings ask for.

How an operation runs with ``SYNC_EXECUTION`` on (the design is in
:mod:`.sync_execution`): its whole synchronous execution runs in one hop to
Django's thread-sensitive executor, with ``close_old_connections`` around it;
async resolvers only create their coroutines there, and an awaitable result is
finished on the event loop, where each synchronous subtree below an awaited
field goes back to the thread in one hop. Subscription events do the same per
event; the subscribe resolver's stream stays on the loop. ``MIDDLEWARE`` is
handed to graphql-core's executor for queries, mutations and every event.
"""

from .batch_limits import BatchBudget
from .configured import (
    EXTENSION_CONFLICT_HINT,
    engine_options,
    get_engine,
    graphene_middleware,
    instantiate_middleware,
    mask_errors_setting,
)
from .documents import (
    PARSE_SUPPORTS_MAX_TOKENS,
    DocumentCache,
    DocumentValidator,
    Operation,
    OperationKind,
    ParsedDocument,
    max_depth_rule,
)
from .errors import (
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_MESSAGE,
    SYNC_ONLY_HINT,
    SYNC_ONLY_IN_ASYNC_RESOLVER_HINT,
    explain_sync_only,
    log_exception,
)
from .execution import Engine, EventMapper
from .incremental import (
    DEFER_SPEC,
    INCREMENTAL_AVAILABLE,
    INCREMENTAL_DIRECTIVES,
    IncrementalResults,
    schema_declares_incremental,
)
from .limits import DOCUMENT_TOO_LARGE, DocumentLimits
from .live import LIVE_DIRECTIVE, LIVE_OVER_HTTP, is_live, live_throttle, without_live
from .persisted import (
    APOLLO_MANIFEST_FORMAT,
    APQStore,
    DjangoCacheAPQStore,
    DocumentProblem,
    LocalAPQStore,
    ManifestError,
    PersistedDocuments,
    load_manifest,
    sha256_hex,
    sha256_id,
)
from .resolution import (
    HTTP_STATUS,
    UNCACHEABLE,
    document_params_problem,
    has_document_reference,
    resolve_operation,
)
from .strawberry import (
    StrawberryDelegate,
    extension_name,
    extension_names,
    schema_extensions,
    unsupported_extensions,
)
from .sync_execution import ThreadedExecutor, db_hygiene, in_sync_thread, run_in_thread

__all__ = [
    "APOLLO_MANIFEST_FORMAT",
    "DEFER_SPEC",
    "INCREMENTAL_AVAILABLE",
    "INCREMENTAL_DIRECTIVES",
    "EXTENSION_CONFLICT_HINT",
    "HTTP_STATUS",
    "INTERNAL_ERROR_CODE",
    "INTERNAL_ERROR_MESSAGE",
    "LIVE_DIRECTIVE",
    "LIVE_OVER_HTTP",
    "PARSE_SUPPORTS_MAX_TOKENS",
    "SYNC_ONLY_HINT",
    "SYNC_ONLY_IN_ASYNC_RESOLVER_HINT",
    "UNCACHEABLE",
    "APQStore",
    "BatchBudget",
    "DjangoCacheAPQStore",
    "DOCUMENT_TOO_LARGE",
    "DocumentCache",
    "DocumentLimits",
    "DocumentProblem",
    "DocumentValidator",
    "Engine",
    "IncrementalResults",
    "EventMapper",
    "LocalAPQStore",
    "ManifestError",
    "Operation",
    "OperationKind",
    "ParsedDocument",
    "PersistedDocuments",
    "StrawberryDelegate",
    "ThreadedExecutor",
    "db_hygiene",
    "document_params_problem",
    "engine_options",
    "explain_sync_only",
    "extension_name",
    "extension_names",
    "get_engine",
    "graphene_middleware",
    "has_document_reference",
    "in_sync_thread",
    "instantiate_middleware",
    "is_live",
    "live_throttle",
    "load_manifest",
    "log_exception",
    "mask_errors_setting",
    "max_depth_rule",
    "resolve_operation",
    "schema_declares_incremental",
    "run_in_thread",
    "schema_extensions",
    "sha256_hex",
    "sha256_id",
    "unsupported_extensions",
    "without_live",
]
