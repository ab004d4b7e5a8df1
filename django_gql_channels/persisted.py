"""Persisted documents and APQ, where the docs import them (``resolve_operation``).

The code lives in :mod:`django_gql_channels.engine.persisted` (the manifest, the APQ stores) and
:mod:`django_gql_channels.engine.resolution` (:func:`resolve_operation`); this module keeps the documented path.
"""

from .engine import (
    APOLLO_MANIFEST_FORMAT,
    HTTP_STATUS,
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
    "APQStore",
    "DjangoCacheAPQStore",
    "DocumentProblem",
    "LocalAPQStore",
    "ManifestError",
    "PersistedDocuments",
    "document_params_problem",
    "has_document_reference",
    "load_manifest",
    "resolve_operation",
    "sha256_hex",
    "sha256_id",
]
