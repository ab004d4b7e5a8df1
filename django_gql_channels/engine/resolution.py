"""Request parameters to an operation: the one place every transport asks for what to run.

**Transports call one function**, :func:`resolve_operation`: it turns a
request's document-selecting parameters — ``query`` text, a ``documentId``
(GraphQL over HTTP's persisted documents) or Apollo's
``extensions.persistedQuery.sha256Hash`` — into an
:class:`~.documents.Operation`, or raises
:class:`~django_gql_channels.exceptions.GraphQLRequestError`. HTTP, both
WebSocket protocols and Server-Sent Events use it the same way::

    operation = await resolve_operation(engine, query, operation_name,
                                        document_id=document_id, extensions=extensions)

and map a refusal's ``kind`` to their own terms (:data:`HTTP_STATUS` gives
HTTP's status codes; WebSocket protocols send the operation an ``error``).
:func:`document_params_problem` checks the shapes of ``documentId`` and
``extensions`` for protocols that validate payloads before running them.

The documented path is :mod:`django_gql_channels.persisted`; the manifest and
the APQ stores this reads are in :mod:`django_gql_channels.engine.persisted`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from ..exceptions import GraphQLRequestError
from .documents import Operation, ParsedDocument
from .execution import Engine
from .json_kinds import json_kind_with_article
from .limits import DOCUMENT_TOO_LARGE
from .persisted import is_sha256_hex, sha256_hex, shown_id

__all__ = [
    "APQ_NOT_FOUND",
    "APQ_NOT_SUPPORTED",
    "BAD_PERSISTED_REQUEST",
    "DOCUMENT_NOT_FOUND",
    "DOCUMENT_REQUIRED",
    "HTTP_STATUS",
    "UNCACHEABLE",
    "document_params_problem",
    "has_document_reference",
    "resolve_operation",
]

# Refusal kinds (``GraphQLRequestError.kind``) and the HTTP status of each.
# Apollo clients resend the text on PersistedQueryNotFound / NotSupported; Apollo
# Server answers both with 200 (and no caching), so clients treat them as
# GraphQL errors rather than network failures.
APQ_NOT_FOUND = "persisted_query_not_found"
APQ_NOT_SUPPORTED = "persisted_query_not_supported"
DOCUMENT_NOT_FOUND = "persisted_document_not_found"
DOCUMENT_REQUIRED = "persisted_document_required"
BAD_PERSISTED_REQUEST = "persisted_bad_request"

HTTP_STATUS: dict[str, int] = {
    APQ_NOT_FOUND: 200,
    APQ_NOT_SUPPORTED: 200,
    DOCUMENT_NOT_FOUND: 400,
    DOCUMENT_REQUIRED: 400,
    BAD_PERSISTED_REQUEST: 400,
    # MAX_DOCUMENT_SIZE (the other limits are validation errors: 400 like them).
    DOCUMENT_TOO_LARGE: 413,
}
#: Kinds whose HTTP answer must not be cached (a miss now may be a hit later).
UNCACHEABLE = frozenset({APQ_NOT_FOUND, APQ_NOT_SUPPORTED})


def _refusal(kind: str, message: str, code: str) -> GraphQLRequestError:
    return GraphQLRequestError([GraphQLError(message, extensions={"code": code})], kind)


def document_params_problem(document_id: Any, extensions: Any) -> str | None:
    """What is wrong with the shapes of ``documentId`` and ``extensions.persistedQuery``, or None.

    Transports that check a payload before running it call this and report
    the message in their own terms; :func:`resolve_operation` checks the
    same things for those that do not.
    """
    if document_id is not None and not isinstance(document_id, str):
        return f"'documentId' must be a string, not {json_kind_with_article(document_id)}."
    if extensions is None:
        return None
    if not isinstance(extensions, dict):
        return f"'extensions' must be an object, not {json_kind_with_article(extensions)}."
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        return f"'extensions.persistedQuery' must be an object, not {json_kind_with_article(persisted)}."
    if persisted.get("version") != 1:
        return (f"'extensions.persistedQuery.version' {persisted.get('version')!r} is not supported: "
                "only version 1 is.")
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not is_sha256_hex(sha256_hash):
        return "'extensions.persistedQuery.sha256Hash' must be the 64 hex digits of a SHA-256 hash."
    return None


def has_document_reference(document_id: Any, extensions: Any) -> bool:
    """Whether a request names its document by id (so it may omit ``query``)."""
    return document_id is not None or (isinstance(extensions, dict) and extensions.get("persistedQuery") is not None)


async def resolve_operation(
    engine: Engine,
    query: str | None,
    operation_name: str | None = None,
    *,
    document_id: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Operation:
    """The operation a request asks for, from its text, its ``documentId`` or its APQ hash.

    The one place every transport turns request parameters into an
    :class:`~.documents.Operation` (parsed and validated once, cached). In order:

    1. ``documentId``: the manifest's document with that id (``sha256:<hex>``
       and bare hex name the same document); an unknown id is refused
       (``persisted_document_not_found``). Sending ``query`` too is refused.
    2. ``extensions.persistedQuery.sha256Hash`` (Apollo): the manifest's
       document with that hash, else (``AUTOMATIC_PERSISTED_QUERIES`` on, not
       only-persisted) the APQ store's. Without ``query``, an unknown hash is
       ``PersistedQueryNotFound`` (the client resends with the text), or
       ``PersistedQueryNotSupported`` when the server has neither a manifest
       nor APQ. With ``query``, the text must hash to the sha256Hash; it is
       then registered (APQ on, once it validates) and run.
    3. ``query`` text: with ``ONLY_PERSISTED_DOCUMENTS`` only text identical
       to a manifest document runs; other text is refused
       (``persisted_document_required``).

    Refusals are :class:`GraphQLRequestError` with a ``kind`` from this module
    and an ``extensions.code`` for clients.
    """
    if document_id is not None:
        if type(document_id) is not str:  # noqa: E721
            raise _refusal(BAD_PERSISTED_REQUEST, f"'documentId' must be a string, not "
                                                  f"{json_kind_with_article(document_id)}.", "BAD_REQUEST")
        if query is not None:
            raise _refusal(BAD_PERSISTED_REQUEST, "Send either 'query' or 'documentId', not both.", "BAD_REQUEST")
        persisted = engine.persisted_documents
        cached = persisted.by_id.get(document_id) if persisted is not None else None
        if cached is None:
            if persisted is None:
                raise _refusal(DOCUMENT_NOT_FOUND, "This server has no persisted documents: send the "
                                                   "document's text as 'query'.", "PERSISTED_DOCUMENT_NOT_FOUND")
            raise _refusal(DOCUMENT_NOT_FOUND, f"No persisted document has the id {shown_id(document_id)}.",
                           "PERSISTED_DOCUMENT_NOT_FOUND")
        return _select(cached, operation_name)
    if query is not None:
        # Bytes before anything reads the text (hashing, manifest lookup, parsing).
        engine.limits.check_size(query)
    if extensions is None or extensions.get("persistedQuery") is None:
        if query is None:
            raise _refusal(BAD_PERSISTED_REQUEST, "The request has no 'query' (the document's text) and no "
                                                  "'documentId'.", "BAD_REQUEST")
        if not engine.only_persisted_documents:
            return engine.prepare(query, operation_name)
        persisted = engine.persisted_documents
        cached = persisted.by_text.get(query) if persisted is not None else None
        if cached is None:
            raise _refusal(DOCUMENT_REQUIRED, "This server only runs persisted documents: send the "
                                              "document's 'documentId' instead of its text.",
                           "PERSISTED_DOCUMENT_REQUIRED")
        return _select(cached, operation_name)
    problem = document_params_problem(None, extensions)
    if problem is not None:
        raise _refusal(BAD_PERSISTED_REQUEST, problem, "BAD_REQUEST")
    return await _resolve_apq(engine, query, operation_name, extensions["persistedQuery"]["sha256Hash"])


async def _resolve_apq(engine: Engine, query: str | None, operation_name: str | None, sha256_hash: str) -> Operation:
    sha256_hash = sha256_hash.lower()
    persisted = engine.persisted_documents
    if persisted is not None:
        cached = persisted.by_id.get(sha256_hash)
        if cached is not None:
            return _select(cached, operation_name)
    # Never consult or fill the APQ store while only the manifest may run.
    store = engine.apq_store if not engine.only_persisted_documents else None
    if query is None:
        if store is not None:
            text = await store.get(sha256_hash)
            if text is not None:
                return engine.prepare(text, operation_name)
        if store is None and persisted is None:
            raise _refusal(APQ_NOT_SUPPORTED, "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")
        raise _refusal(APQ_NOT_FOUND, "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
    if sha256_hex(query) != sha256_hash:
        raise _refusal(BAD_PERSISTED_REQUEST, "The query's SHA-256 hash does not match "
                                              "'extensions.persistedQuery.sha256Hash': nothing was registered.",
                       "PERSISTED_QUERY_HASH_MISMATCH")
    if engine.only_persisted_documents:
        raise _refusal(DOCUMENT_REQUIRED, "This server only runs persisted documents, and this one is not among "
                                          "them.", "PERSISTED_DOCUMENT_REQUIRED")
    operation = engine.prepare(query, operation_name)  # raises for invalid text: nothing is registered
    if store is not None:
        await store.set(sha256_hash, query)
    return operation


def _select(cached: ParsedDocument, operation_name: str | None) -> Operation:
    if cached.error is None:
        return cached.select(operation_name)
    raise cached.error
