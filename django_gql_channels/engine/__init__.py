"""The protocol-free engine: documents in, results out; nothing here knows HTTP, WebSockets or Channels.

Other layers import from this package, never from its modules (except
:mod:`.json_kinds`), so the engine's inside can change without them. Inside,
each module imports only those before it:

- :mod:`.documents`: parsing and validating a text once (:class:`ParsedDocument`),
  picking its :class:`Operation`, the bounded LRU :class:`DocumentCache`;
- :mod:`.errors`: errors as clients see them (masking) and as the log records them;
- :mod:`django_gql_channels.engine.persisted`: the manifest's documents and the APQ stores;
- :mod:`.execution`: :class:`Engine`, executing and subscribing;
- :mod:`.resolution`: :func:`resolve_operation`, request parameters to an operation;
- :mod:`.configured`: :func:`get_engine`, the engine the settings ask for.
"""

from .configured import engine_options, get_engine, mask_errors_setting
from .documents import (
    PARSE_SUPPORTS_MAX_TOKENS,
    DocumentCache,
    DocumentValidator,
    Operation,
    OperationKind,
    ParsedDocument,
    max_depth_rule,
)
from .errors import INTERNAL_ERROR_CODE, INTERNAL_ERROR_MESSAGE, log_exception
from .execution import Engine, EventMapper
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

__all__ = [
    "APOLLO_MANIFEST_FORMAT",
    "HTTP_STATUS",
    "INTERNAL_ERROR_CODE",
    "INTERNAL_ERROR_MESSAGE",
    "PARSE_SUPPORTS_MAX_TOKENS",
    "UNCACHEABLE",
    "APQStore",
    "DjangoCacheAPQStore",
    "DocumentCache",
    "DocumentProblem",
    "DocumentValidator",
    "Engine",
    "EventMapper",
    "LocalAPQStore",
    "ManifestError",
    "Operation",
    "OperationKind",
    "ParsedDocument",
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
