"""``GraphQLHTTPConsumer``: GraphQL over HTTP (graphql/graphql-over-http) on Channels.

One request, one pass: read the body from ``receive``, check the parameters,
let the engine prepare (cached parse + validate) and execute, send the reply.
Unlike Channels' ``AsyncConsumer`` it opens no channel-layer channel, starts
no receive task and hops to no thread; a resolver that uses
``request.consumer.channel_layer`` gets the layer lazily.

Status codes follow the spec for each media type the client accepts:

====================================  ===================================  ===================
case                                  ``application/graphql-response+json``  ``application/json``
====================================  ===================================  ===================
executed (even with field errors)     200                                  200
syntax/validation/operation/variable  400 (no ``data``)                    200 (no ``data``)
errors; subscriptions over HTTP
bad JSON or parameters                400                                  400
mutation over GET                     405 (``Allow: POST``)                405
====================================  ===================================  ===================

plus 405 for other methods, 413 for bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
415 for other content types and 406 when ``Accept`` admits neither media type.
Every refusal has a JSON ``{"errors": [{"message": ...}]}`` body.

With ``SSE_ENABLED`` the same URL also speaks GraphQL over Server-Sent Events
(the graphql-sse protocol, both modes): see :mod:`.sse`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from inspect import isawaitable
from tempfile import SpooledTemporaryFile
from typing import Any, TypeVar, Union
from urllib.parse import parse_qsl

from django.conf import settings
from graphql import ExecutionResult, GraphQLError

from ..channel_layer.consumer import ChannelsConsumer
from ..conf import gql_settings
from ..engine import HTTP_STATUS as PERSISTED_HTTP_STATUS
from ..engine import UNCACHEABLE, Engine, Operation, get_engine, resolve_operation
from ..exceptions import GraphQLRequestError
from ..operations import ConfirmingListener, ConnectionGone, Operations
from ..unset import UNSET
from . import sse
from .assets import ASSET_PARAM, accepts_gzip, get_asset
from .cors import cors_policy
from .errors import HTTPError
from .ide import ide_page_headers, new_csp_nonce, render_ide_page
from .multipart import (
    MISSING_PREFLIGHT_MESSAGE,
    PREFLIGHT_HEADERS,
    apply_map,
    close_files,
    multipart_field,
    parse_multipart,
)
from .negotiation import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from .params import GraphQLParams, params_from_data
from .types import ChannelsRequest, ChannelsResponse, TemporalResponse, encode_headers

__all__ = ["GraphQLHTTPConsumer"]

logger = logging.getLogger("django_gql_channels")

T = TypeVar("T")
MaybeAwaitable = Union[T, Awaitable[T]]

_JSON_HEADER = (b"content-type", JSON)
_TEXT_HEADER = (b"content-type", b"text/plain; charset=utf-8")
# As Apollo Server sends with PersistedQueryNotFound: a miss must not be cached.
_NO_CACHE_HEADER = (b"cache-control", b"private, no-cache, must-revalidate")
#: GET parameters that make a request a GraphQL request rather than a visit to the IDE.
_REQUEST_PARAMETERS = ("query", "documentId", "extensions")
_GRAPHQL_RESPONSE_HEADER = (b"content-type", GRAPHQL_RESPONSE_JSON)
# ensure_ascii: the body is pure ASCII, so strings holding lone surrogates
# (valid in JSON input) cannot fail to encode on the way out.
_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
# An asset URL names its content's digest, so a matching request may be cached for good.
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_REVALIDATE = (b"cache-control", b"no-cache")


#: What sync hooks usually return: never awaitable.
_PLAIN_TYPES = frozenset({str, bytes, dict, list, type(None)})


class _Disconnected(Exception):
    """The client went away while we read its body."""


def _is_request_error(result: ExecutionResult) -> bool:
    # graphql-core reports variable coercion failures as a result without
    # data whose errors have no path; field errors always have one.
    errors = result.errors or ()
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


#: Hooks whose default the request path inlines when a subclass keeps it.
_INLINED_HOOKS = ("get_context", "get_root_value", "process_result")
_overridden_by_class: dict[type, frozenset[str]] = {}


def _overridden_hooks(cls: type) -> frozenset[str]:
    """The inlined hooks ``cls`` overrides (computed once per class)."""
    try:
        return _overridden_by_class[cls]
    except KeyError:
        overridden = frozenset(name for name in _INLINED_HOOKS
                               if getattr(cls, name) is not getattr(GraphQLHTTPConsumer, name))
        _overridden_by_class[cls] = overridden
        return overridden


class GraphQLHTTPConsumer(ConfirmingListener, ChannelsConsumer):
    """Serves GraphQL queries and mutations over HTTP, and the IDE page.

    Hooks to override (each may be ``async def`` or a plain ``def``; the
    defaults are async where they might do I/O):

    - ``get_context(request, response)``: the resolvers' ``info.context``
      (default ``{"request": request, "response": response}``).
    - ``get_root_value(request)``: the root value (default ``None``).
    - ``process_result(request, result)``: the response dict for an
      ``ExecutionResult`` (default: the engine's formatting).
    - ``decode_json(data)`` / ``encode_json(data)``: JSON in and out.
    - ``render_graphql_ide(request)``: the IDE page, a :class:`ChannelsResponse`.

    With an IDE on, ``GET ?ide-asset=<name>`` serves the IDE's own files
    (GraphiQL, React) from the package: see :mod:`.assets`.

    Any of them may raise :class:`~django_gql_channels.http.HTTPError` to
    refuse the request with a status and message.

    With ``sse_enabled`` (``SSE_ENABLED``), operations also run over
    Server-Sent Events (:mod:`.sse`); their context is :meth:`get_context`'s
    plus ``"ws"``, the consumer owning the stream.
    """

    def __init__(
        self,
        *,
        schema: Any = None,
        graphql_ide: str | None = UNSET,
        allow_queries_via_get: bool | None = None,
        multipart_uploads_enabled: bool | None = None,
        sse_enabled: bool | None = None,
    ) -> None:
        super().__init__()
        self.schema = schema
        self.engine: Engine = get_engine(schema)
        self.graphql_ide: str | None = gql_settings.GRAPHQL_IDE if graphql_ide is UNSET else graphql_ide
        self.allow_queries_via_get: bool = (
            gql_settings.ALLOW_QUERIES_VIA_GET if allow_queries_via_get is None else allow_queries_via_get
        )
        self.multipart_uploads_enabled: bool = (
            gql_settings.MULTIPART_UPLOADS_ENABLED if multipart_uploads_enabled is None
            else multipart_uploads_enabled
        )
        self.sse_enabled: bool = gql_settings.SSE_ENABLED if sse_enabled is None else sse_enabled
        self._overridden_hooks = _overridden_hooks(type(self))
        self._response_started = False
        self._receive: Callable[..., Any] | None = None
        #: CORS headers every response to this request carries (none without CORS settings).
        self._cors_headers: list[tuple[bytes, bytes]] = []

    # -- hooks ---------------------------------------------------------------

    async def get_context(self, request: ChannelsRequest, response: TemporalResponse) -> Any:
        return {"request": request, "response": response}

    async def get_root_value(self, request: ChannelsRequest) -> Any:
        return None

    async def process_result(self, request: ChannelsRequest, result: ExecutionResult) -> dict[str, Any]:
        return self.engine.format_result(result)

    def decode_json(self, data: str | bytes) -> Any:
        return json.loads(data)

    def encode_json(self, data: Any) -> str | bytes:
        return _encoder.encode(data)

    async def render_graphql_ide(self, request: ChannelsRequest) -> ChannelsResponse:
        assert self.graphql_ide is not None
        nonce = new_csp_nonce()
        page = render_ide_page(self.graphql_ide, nonce=nonce,
                               only_persisted_documents=self.engine.only_persisted_documents)
        return ChannelsResponse(page, headers=ide_page_headers(self.graphql_ide, nonce))

    # -- ASGI ----------------------------------------------------------------

    async def __call__(  # type: ignore[override]  # any scope dict, not types-channels' WebSocket TypedDict
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        self.scope = scope
        self.base_send = send
        self._receive = receive
        try:
            policy = cors_policy()
            if policy is not None and policy.applies_to(scope["path"][len(scope.get("root_path", "")):]):
                if await self._cors(policy, scope, send):
                    return
            await self.handle(scope, receive, send)
        except _Disconnected:
            pass
        except HTTPError as error:
            if not self._response_started:
                await self.send_error(send, error.status, error.message, error.headers)
        except Exception:
            logger.exception("GraphQL HTTP request to %s failed.", scope.get("path"))
            if not self._response_started:
                await self.send_error(send, 500, "Internal server error.")
        finally:
            # Nothing to do unless a resolver used the layer.
            if self.layer_in_use:
                await self.close_channel_layer()

    async def _cors(self, policy: Any, scope: dict[str, Any], send: Callable[..., Any]) -> bool:
        """Pick this request's CORS headers; answer it if it is a preflight (then True)."""
        origin = request_method = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
        preflight = scope["method"] == "OPTIONS" and request_method is not None
        self._cors_headers = policy.headers(origin, preflight=preflight)
        if preflight:
            await self.send_response(send, 200, b"", [])
        return preflight

    async def handle(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Answer one request (raising :class:`HTTPError` to refuse it)."""
        method = scope["method"]
        content_type = accept = content_length = token = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
            elif name == b"content-length":
                content_length = value
            elif name in PREFLIGHT_HEADERS and value.strip():
                preflight = True
            elif name == sse.TOKEN_HEADER:
                token = value
        negotiated = negotiate(accept)
        event_stream = False
        reservation: sse.Reservation | None = None
        if self.sse_enabled:
            event_stream = sse.accepts_event_stream(accept)
            if token is None and b"token=" in scope.get("query_string", b""):
                token = self._query_params(scope["query_string"]).get(sse.TOKEN_QUERY_KEY, "").encode("latin-1") or None
            if method == "PUT":
                await self.reserve_stream(send, accept, token)
                return
            if token is not None or method == "DELETE":
                reservation = self._find_reservation(token)
                if method == "DELETE":
                    await self.stop_in_stream(send, reservation)
                    return
                if method == "GET" and event_stream:
                    await self.open_stream(send, receive, reservation)
                    return
            if event_stream and negotiated.content_type is None:
                # Only an event stream is acceptable: every outcome goes there.
                negotiated = negotiated._replace(content_type=sse.EVENT_STREAM)
        files = None
        try:
            if method == "POST":
                if negotiated.content_type is None:
                    raise self._not_acceptable()
                raw_type = content_type or b""
                media_type = raw_type.split(b";", 1)[0].strip().lower()
                if media_type == b"application/json":
                    if b";" in raw_type:
                        self._check_charset(raw_type)
                    body = await self.read_body(receive, content_length)
                    params = params_from_data(await self._decode(body, "The request body"))
                elif media_type == b"multipart/form-data" and self.multipart_uploads_enabled:
                    if not preflight:
                        raise HTTPError(400, MISSING_PREFLIGHT_MESSAGE)
                    body = b""
                    params, files = await self._read_multipart(receive, raw_type.decode("latin-1"))
                else:
                    raise self._unsupported_media_type(content_type)
            elif method == "GET":
                query_params = self._query_params(scope.get("query_string", b""))
                if not any(name in query_params for name in _REQUEST_PARAMETERS):
                    asset = query_params.get(ASSET_PARAM)
                    if asset is not None and self.graphql_ide is not None:
                        await self.send_ide_asset(send, scope, asset, query_params.get("v"))
                        return
                    if negotiated.html and self.graphql_ide is not None:
                        request = ChannelsRequest(self, b"", None, method, None)
                        page: ChannelsResponse = await self._hook(self.render_graphql_ide(request))
                        await self.send_response(send, page.status, page.content,
                                                 [(b"content-type", page.content_type.encode("latin-1")),
                                                  *encode_headers(page.headers)])
                        return
                    if negotiated.html:
                        raise HTTPError(404, "The GraphQL IDE is turned off (GRAPHQL_IDE is None); "
                                             "send a 'query' parameter to run a query.")
                    raise HTTPError(400, "The request has no 'query': send it as a URL parameter "
                                         "(?query=...) or POST a JSON body.")
                if not self.allow_queries_via_get:
                    raise HTTPError(405, "Queries over GET are turned off (ALLOW_QUERIES_VIA_GET is False): "
                                         "POST them as JSON.", {"Allow": "POST"})
                if negotiated.content_type is None:
                    raise self._not_acceptable()
                body = b""
                params = params_from_data(await self._get_data(query_params))
            else:
                raise HTTPError(405, f"{method} is not supported: send queries with POST"
                                     f"{' or GET' if self.allow_queries_via_get else ''}.",
                                {"Allow": self._allowed_methods()})
            request = ChannelsRequest(self, body, None, method,
                                      content_type.decode("latin-1") if content_type else None, files)
            if reservation is not None:
                await self.start_in_stream(send, request, params, reservation, negotiated.content_type)
                return
            await self.execute(send, request, params, negotiated.content_type,
                               event_stream=event_stream)
        finally:
            close_files(files)

    async def prepare_operation(self, params: GraphQLParams, request: ChannelsRequest) -> Operation:
        """The operation ``params`` describe (text, ``documentId`` or persisted-query hash),
        for every transport of this URL (JSON and SSE).

        Raises :class:`~..exceptions.GraphQLRequestError` for syntax,
        validation, operation-selection and persisted-document errors.
        """
        return await resolve_operation(self.engine, params.query, params.operation_name,
                                       document_id=params.document_id, extensions=params.extensions)

    async def execute(self, send: Callable[..., Any], request: ChannelsRequest, params: GraphQLParams,
                      media_type: bytes, *, event_stream: bool = False) -> None:
        """Prepare and run the operation, then send its result.

        With ``event_stream`` (the client accepts ``text/event-stream``) a
        subscription is streamed, and so is everything when ``media_type`` is
        the event stream itself (no JSON type was acceptable).
        """
        engine = self.engine
        response = TemporalResponse()
        request_error = False
        status: int | None = None
        extra_headers: list[tuple[bytes, bytes]] = []
        try:
            operation = await self.prepare_operation(params, request)
        except GraphQLRequestError as error:
            if media_type is sse.EVENT_STREAM:
                await self.stream_errors(send, engine.format_errors(error.errors))
                return
            result = ExecutionResult(None, error.errors)
            request_error = True
            # Persisted-document refusals have their own status whatever the media type.
            status = PERSISTED_HTTP_STATUS.get(error.kind)
            if error.kind in UNCACHEABLE:
                extra_headers.append(_NO_CACHE_HEADER)
        else:
            kind = operation.kind
            if kind == "mutation" and request.method == "GET":
                raise HTTPError(405, "Mutations cannot be sent over GET: POST them.", {"Allow": "POST"})
            if event_stream and (kind == "subscription" or media_type is sse.EVENT_STREAM):
                await self.stream_operation(send, request, params, operation)
                return
            if kind == "subscription":
                result = ExecutionResult(None, [GraphQLError(self._subscription_elsewhere_message())])
                request_error = True
            else:
                # The default hooks are inlined: a request pays for a hook's
                # coroutine only when a subclass overrides it.
                overridden = self._overridden_hooks
                if "get_context" in overridden:
                    context = await self._hook(self.get_context(request, response))
                else:
                    context = {"request": request, "response": response}
                root_value = await self._hook(self.get_root_value(request)) if "get_root_value" in overridden \
                    else None
                result = await engine.execute(operation, variables=params.variables, context=context,
                                              root_value=root_value)
                request_error = _is_request_error(result)
        data: dict[str, Any]
        if "process_result" in self._overridden_hooks:
            data = await self._hook(self.process_result(request, result))
        else:
            data = engine.format_result(result)
        if request_error and data.get("data", False) is None:
            # A request error never started executing: the spec's response has no data entry.
            del data["data"]
        if status is None:
            status = 400 if request_error and media_type is GRAPHQL_RESPONSE_JSON else 200
        headers = [_GRAPHQL_RESPONSE_HEADER if media_type is GRAPHQL_RESPONSE_JSON else _JSON_HEADER, *extra_headers]
        if response._status_code is not None:
            status = response._status_code
        if response.headers:
            headers.extend(encode_headers(response.headers))
        body: str | bytes = await self._hook(self.encode_json(data))
        await self.send_response(send, status, body if isinstance(body, bytes) else body.encode(), headers)

    # -- Server-Sent Events (see .sse) -------------------------------------------

    async def operation_context(self, request: ChannelsRequest, host: GraphQLHTTPConsumer,
                                response: TemporalResponse) -> tuple[Any, Any]:
        """Context and root value of an operation run over SSE: the HTTP hooks', plus ``"ws"``."""
        context = await self._hook(self.get_context(request, response))
        if isinstance(context, dict):
            context.setdefault("ws", host)
        root_value = await self._hook(self.get_root_value(request))
        return context, root_value

    async def stream_operation(self, send: Callable[..., Any], request: ChannelsRequest, params: GraphQLParams,
                               operation: Operation) -> None:
        """Distinct connections mode: run one operation, streaming its results until it ends or the client goes."""
        response = TemporalResponse()
        context, root_value = await self.operation_context(request, self, response)
        stream = sse.EventStream(send, response, self._cors_headers)
        operations = Operations(self.engine, sse.DistinctSink(stream, self.encode_json), transport="an SSE stream")
        if operation.kind == "subscription" and self.raw_channel_layer is not None:
            # So resolvers can use ``ws.channel_name`` as in the Channels tutorial.
            await self.ensure_channel_name()
        self._response_started = True
        await operations.start(None, operation, params.variables, context, root_value)
        if operation.kind == "subscription":
            with contextlib.suppress(ConnectionGone):
                await stream.open()  # listening: let the client know
        assert self._receive is not None
        await sse.serve(stream, self._receive, operations, gql_settings.SSE_KEEP_ALIVE_INTERVAL)

    async def stream_errors(self, send: Callable[..., Any], errors: list[dict[str, Any]]) -> None:
        """Distinct connections mode: a request error, as the stream's only result."""
        stream = sse.EventStream(send, headers=self._cors_headers)
        self._response_started = True
        with contextlib.suppress(ConnectionGone):
            await sse.DistinctSink(stream, self.encode_json).send_errors(None, errors)
        await stream.end()

    async def reserve_stream(self, send: Callable[..., Any], accept: bytes | None, token: bytes | None) -> None:
        """Single connection mode, ``PUT``: reserve a stream; the reply is its token."""
        if token is not None and sse.Reservation.find(token.decode("latin-1")) is not None:
            raise HTTPError(409, "Stream already registered: this token is taken; PUT without it for a new one.")
        if not sse.accepts_text_plain(accept):
            raise HTTPError(406, "A stream reservation is answered with its token as text/plain: accept it.")
        reservation = sse.Reservation.reserve(self, gql_settings.SSE_RESERVATION_TIMEOUT)
        await self.send_response(send, 201, reservation.token.encode(), [_TEXT_HEADER])

    @staticmethod
    def _find_reservation(token: bytes | None) -> sse.Reservation:
        reservation = None if token is None else sse.Reservation.find(token.decode("latin-1"))
        if reservation is None:
            raise HTTPError(404, "Stream not found: reserve one with PUT and send its token in the "
                                 "X-GraphQL-Event-Stream-Token header (or the 'token' query parameter).")
        return reservation

    async def open_stream(self, send: Callable[..., Any], receive: Callable[..., Any],
                          reservation: sse.Reservation) -> None:
        """Single connection mode, ``GET`` with the token: the reserved stream, until the client goes."""
        if reservation.stream is not None:
            raise HTTPError(409, "Stream already open: one token admits one event stream at a time.")
        stream = sse.EventStream(send, headers=self._cors_headers)
        reservation.open(stream)
        self._response_started = True
        try:
            with contextlib.suppress(ConnectionGone):
                await stream.open()
            await sse.serve(stream, receive, None, gql_settings.SSE_KEEP_ALIVE_INTERVAL)
        finally:
            await reservation.close()

    async def start_in_stream(self, send: Callable[..., Any], request: ChannelsRequest, params: GraphQLParams,
                              reservation: sse.Reservation, media_type: bytes) -> None:
        """Single connection mode: start an operation whose events go to the reserved stream (202)."""
        op_id = (params.extensions or {}).get("operationId")
        if not isinstance(op_id, str) or not op_id:
            raise HTTPError(400, "Operation ID is missing: send a unique string as extensions.operationId.")
        operations = reservation.operations
        if op_id in operations:
            raise HTTPError(409, f"Operation with ID {op_id!r} already exists on this stream.")
        limit = gql_settings.MAX_OPERATIONS_PER_CONNECTION
        if limit is not None and len(operations) >= limit:
            raise HTTPError(429, f"Too many operations: this stream already runs {limit}, the most "
                                 "MAX_OPERATIONS_PER_CONNECTION allows at once. Stop one first.")
        try:
            operation = await self.prepare_operation(params, request)
        except GraphQLRequestError:
            # Refused as GraphQL over HTTP refuses it, in the reply to this request.
            await self.execute(send, request, params, media_type)
            return
        if operation.kind == "mutation" and request.method == "GET":
            raise HTTPError(405, "Mutations cannot be sent over GET: POST them.", {"Allow": "POST"})
        host = reservation.host
        response = TemporalResponse()
        context, root_value = await self.operation_context(request, host, response)
        if operation.kind == "subscription" and host.raw_channel_layer is not None:
            await host.ensure_channel_name()
        if reservation.closed:
            raise HTTPError(404, "Stream not found: it closed while the operation was being prepared.")
        if op_id in operations:
            raise HTTPError(409, f"Operation with ID {op_id!r} already exists on this stream.")
        await operations.start(op_id, operation, params.variables, context, root_value)
        await self.send_response(send, 202, b"", encode_headers(response.headers))

    async def stop_in_stream(self, send: Callable[..., Any], reservation: sse.Reservation) -> None:
        """Single connection mode, ``DELETE ?operationId=``: stop one operation (200 also if it had ended)."""
        op_id = self._query_params(self.scope.get("query_string", b"")).get("operationId")
        if not op_id:
            raise HTTPError(400, "Operation ID is missing: DELETE with ?operationId=<the operation's id>.")
        await reservation.operations.stop(op_id)
        await self.send_response(send, 200, b"", [])

    # -- reading -------------------------------------------------------------

    async def read_body(self, receive: Callable[..., Any], content_length: bytes | None) -> bytes:
        """The whole body, refused with 413 past ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and content_length is not None:
            try:
                too_big = int(content_length) > limit
            except ValueError:
                raise HTTPError(400, "The Content-Length header is not a number.") from None
            if too_big:
                raise self._too_large(limit)
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):
            if limit is not None and len(body) > limit:
                raise self._too_large(limit)
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                raise self._too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _read_multipart(self, receive: Callable[..., Any], content_type: str) -> tuple[GraphQLParams, Any]:
        # Spooled like Django's ASGI handler: in memory up to
        # FILE_UPLOAD_MAX_MEMORY_SIZE, then on disk. Django's parser then
        # applies its own limits to fields and files.
        memory_limit = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        size = 0
        with SpooledTemporaryFile(max_size=memory_limit, mode="w+b") as stream:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    raise _Disconnected
                chunk = message.get("body", b"")
                if chunk:
                    stream.write(chunk)
                    size += len(chunk)
                if not message.get("more_body"):
                    break
            stream.seek(0)
            if size > memory_limit:  # on disk: keep file I/O off the event loop
                fields, files = await asyncio.to_thread(parse_multipart, stream, content_type, size)
            else:
                fields, files = parse_multipart(stream, content_type, size)
        try:
            operations = await self._decode(multipart_field(fields, "operations"), "The multipart 'operations' field")
            file_map = await self._decode(multipart_field(fields, "map"), "The multipart 'map' field")
            apply_map(operations, file_map, files)
            return params_from_data(operations), files
        except BaseException:
            close_files(files)
            raise

    @staticmethod
    def _query_params(query_string: bytes) -> dict[str, str]:
        params: dict[str, str] = {}
        if query_string:
            for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True,
                                        encoding="utf-8", errors="replace"):
                params.setdefault(key, value)
        return params

    async def _get_data(self, query_params: dict[str, str]) -> dict[str, Any]:
        data: dict[str, Any] = {"query": query_params.get("query"),
                                "operationName": query_params.get("operationName") or None,
                                "documentId": query_params.get("documentId") or None}
        for name in ("variables", "extensions"):
            raw = query_params.get(name)
            data[name] = await self._decode(raw, f"The '{name}' parameter") if raw else None
        return data

    async def _decode(self, data: str | bytes, what: str) -> Any:
        if not data:
            raise HTTPError(400, f"{what} is empty: send a JSON object with a 'query' string.")
        try:
            return await self._hook(self.decode_json(data))
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError covers JSONDecodeError and undecodable bytes.
            raise HTTPError(400, f"{what} is not valid JSON: {exc}") from None

    # -- replies -------------------------------------------------------------

    @staticmethod
    async def _hook(value: MaybeAwaitable[T]) -> T:
        if value.__class__ in _PLAIN_TYPES or not isawaitable(value):  # the usual answers, checked cheaply
            return value  # type: ignore[return-value]
        return await value

    async def send_response(self, send: Callable[..., Any], status: int, body: bytes,
                            headers: list[tuple[bytes, bytes]]) -> None:
        self._response_started = True
        headers.append((b"content-length", str(len(body)).encode()))
        if self._cors_headers:
            headers.extend(self._cors_headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def send_ide_asset(self, send: Callable[..., Any], scope: dict[str, Any], name: str,
                             version: str | None) -> None:
        """One of the IDE's files, gzipped when the client accepts it, 304 when its copy is current."""
        asset = get_asset(name)
        if asset is None:
            raise HTTPError(404, f"There is no IDE file {name!r}.")
        accept_encoding = if_none_match = None
        for header, value in scope["headers"]:
            if header == b"accept-encoding":
                accept_encoding = value
            elif header == b"if-none-match":
                if_none_match = value
        gzipped = asset.gzip_path is not None and accepts_gzip(accept_encoding)
        etag = asset.gzip_etag if gzipped else asset.etag
        headers = [(b"content-type", asset.content_type), _IMMUTABLE if version == asset.digest else _REVALIDATE,
                   (b"etag", etag), (b"x-content-type-options", b"nosniff")]
        if asset.gzip_path is not None:
            headers.append((b"vary", b"Accept-Encoding"))
        if if_none_match is not None and (if_none_match.strip() == b"*" or etag in (
                tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b","))):
            self._response_started = True
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        # Read per request, from the page cache in practice: browsers fetch each
        # file once and keep it, so holding them in memory would buy nothing.
        body = (asset.gzip_path if gzipped else asset.path).read_bytes()  # type: ignore[union-attr]
        await self.send_response(send, 200, body, headers)

    async def send_error(self, send: Callable[..., Any], status: int, message: str,
                         headers: dict[str, str] | None = None) -> None:
        body = _encoder.encode({"errors": [{"message": message}]}).encode()
        await self.send_response(send, status, body, [_JSON_HEADER, *encode_headers(headers)])

    def websocket_url(self) -> str:
        """This endpoint's WebSocket URL, as the client reached it."""
        scope = self.scope
        host = None
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if not server[1] else f"{server[0]}:{server[1]}"
        scheme = "wss" if scope.get("scheme") in ("https", "wss") else "ws"
        return f"{scheme}://{host}{scope.get('root_path', '')}{scope.get('path', '')}"

    def _allowed_methods(self) -> str:
        methods = "GET, POST" if self.allow_queries_via_get or self.graphql_ide is not None else "POST"
        if self.sse_enabled:
            methods = f"{methods}{'' if methods.startswith('GET') else ', GET'}, PUT, DELETE"
        return methods

    def _subscription_elsewhere_message(self) -> str:
        message = (f"Subscriptions are served over WebSocket at {self.websocket_url()}: "
                   "connect there with a graphql-ws (graphql-transport-ws) client")
        if self.sse_enabled:
            return (f"{message}, or over Server-Sent Events at this URL: send the request with "
                    "'Accept: text/event-stream', as the graphql-sse client does.")
        return f"{message}."

    @staticmethod
    def _check_charset(content_type: bytes) -> None:
        for param in content_type.split(b";")[1:]:
            name, _, value = param.partition(b"=")
            if name.strip().lower() == b"charset" and value.strip(b" \t\"'").lower() not in (b"utf-8", b"utf8"):
                raise HTTPError(415, f"Unsupported charset {value.strip().decode('latin-1')!r}: "
                                     "send JSON in UTF-8.")

    def _unsupported_media_type(self, content_type: bytes | None) -> HTTPError:
        supported = "application/json"
        if self.multipart_uploads_enabled:
            supported += " or multipart/form-data (GraphQL multipart request)"
        if content_type is None:
            return HTTPError(415, f"The request has no Content-Type: send {supported}.")
        media_type = content_type.split(b";", 1)[0].strip().decode("latin-1")
        if media_type.lower() == "multipart/form-data":
            return HTTPError(415, "Multipart uploads are turned off (MULTIPART_UPLOADS_ENABLED is False): "
                                  "send application/json.")
        return HTTPError(415, f"Unsupported Content-Type {media_type!r}: send {supported}.")

    @staticmethod
    def _not_acceptable() -> HTTPError:
        return HTTPError(406, "The Accept header admits no type this endpoint sends: accept "
                              "application/graphql-response+json or application/json.")

    @staticmethod
    def _too_large(limit: int) -> HTTPError:
        return HTTPError(413, f"The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE ({limit} bytes).")
