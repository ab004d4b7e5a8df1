"""Persisted (trusted) documents and the stores of Apollo's automatic persisted queries (APQ).

The manifest (``PERSISTED_DOCUMENTS``) is read, parsed and validated once, when
the engine is built (:class:`PersistedDocuments`); its documents live beside
the engine's LRU cache and are never evicted, so an operation sent by id pays
neither parse nor validation. APQ texts live in an :class:`APQStore`.

Transports do not look here themselves: :func:`~.resolution.resolve_operation`
turns a request's ``query``, ``documentId`` or APQ hash into an operation
using what this module holds.
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
from typing import Any

from ..exceptions import GraphQLRequestError
from .documents import DocumentValidator, ParsedDocument
from .limits import text_size

__all__ = [
    "APOLLO_MANIFEST_FORMAT",
    "SHA256_PREFIX",
    "APQStore",
    "DjangoCacheAPQStore",
    "DocumentProblem",
    "LocalAPQStore",
    "ManifestError",
    "PersistedDocuments",
    "is_sha256_hex",
    "load_manifest",
    "manifest_documents",
    "sha256_hex",
    "sha256_id",
    "shown_id",
]

logger = logging.getLogger("django_gql_channels")

APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
SHA256_PREFIX = "sha256:"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

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


def is_sha256_hex(text: str) -> bool:
    """Whether ``text`` is the 64 hex digits of a SHA-256 hash (either case)."""
    return _HEX64.fullmatch(text) is not None


def shown_id(document_id: str) -> str:
    """``document_id`` as messages quote it: a long one is cut short."""
    return repr(document_id if len(document_id) <= _MAX_ID_IN_MESSAGE else document_id[:_MAX_ID_IN_MESSAGE] + "…")


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
        return f"document {shown_id(self.document_id)}: {self.message}"


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
            raise ManifestError(f"{where}: the document of {shown_id(document_id)} must be a string, "
                                f"not {type(text).__name__}.")
        _add(documents, document_id, text, where)
    return documents


def _add(documents: dict[str, str], document_id: str, text: str, where: str) -> None:
    if not document_id:
        raise ManifestError(f"{where}: a document has an empty id.")
    if document_id in documents and documents[document_id] != text:
        raise ManifestError(f"{where}: id {shown_id(document_id)} names two different documents.")
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

    def __init__(self, engine: DocumentValidator, documents: Mapping[str, str]) -> None:
        self.documents = dict(documents)
        #: every accepted id (``sha256:<hex>`` and bare hex alike) -> its document
        self.by_id: dict[str, ParsedDocument] = {}
        #: document text -> its document: free text identical to a manifest
        #: document is that document, whatever mode the server is in
        self.by_text: dict[str, ParsedDocument] = {}
        self.problems: list[DocumentProblem] = []
        for document_id, text in self.documents.items():
            cached = self.by_text.get(text)
            if cached is None:
                cached = engine.parse_and_validate(text)
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
    """This process's store, bounded in texts (``size``) and in bytes (``max_bytes``: the texts' UTF-8 sizes).

    Least recently used texts go first past either bound; a text over
    ``max_text_bytes`` (``MAX_DOCUMENT_SIZE``) is never registered.
    """

    def __init__(self, size: int, max_bytes: int | None = None, max_text_bytes: int | None = None) -> None:
        self.size = max(1, size)
        self.max_bytes = max_bytes
        self.max_text_bytes = max_text_bytes
        #: UTF-8 bytes of the texts kept now.
        self.bytes = 0
        self._texts: OrderedDict[str, tuple[str, int]] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        entry = self._texts.get(digest)
        if entry is None:
            return None
        self._texts.move_to_end(digest)
        return entry[0]

    async def set(self, digest: str, text: str) -> None:
        weight = text_size(text)
        if ((self.max_text_bytes is not None and weight > self.max_text_bytes)
                or (self.max_bytes is not None and weight > self.max_bytes)):
            return
        previous = self._texts.pop(digest, None)
        if previous is not None:
            self.bytes -= previous[1]
        self._texts[digest] = (text, weight)
        self.bytes += weight
        while len(self._texts) > self.size or (self.max_bytes is not None and self.bytes > self.max_bytes):
            self.bytes -= self._texts.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._texts)


class DjangoCacheAPQStore(APQStore):
    """A Django cache (``CACHES[alias]``) shared by every process using it; its own limits and timeout apply.

    A cache that fails (say, its server is down) is logged and acts as an
    empty store: clients resend the text and their operations still run.
    """

    key_prefix = "gql_channels.apq:"

    def __init__(self, alias: str, max_text_bytes: int | None = None) -> None:
        self.alias = alias
        #: ``MAX_DOCUMENT_SIZE``: a larger text is never registered.
        self.max_text_bytes = max_text_bytes

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

        if self.max_text_bytes is not None and text_size(text) > self.max_text_bytes:
            return
        try:
            await caches[self.alias].aset(self.key_prefix + digest, text)
        except Exception:
            logger.warning("APQ cache %r failed on set; the operation runs unregistered.", self.alias,
                           exc_info=True)
