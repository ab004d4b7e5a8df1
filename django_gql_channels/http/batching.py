"""HTTP batching (``BATCHING``): a JSON array of operations, answered with a JSON array of results in order.

Both HTTP endpoints batch the same way, the Channels consumer
(:func:`answer_batch`) and the Django view (:class:`~django_gql_channels.views.GraphQLView`,
through :func:`read_batch` and :func:`prepare_batch`):

- A ``POST`` whose JSON body is an array, with ``BATCHING`` on (or the view's
  ``batch=True``); ``GET`` is never batched. With batching off an array is
  refused with 400, as before.
- An empty array, or one longer than ``MAX_BATCH_SIZE``, is refused with 400
  before anything runs (as Strawberry refuses "Too many operations"), with
  ``extensions.code`` ``BATCH_LIMIT_EXCEEDED`` for the latter (Apollo Router's code).
- Each element is its own operation: a bad element (not an object, no
  ``query``, a syntax or validation error, an unknown persisted document, an
  APQ miss) gets an error result at its place and the others still run.
- The cost limits count over the whole batch (:mod:`..engine.batch_limits`):
  a batch whose texts together exceed ``MAX_DOCUMENT_SIZE`` gets 413, one
  whose operations together exceed ``MAX_QUERY_COMPLEXITY``, ``MAX_ALIASES``,
  ``MAX_DIRECTIVES`` or ``MAX_MERGE_COMPARISONS`` gets 400; either way nothing runs.
- The operations run one after another, in order, sharing one context (as
  Apollo Server and Strawberry share theirs): a mutation sees the effects of
  those before it.
- The answer is 200 whenever the batch ran, whatever each element's errors:
  one status cannot speak for several operations, and Apollo Client's
  ``BatchHttpLink`` fails *every* operation of a batch answered with a
  non-2xx status. (Apollo Server lets the last element wanting a status set
  the batch's; Strawberry answers 200 with errors in the elements.) An
  element refused as not cacheable (an APQ miss) makes the whole answer
  ``Cache-Control: private, no-cache, must-revalidate``.

Subscriptions cannot be batched (their element gets an error), and the
answer is never an event stream or incremental (``@defer``) delivery.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol

from graphql import ExecutionResult, GraphQLError

from ..engine import UNCACHEABLE, BatchBudget, Engine, Operation
from ..engine.json_kinds import json_kind_with_article
from ..exceptions import GraphQLRequestError
from ..observability import observer
from .errors import HTTPError
from .hooks import hook_result
from .params import GraphQLParams, params_from_data
from .types import ChannelsRequest, TemporalResponse, encode_headers
from .watched import watched_request

__all__ = ["BATCH_LIMIT_CODE", "BatchElement", "BatchHost", "answer_batch", "batch_element_params",
           "is_request_error", "prepare_batch", "read_batch", "unbatchable_error"]

#: ``extensions.code`` of a batch with more operations than ``MAX_BATCH_SIZE``.
BATCH_LIMIT_CODE = "BATCH_LIMIT_EXCEEDED"
_BAD_REQUEST_CODE = "BAD_REQUEST"
_NO_CACHE = "private, no-cache, must-revalidate"


class BatchElement(NamedTuple):
    """One element of a batch once prepared: an operation to run, or the answer it gets instead."""

    params: GraphQLParams | None
    operation: Operation | None
    #: the element's answer when it does not run (bad parameters), else None
    refusal: dict[str, Any] | None
    #: its request error (syntax, validation, persisted documents), else None
    error: GraphQLRequestError | None


class BatchHost(Protocol):
    """What :func:`answer_batch` uses of the consumer: its engine, hooks and reply."""

    engine: Engine
    max_batch_size: int
    scope: dict[str, Any]

    def prepare_operation(self, params: GraphQLParams, request: ChannelsRequest) -> Awaitable[Operation]: ...
    def get_context(self, request: ChannelsRequest, response: TemporalResponse) -> Any: ...
    def get_root_value(self, request: ChannelsRequest) -> Any: ...
    def process_result(self, request: ChannelsRequest, result: ExecutionResult) -> Any: ...
    def encode_json(self, data: Any) -> str | bytes: ...
    def send_response(self, send: Callable[..., Any], status: int, body: bytes,
                      headers: list[tuple[bytes, bytes]]) -> Awaitable[None]: ...


def batch_element_params(item: Any) -> GraphQLParams:
    """One element's parameters, checked as a request's are; raises :class:`HTTPError` for a bad one."""
    if type(item) is not dict:  # noqa: E721
        raise HTTPError(400, f"Each element of a batch must be a JSON object (one operation), not "
                             f"{json_kind_with_article(item)}.")
    return params_from_data(item)


def read_batch(data: list[Any], max_size: int) -> list[Any]:
    """The elements of a batch, or :class:`HTTPError` (400) for an empty or too long one."""
    if not data:
        raise HTTPError(400, "The batch is empty: send at least one operation in the JSON array.")
    if len(data) > max_size:
        raise HTTPError(400, f"The batch has {len(data)} operations, more than the {max_size} this server "
                             "accepts in one request (MAX_BATCH_SIZE).", code=BATCH_LIMIT_CODE)
    return data


async def prepare_batch(engine: Engine, items: list[Any],
                        prepare: Callable[[GraphQLParams], Awaitable[Operation]],
                        check_params: Callable[[Any], GraphQLParams] = batch_element_params) -> list[BatchElement]:
    """Check and prepare every element, then the batch's budget; raises :class:`HTTPError` for the batch.

    ``prepare`` resolves one element's parameters to an operation (text,
    ``documentId`` or APQ hash), raising ``GraphQLRequestError``.
    """
    checked: list[GraphQLParams | dict[str, Any]] = []
    for item in items:
        try:
            checked.append(check_params(item))
        except HTTPError as error:
            checked.append({"errors": [{"message": error.message, "extensions": {"code": _BAD_REQUEST_CODE}}]})
    budget = BatchBudget(engine.limits)
    try:
        # Bytes first, before any text is hashed or parsed.
        budget.check_texts(params.query for params in checked if isinstance(params, GraphQLParams))
    except GraphQLRequestError as error:
        raise HTTPError(413, error.errors[0].message) from None
    elements = []
    for params in checked:
        if not isinstance(params, GraphQLParams):
            elements.append(BatchElement(None, None, params, None))
            continue
        try:
            elements.append(BatchElement(params, await prepare(params), None, None))
        except GraphQLRequestError as error:
            elements.append(BatchElement(params, None, None, error))
    try:
        # What will run: subscriptions and incremental operations are answered with an error instead.
        budget.check_operations(element.operation for element in elements
                                if element.operation is not None and unbatchable_error(element.operation) is None)
    except GraphQLRequestError as error:
        raise HTTPError(400, error.errors[0].message, code=(error.errors[0].extensions or {}).get("code")) from None
    return elements


def unbatchable_error(operation: Operation) -> GraphQLError | None:
    """The error a batch element gets instead of running: subscriptions and ``@defer``/``@stream`` stream."""
    if operation.kind == "subscription":
        return GraphQLError("Subscriptions cannot be batched: send a subscription on its own, over WebSocket "
                            "or Server-Sent Events.")
    if operation.incremental:
        return GraphQLError("@defer and @stream cannot be used in a batch: send this operation on its own, "
                            "with 'Accept: multipart/mixed;deferSpec=20220824'.")
    return None


def is_request_error(result: ExecutionResult) -> bool:
    """Whether ``result`` reports a request error (no data, only path-less errors): it never ran."""
    errors = result.errors or ()
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


async def answer_batch(consumer: BatchHost, send: Callable[..., Any], request: ChannelsRequest,
                       items: list[Any], media_type: bytes) -> None:
    """Run a batch on the consumer and send the array of results (see the module)."""
    engine = consumer.engine
    elements = await prepare_batch(engine, read_batch(items, consumer.max_batch_size),
                                   lambda params: consumer.prepare_operation(params, request))
    response = TemporalResponse()
    context: Any = None
    root_value: Any = None
    context_ready = False
    no_cache = False
    results: list[Any] = []
    observing = observer()
    connection = observing.connection("http", consumer.scope) if observing is not None else None
    try:
        for element in elements:
            # With metrics, traces or the operation log on, each element is an operation of its own.
            watch = observing.operation("http", consumer.scope) if observing is not None else None
            with contextlib.nullcontext() if watch is None else watched_request(watch, None):
                if element.refusal is not None:
                    if watch is not None:
                        watch.refuse()
                    results.append(element.refusal)
                    continue
                request_error = True
                if element.error is not None:
                    result = ExecutionResult(None, element.error.errors)
                    no_cache = no_cache or element.error.kind in UNCACHEABLE
                    if watch is not None:
                        watch.refuse(element.error.errors)
                else:
                    operation = element.operation
                    assert operation is not None and element.params is not None
                    refusal = unbatchable_error(operation)
                    if refusal is not None:
                        result = ExecutionResult(None, [refusal])
                        if watch is not None:
                            watch.refuse(result.errors or (), operation)
                    else:
                        if not context_ready:  # one context for the batch, made once something runs
                            context = await hook_result(consumer.get_context(request, response))
                            root_value = await hook_result(consumer.get_root_value(request))
                            context_ready = True
                        if watch is not None:
                            watch.enter(operation)
                        result = await engine.execute(operation, variables=element.params.variables,
                                                      context=context, root_value=root_value)
                        request_error = is_request_error(result)
                        if watch is not None:
                            watch.answered(result, operation, ran=not request_error)
                processed = await hook_result(consumer.process_result(request, result))
            data = engine.format_result(processed) if isinstance(processed, ExecutionResult) else processed
            if request_error and data.get("data", False) is None:
                del data["data"]
            results.append(data)
    finally:
        if connection is not None:
            connection.close()
    headers = [(b"content-type", media_type)]
    if no_cache:
        headers.append((b"cache-control", _NO_CACHE.encode()))
    status = 200 if response.chosen_status is None else response.chosen_status
    if response.headers:
        headers.extend(encode_headers(response.headers))
    body: str | bytes = await hook_result(consumer.encode_json(results))
    await consumer.send_response(send, status, body if isinstance(body, bytes) else body.encode(), headers)
