"""The GraphQL multipart request spec (jaydenseric/graphql-multipart-request-spec).

A multipart body carries an ``operations`` field (the usual request object,
with ``null`` where files go), a ``map`` field (file field name -> list of
object paths into ``operations``) and the files. Django's
:class:`~django.http.multipartparser.MultiPartParser` reads the body with the
project's ``FILE_UPLOAD_HANDLERS``, so ``FILE_UPLOAD_MAX_MEMORY_SIZE``,
``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` and
``DATA_UPLOAD_MAX_NUMBER_FILES`` apply as they do to a Django view.

Browsers send multipart forms cross-site without a CORS preflight, so a
multipart request is refused unless it carries a header that forces one
(``GraphQL-Require-Preflight`` or ``Apollo-Require-Preflight``), as the spec's
security note advises.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import load_handler
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.datastructures import MultiValueDict

from ..engine.json_kinds import json_kind_with_article
from .errors import HTTPError

if TYPE_CHECKING:
    from typing import TypeAlias

    #: The files of a multipart request by field name. (Django's ``UploadedFile`` is generic
    #: only in django-stubs, hence the alias exists for type checkers alone.)
    UploadedFiles: TypeAlias = MultiValueDict[str, UploadedFile[bytes]]

__all__ = ["MISSING_PREFLIGHT_MESSAGE", "PREFLIGHT_HEADERS", "apply_map", "close_files", "multipart_field",
           "parse_multipart"]

#: Request headers (ASGI form) any one of which, non-empty, lets a multipart request in.
PREFLIGHT_HEADERS = (b"graphql-require-preflight", b"apollo-require-preflight")

MISSING_PREFLIGHT_MESSAGE = (
    "Multipart requests must carry a non-empty 'GraphQL-Require-Preflight' (or "
    "'Apollo-Require-Preflight') header. It makes browsers send a CORS preflight, which "
    "protects uploads from cross-site request forgery."
)


def parse_multipart(stream: IO[bytes], content_type: str, content_length: int) -> tuple[QueryDict, UploadedFiles]:
    """``(fields, files)`` of a multipart body, read by Django's parser.

    Blocking file I/O for uploads past ``FILE_UPLOAD_MAX_MEMORY_SIZE``: call it
    in a thread then. Raises :class:`HTTPError` for a malformed body or one
    over Django's limits (files already stored are closed by the parser).
    """
    handlers = [load_handler(path, None) for path in settings.FILE_UPLOAD_HANDLERS]
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(content_length)}
    try:
        # django-stubs' stream protocol wants read(None) too; the parser only reads in sized chunks.
        return MultiPartParser(meta, cast(Any, stream), handlers).parse()
    except RequestDataTooBig:
        raise HTTPError(413, "The multipart request's non-file fields exceed DATA_UPLOAD_MAX_MEMORY_SIZE "
                             f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes).") from None
    except TooManyFilesSent:
        raise HTTPError(400, "The multipart request sends more files than DATA_UPLOAD_MAX_NUMBER_FILES "
                             f"({settings.DATA_UPLOAD_MAX_NUMBER_FILES}) allows.") from None
    except TooManyFieldsSent:
        raise HTTPError(400, "The multipart request sends more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS "
                             f"({settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}) allows.") from None
    except MultiPartParserError as exc:
        raise HTTPError(400, f"The multipart body is malformed: {exc}") from None


def multipart_field(fields: QueryDict, name: str) -> str:
    """The raw text of the spec's ``operations`` or ``map`` field."""
    raw = fields.get(name)
    if raw is None:
        raise HTTPError(400, f"The multipart request has no '{name}' field; the GraphQL multipart request "
                             "spec needs 'operations', then 'map', then the files.")
    return raw


def apply_map(operations: Any, file_map: Any, files: UploadedFiles) -> None:
    """Put each mapped file at its paths in ``operations`` (in place)."""
    if isinstance(operations, list):
        raise HTTPError(400, "Batched requests (a JSON array in 'operations') are not supported: "
                             "send one GraphQL request object per HTTP request.")
    if not isinstance(operations, dict):
        raise HTTPError(400, f"The multipart 'operations' field must be a JSON object, "
                             f"not {json_kind_with_article(operations)}.")
    if not isinstance(file_map, dict):
        raise HTTPError(400, "The multipart 'map' field must be a JSON object mapping file field names "
                             f"to lists of paths, not {json_kind_with_article(file_map)}.")
    for field_name, paths in file_map.items():
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise HTTPError(400, f"The multipart map entry {field_name!r} must be a non-empty list of "
                                 "path strings like \"variables.file\".")
        upload = files.get(field_name)
        if upload is None:
            raise HTTPError(400, f"The multipart map names the file field {field_name!r}, "
                                 "but the request has no such file.")
        for path in paths:
            _place(operations, path, upload)


def _place(operations: dict[str, Any], path: str, upload: UploadedFile[bytes]) -> None:
    """Replace the value at the dotted ``path`` (e.g. ``variables.files.0``) with ``upload``."""
    segments = path.split(".")
    if segments[0] != "variables" or len(segments) < 2:
        raise HTTPError(400, f"The multipart map path {path!r} must point into 'variables' "
                             "(like \"variables.file\").")
    container: Any = operations
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        if isinstance(container, dict):
            if segment not in container:
                break
            if last:
                container[segment] = upload
                return
            container = container[segment]
        elif isinstance(container, list):
            if not segment.isdigit() or int(segment) >= len(container):
                break
            if last:
                container[int(segment)] = upload
                return
            container = container[int(segment)]
        else:
            break
    raise HTTPError(400, f"The multipart map path {path!r} does not exist in 'operations': "
                         "each file needs a null placeholder there.")


def close_files(files: UploadedFiles | None) -> None:
    """Close (and so delete, for temporary files) every uploaded file."""
    if not files:
        return
    for _name, uploads in files.lists():
        for upload in uploads:
            try:
                upload.close()
            except Exception:  # pragma: no cover - closing must not hide the reply
                pass
