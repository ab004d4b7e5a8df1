"""Persisted (trusted) documents and Apollo's automatic persisted queries (APQ).

**Transports call one function**, :func:`resolve_operation`: it turns a
request's document-selecting parameters — ``query`` text, a ``documentId``
(GraphQL over HTTP's persisted documents) or Apollo's
``extensions.persistedQuery.sha256Hash`` — into an
:class:`~.engine.Operation`, or raises
:class:`~.exceptions.GraphQLRequestError`. HTTP, both WebSocket protocols and
Server-Sent Events use it the same way::

    operation = await resolve_operation(engine, query, operation_name,
                                        document_id=document_id, extensions=extensions)

and map a refusal's ``kind`` to their own terms (:data:`HTTP_STATUS` gives
HTTP's status codes; WebSocket protocols send the operation an ``error``).
:func:`document_params_problem` checks the shapes of ``documentId`` and
``extensions`` for protocols that validate payloads before running them.

The manifest (``PERSISTED_DOCUMENTS``) is read, parsed and validated once, when
the engine is built; its documents live beside the engine's LRU cache and are
never evicted, so an operation sent by id pays neither parse nor validation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from ..exceptions import GraphQLRequestError
from .json_kinds import json_kind_with_article

if TYPE_CHECKING:  # pragma: no cover
    from .execution import Engine, Operation, _CachedDocument

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

logger = logging.getLogger("django_gql_channels")

APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
SHA256_PREFIX = "sha256:"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

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
}
#: Kinds whose HTTP answer must not be cached (a miss now may be a hit later).
UNCACHEABLE = frozenset({APQ_NOT_FOUND, APQ_NOT_SUPPORTED})

_MAX_ID_IN_MESSAGE = 80


def sha256_hex(text: str) -> str:
    """The lower-case hex SHA-256 of ``text``'s UTF-8 bytes.

    Lone surrogates (valid in JSON strings) are encoded rather than refused:
    such a text simply matches no client's hash.
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sha256_id(text: str) -> str:
    """The SHA256 hex document identifier of ``text``: ``sha256:<hex of its UTF-8 bytes>``."""
    return SHA256_PREFIX + sha256_hex(text)


def _shown(document_id: str) -> str:
    return repr(document_id if len(document_id) <= _MAX_ID_IN_MESSAGE else document_id[:_MAX_ID_IN_MESSAGE] + "…")


def _refusal(kind: str, message: str, code: str) -> GraphQLRequestError:
    return GraphQLRequestError([GraphQLError(message, extensions={"code": code})], kind)


# -- the manifest ----------------------------------------------------------------


class ManifestError(Exception):
    """The manifest file cannot be used at all (missing, not JSON, wrong shape)."""


@dataclass(frozen=True)
class DocumentProblem:
    """One manifest document that cannot be served as it is."""

    document_id: str
    message: str
    #: ``"error"``: the document does not parse or validate; ``"warning"``: its
    #: ``sha256`` id is not the hash of its text.
    level: str = "error"

    def __str__(self) -> str:
        return f"document {_shown(self.document_id)}: {self.message}"


def load_manifest(path: str | PathLike[str]) -> dict[str, str]:
    """``{id: document text}`` from a manifest file.

    Two formats: a JSON object ``{"<id>": "<document>"}`` (GraphQL Codegen's
    client preset, Relay, ``gql_check --manifest``), or Apollo's persisted
    query manifest ``{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "name", "type", "body"}, ...]}``.
    Raises :class:`ManifestError` saying what is wrong.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path} is not UTF-8 text ({exc.reason}).") from None
    except ValueError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}.") from None
    return manifest_documents(data, str(path))


def manifest_documents(data: Any, where: str = "the manifest") -> dict[str, str]:
    """``{id: document text}`` from a decoded manifest (see :func:`load_manifest`)."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where} must be a JSON object, not {type(data).__name__}.")
    if "format" in data and "operations" in data:
        if data["format"] != APOLLO_MANIFEST_FORMAT:
            raise ManifestError(f"{where} has format {data['format']!r}; only {APOLLO_MANIFEST_FORMAT!r} is known.")
        if data.get("version") != 1:
            raise ManifestError(f"{where}: {APOLLO_MANIFEST_FORMAT} version {data.get('version')!r} is not "
                                "supported (only version 1).")
        operations = data["operations"]
        if not isinstance(operations, list):
            raise ManifestError(f"{where}: 'operations' must be a list.")
        documents: dict[str, str] = {}
        for index, operation in enumerate(operations):
            if not (isinstance(operation, dict) and isinstance(operation.get("id"), str)
                    and isinstance(operation.get("body"), str)):
                raise ManifestError(f"{where}: operations[{index}] needs string 'id' and 'body' entries.")
            _add(documents, operation["id"], operation["body"], where)
        return documents
    documents = {}
    for document_id, text in data.items():
        if not isinstance(text, str):
            raise ManifestError(f"{where}: the document of {_shown(document_id)} must be a string, "
                                f"not {type(text).__name__}.")
        _add(documents, document_id, text, where)
    return documents


