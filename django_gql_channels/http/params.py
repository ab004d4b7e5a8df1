"""The GraphQL-over-HTTP request parameters, checked once for every transport form.

POST bodies, GET query strings and multipart ``operations`` all end up here,
so each bad parameter gets the same 400 and message however it arrived.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from ..engine import document_params_problem, has_document_reference
from ..engine.json_kinds import json_kind_with_article
from .errors import HTTPError

__all__ = ["GraphQLParams", "params_from_data", "query_params"]


class GraphQLParams(NamedTuple):
    #: None when the request names a persisted document instead (``document_id``
    #: or Apollo's ``extensions.persistedQuery``).
    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None
    document_id: str | None = None


def params_from_data(data: Any) -> GraphQLParams:
    """Check a decoded request object; raise :class:`HTTPError` (400) when it is not one."""
    if type(data) is not dict:  # noqa: E721 - the common case, checked fast
        if isinstance(data, list):
            raise HTTPError(400, "Batched requests (a JSON array) are not supported: "
                                 "send one GraphQL request object per HTTP request.")
        if not isinstance(data, dict):
            raise HTTPError(400, f"The request body must be a JSON object, not {json_kind_with_article(data)}.")
    query = data.get("query")
    document_id = data.get("documentId")
    if type(query) is not str:  # noqa: E721
        if query is None:
            if not has_document_reference(document_id, data.get("extensions")):
                raise HTTPError(400, "The request has no 'query': send the GraphQL document as a string "
                                     "(or a persisted document's 'documentId').")
        elif not isinstance(query, str):
            raise HTTPError(400, f"'query' must be a string, not {json_kind_with_article(query)}.")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HTTPError(400, f"'operationName' must be a string or null, not {json_kind_with_article(operation_name)}.")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise HTTPError(400, f"'variables' must be an object or null, not {json_kind_with_article(variables)}.")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise HTTPError(400, f"'extensions' must be an object or null, not {json_kind_with_article(extensions)}.")
    if document_id is not None or (extensions is not None and "persistedQuery" in extensions):
        problem = document_params_problem(document_id, extensions)
        if problem is not None:
            raise HTTPError(400, problem)
    return GraphQLParams(query, operation_name, variables, extensions, document_id)


def query_params(query_string: bytes) -> dict[str, str]:
    """A URL's query parameters: the first value of each, undecodable bytes replaced."""
    params: dict[str, str] = {}
    if query_string:
        for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True,
                                    encoding="utf-8", errors="replace"):
            params.setdefault(key, value)
    return params
