"""The ``Upload`` scalar of the GraphQL multipart request spec.

Files arrive through multipart variables only; resolvers receive Django
``UploadedFile`` objects. An upload cannot be written inline in a document or
sent back in a response.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from graphql import GraphQLError, GraphQLScalarType

__all__ = ["Upload"]


def _parse_value(value: Any) -> UploadedFile[Any]:
    if isinstance(value, UploadedFile):
        return value
    raise GraphQLError("Upload values must be sent as files in a multipart request.")


def _parse_literal(node: Any, _variables: Any = None) -> UploadedFile[Any]:
    raise GraphQLError("Upload literals are not supported: send the file as a multipart variable.")


def _serialize(value: Any) -> Any:
    raise GraphQLError("Upload is an input-only type.")


Upload = GraphQLScalarType(
    name="Upload",
    description="A file sent as part of a GraphQL multipart request.",
    serialize=_serialize,
    parse_value=_parse_value,
    parse_literal=_parse_literal,
)