def _add(documents: dict[str, str], document_id: str, text: str, where: str) -> None:
    if not document_id:
        raise ManifestError(f"{where}: a document has an empty id.")
    if document_id in documents and documents[document_id] != text:
        raise ManifestError(f"{where}: id {_shown(document_id)} names two different documents.")
    documents[document_id] = text


def _aliases(document_id: str) -> tuple[str, ...]:
    """The ids a client may send for a manifest id: ``sha256:<hex>`` and its bare ``<hex>``."""
    if document_id.startswith(SHA256_PREFIX) and _HEX64.fullmatch(document_id, len(SHA256_PREFIX)):
        hex_digest = document_id[len(SHA256_PREFIX):].lower()
        return (document_id, SHA256_PREFIX + hex_digest, hex_digest)
    if _HEX64.fullmatch(document_id):
        return (document_id, document_id.lower(), SHA256_PREFIX + document_id.lower())
    return (document_id,)


class PersistedDocuments:
    """A manifest's documents, parsed and validated once for one engine.

    ``problems`` lists documents that do not parse or validate (errors) and
    ``sha256`` ids that are not the hash of their text (warnings); such a
    document still answers to its id, with its errors.
    """

    def __init__(self, engine: Engine, documents: Mapping[str, str]) -> None:
        self.documents = dict(documents)
        #: every accepted id (``sha256:<hex>`` and bare hex alike) -> its document
        self.by_id: dict[str, _CachedDocument] = {}
        #: document text -> its document: free text identical to a manifest
        #: document is that document, whatever mode the server is in
        self.by_text: dict[str, _CachedDocument] = {}
        self.problems: list[DocumentProblem] = []
        for document_id, text in self.documents.items():
            cached = self.by_text.get(text)
            if cached is None:
                cached = engine._parse_and_validate(text)
                self.by_text[text] = cached
                if cached.error is not None:
                    self.problems.append(DocumentProblem(document_id, _error_text(cached.error)))
            for alias in _aliases(document_id):
                self.by_id.setdefault(alias, cached)
            if document_id.startswith(SHA256_PREFIX) or _HEX64.fullmatch(document_id):
                actual = sha256_id(text)
                if actual[len(SHA256_PREFIX):] != document_id.rsplit(":", 1)[-1].lower():
                    self.problems.append(DocumentProblem(
                        document_id, f"the id is not the sha256 of the document's text ({actual}): clients "
                                     "hashing the text will not find it.", "warning"))

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def errors(self) -> list[DocumentProblem]:
        return [p for p in self.problems if p.level == "error"]


def _error_text(error: GraphQLRequestError) -> str:
    parts = []
    for graphql_error in error.errors:
        text = graphql_error.message
        if graphql_error.locations:
            location = graphql_error.locations[0]
            text += f" (line {location.line}, column {location.column})"
        parts.append(text)
    return "; ".join(parts)


# -- automatic persisted queries -------------------------------------------------------


class APQStore:
    """Where APQ keeps ``sha256 hex -> document text``; registered texts are already validated."""

    async def get(self, digest: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def set(self, digest: str, text: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class LocalAPQStore(APQStore):
    """This process's store: least recently used texts go first past ``size``."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._texts: OrderedDict[str, str] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        text = self._texts.get(digest)
        if text is not None:
            self._texts.move_to_end(digest)
        return text

    async def set(self, digest: str, text: str) -> None:
        self._texts[digest] = text
        self._texts.move_to_end(digest)
        if len(self._texts) > self.size:
            self._texts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._texts)


class DjangoCacheAPQStore(APQStore):
    """A Django cache (``CACHES[alias]``) shared by every process using it; its own limits and timeout apply.

    A cache that fails (say, its server is down) is logged and acts as an
    empty store: clients resend the text and their operations still run.
    """

    key_prefix = "gql_channels.apq:"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    async def get(self, digest: str) -> str | None:
        from django.core.cache import caches

        try:
            text = await caches[self.alias].aget(self.key_prefix + digest)
        except Exception:
            logger.warning("APQ cache %r failed on get; answering PersistedQueryNotFound.", self.alias,
                           exc_info=True)
            return None
        return text if isinstance(text, str) else None

    async def set(self, digest: str, text: str) -> None:
        from django.core.cache import caches

        try:
            await caches[self.alias].aset(self.key_prefix + digest, text)
        except Exception:
            logger.warning("APQ cache %r failed on set; the operation runs unregistered.", self.alias,
                           exc_info=True)


# -- request parameters -> operation ---------------------------------------------------


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
    if not isinstance(sha256_hash, str) or not _HEX64.fullmatch(sha256_hash):
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
    :class:`~.engine.Operation` (parsed and validated once, cached). In order:

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
            raise _refusal(DOCUMENT_NOT_FOUND, f"No persisted document has the id {_shown(document_id)}.",
                           "PERSISTED_DOCUMENT_NOT_FOUND")
        return _select(cached, operation_name)
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


def _select(cached: _CachedDocument, operation_name: str | None) -> Operation:
    if cached.error is None:
        return cached.select(operation_name)
    raise cached.error
