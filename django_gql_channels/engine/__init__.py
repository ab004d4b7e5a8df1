"""The protocol-free engine: documents in, results out; nothing here knows HTTP, WebSockets or Channels.

Other layers import from this package, never from its modules (except
:mod:`.json_kinds`), so the engine's inside can change without them.
"""

from .execution import (
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_MESSAGE,
    Engine,
    EventMapper,
    Operation,
    OperationKind,
    engine_options,
    get_engine,
    log_exception,
    mask_errors_setting,
    max_depth_rule,
)
from .persisted import (
    APOLLO_MANIFEST_FORMAT,
    HTTP_STATUS,
    UNCACHEABLE,
    APQStore,
    DjangoCacheAPQStore,
    DocumentProblem,
    LocalAPQStore,
    ManifestError,
    PersistedDocuments,
    document_params_problem,
    has_document_reference,
    load_manifest,
    resolve_operation,
    sha256_hex,
    sha256_id,
)

__all__ = [
    "APOLLO_MANIFEST_FORMAT",
    "HTTP_STATUS",
    "INTERNAL_ERROR_CODE",
    "INTERNAL_ERROR_MESSAGE",
    "UNCACHEABLE",
    "APQStore",
    "DjangoCacheAPQStore",
    "DocumentProblem",
    "Engine",
    "EventMapper",
    "LocalAPQStore",
    "ManifestError",
    "Operation",
    "OperationKind",
    "PersistedDocuments",
    "document_params_problem",
    "engine_options",
    "get_engine",
    "has_document_reference",
    "load_manifest",
    "log_exception",
    "mask_errors_setting",
    "max_depth_rule",
    "resolve_operation",
    "sha256_hex",
    "sha256_id",
]
