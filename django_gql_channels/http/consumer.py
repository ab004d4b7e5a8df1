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
415 for other content types and 406 when ``Accept`` admits neither media type
(or, for an operation using ``@defer``/``@stream``, no ``multipart/mixed``:
see :mod:`.incremental`).
Every refusal has a JSON ``{"errors": [{"message": ...}]}`` body.

With ``SSE_ENABLED`` the same URL also speaks GraphQL over Server-Sent Events
(the graphql-sse protocol, both modes): see :mod:`.sse`. Those requests are
answered by :class:`~.sse_requests.SSERequests`, which sees this consumer
only as an :class:`~.sse.SSEHost`. With ``MULTIPART_SUBSCRIPTIONS_ENABLED``
it also answers Apollo's multipart HTTP subscriptions: see
:mod:`.multipart_subscriptions`.

Around the consumer: :mod:`.head` reads the headers, :mod:`.body` the body,
:mod:`.params` the GraphQL parameters, :mod:`.errors` words the refusals,
:mod:`.hooks` calls the overridable hooks and :mod:`.assets` serves the
IDE's files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from graphql import ExecutionResult, GraphQLError

from ..channel_layer.consumer import ChannelsConsumer
from ..conf import gql_settings
from ..context import GrapheneContext, wants_request_attributes
from ..engine import HTTP_STATUS as PERSISTED_HTTP_STATUS
from ..engine import (
    LIVE_OVER_HTTP,
    UNCACHEABLE,
    Engine,
    IncrementalResults,
    Operation,
    get_engine,
    is_live,
    resolve_operation,
)
from ..exceptions import GraphQLRequestError
from ..hook_values import READY_NONE, MaybeAwaitable, ReadyDict, ReadyGrapheneContext
from ..observability import observer
from ..operations import ConfirmingListener
from ..unset import UNSET
from . import sse
from .assets import ASSET_PARAM, asset_reply
from .batching import answer_batch
from .body import Disconnected, read_body, read_multipart
from .cors import CorsPolicy, cors_policy
from .errors import HTTPError, check_charset, method_not_allowed, not_acceptable, unsupported_media_type
from .head import RequestHead, websocket_url
from .hooks import hook_result, overridden_hooks
from .hosts import check_host
from .ide import ide_page_headers, new_csp_nonce, render_ide_page
from .incremental import accepts_incremental, incremental_not_acceptable, stream_parts
from .multipart import MISSING_PREFLIGHT_MESSAGE, apply_map, close_files, multipart_field
from .multipart_subscriptions import MULTIPART_SUBSCRIPTION, MultipartSubscriptions
from .negotiation import GRAPHQL_RESPONSE_JSON, JSON
from .params import GraphQLParams, params_from_data, query_params
from .sse import SSEHost
from .sse_requests import SSERequests, find_reservation
from .types import ChannelsRequest, ChannelsResponse, TemporalResponse, encode_headers
from .watched import watched_request

if TYPE_CHECKING:  # pragma: no cover
    from ..observability.watches import OperationWatch

__all__ = ["GraphQLHTTPConsumer"]

logger = logging.getLogger("django_gql_channels")

_JSON_HEADER = (b"content-type", JSON)
# As Apollo Server sends with PersistedQueryNotFound: a miss must not be cached.
_NO_CACHE_HEADER = (b"cache-control", b"private, no-cache, must-revalidate")
#: GET parameters that make a request a GraphQL request rather than a visit to the IDE.
_REQUEST_PARAMETERS = ("query", "documentId", "extensions")
_GRAPHQL_RESPONSE_HEADER = (b"content-type", GRAPHQL_RESPONSE_JSON)
# ensure_ascii: the body is pure ASCII, so strings holding lone surrogates
# (valid in JSON input) cannot fail to encode on the way out.
_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _is_request_error(result: ExecutionResult) -> bool:
    # graphql-core reports variable coercion failures as a result without
    # data whose errors have no path; field errors always have one.
    errors = result.errors or ()
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


#: Hooks whose default the request path inlines when a subclass keeps it.
_INLINED_HOOKS = ("get_context", "get_root_value", "process_result", "decode_json", "encode_json")


class GraphQLHTTPConsumer(ConfirmingListener, ChannelsConsumer):
    """Serves GraphQL queries and mutations over HTTP, and the IDE page.

    Hooks to override (each may be ``async def`` or a plain ``def``; the
    defaults are async where they might do I/O):

    - ``get_context(request, response)``: the resolvers' ``info.context``
      (default ``{"request": request, "response": response}``; for Graphene
      schemas that dict as a ``context.GrapheneContext``: ``.user``, ``.META``...).
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
    Server-Sent Events (:mod:`.sse`, answered by :mod:`.sse_requests`);
    their context is :meth:`get_context`'s plus ``"ws"``, the consumer
    owning the stream. As on WebSockets, a subscription started on a
    reserved stream is answered once it has started, or after
    :attr:`confirm_timeout` seconds.

    With ``multipart_subscriptions_enabled`` (``MULTIPART_SUBSCRIPTIONS_ENABLED``),
    a subscription whose ``Accept`` names ``multipart/mixed;subscriptionSpec="1.0"``
    is answered as Apollo's multipart HTTP subscriptions
    (:mod:`.multipart_subscriptions`), with the same context as over SSE.

    Each method has its handler: :meth:`handle_get`, :meth:`handle_post`,
    :meth:`handle_put` and :meth:`handle_delete` (SSE), and
    :meth:`handle_preflight` for CORS preflights; :meth:`handle` picks one.
    """

    #: Longest wait, in seconds, for a subscription started on a reserved SSE
    #: stream to start before its request is answered anyway.
    confirm_timeout: ClassVar[float] = 5.0
    #: Longest wait, in seconds, for a stopped SSE operation's clean-up (its
    #: generator's ``finally``) before the stream carries on without it.
    cleanup_timeout: ClassVar[float] = 10.0

    def __init__(
        self,
        *,
        schema: Any = None,
        graphql_ide: str | None = UNSET,
        allow_queries_via_get: bool | None = None,
        multipart_uploads_enabled: bool | None = None,
        sse_enabled: bool | None = None,
        multipart_subscriptions_enabled: bool | None = None,
        batching: bool | None = None,
    ) -> None:
        super().__init__()
        self.schema = schema
        self.engine: Engine = get_engine(schema)
        #: The default context is a :class:`GrapheneContext` (Graphene schemas), not a plain dict.
        self.request_attributes: bool = wants_request_attributes(self.engine.library)
        self.graphql_ide: str | None = gql_settings.GRAPHQL_IDE if graphql_ide is UNSET else graphql_ide
        self.allow_queries_via_get: bool = (
            gql_settings.ALLOW_QUERIES_VIA_GET if allow_queries_via_get is None else allow_queries_via_get
        )
        self.multipart_uploads_enabled: bool = (
            gql_settings.MULTIPART_UPLOADS_ENABLED if multipart_uploads_enabled is None
            else multipart_uploads_enabled
        )
        self.sse_enabled: bool = gql_settings.SSE_ENABLED if sse_enabled is None else sse_enabled
        self.multipart_subscriptions_enabled: bool = (
            gql_settings.MULTIPART_SUBSCRIPTIONS_ENABLED if multipart_subscriptions_enabled is None
            else multipart_subscriptions_enabled
        )
        #: HTTP batching (``BATCHING``, :mod:`.batching`): a JSON array of operations in one POST.
        self.batching: bool = gql_settings.BATCHING if batching is None else batching
        self.max_batch_size: int = gql_settings.MAX_BATCH_SIZE
        self._overridden_hooks = overridden_hooks(type(self), GraphQLHTTPConsumer, _INLINED_HOOKS)
        #: Set once the response has started: a failure can no longer be answered with an error.
        self.response_started = False
        self._receive: Callable[..., Any] | None = None
        #: CORS headers every response to this request carries (none without CORS settings).
        self.cors_headers: list[tuple[bytes, bytes]] = []
        #: This request's operation, for metrics, traces and the operation log (None when all are off).
        self.watch: OperationWatch | None = None

    # -- hooks ---------------------------------------------------------------

    # The defaults are plain methods whose values may also be awaited (see
    # hook_values): an override, ``async def`` or plain ``def``, can use super().

    def get_context(self, request: ChannelsRequest, response: TemporalResponse) -> MaybeAwaitable[Any]:
        if self.request_attributes:
            return ReadyGrapheneContext(request=request, response=response)
        return ReadyDict(request=request, response=response)

    def get_root_value(self, request: ChannelsRequest) -> MaybeAwaitable[Any]:
        return READY_NONE

    def process_result(self, request: ChannelsRequest,
                       result: ExecutionResult) -> MaybeAwaitable[dict[str, Any] | ExecutionResult]:
        return ReadyDict(self.engine.format_result(result))

    def decode_json(self, data: str | bytes) -> Any:
        return json.loads(data)

    def encode_json(self, data: Any) -> str | bytes:
        return _encoder.encode(data)

    def render_graphql_ide(self, request: ChannelsRequest) -> MaybeAwaitable[ChannelsResponse]:
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
            check_host(scope)
            policy = cors_policy()
            if policy is not None and policy.applies_to(scope["path"][len(scope.get("root_path", "")):]):
                if self.choose_cors_headers(policy, scope):
                    await self.handle_preflight(send)
                    return
            await self.handle(scope, receive, send)
        except Disconnected:
            pass
        except HTTPError as error:
            if not self.response_started:
                await self.send_error(send, error.status, error.message, error.headers, code=error.code)
        except Exception:
            logger.exception("GraphQL HTTP request to %s failed.", scope.get("path"))
            if not self.response_started:
                await self.send_error(send, 500, "Internal server error.")
        finally:
            # Nothing to do unless a resolver used the layer.
            if self.layer_in_use:
                await self.close_channel_layer()

    def choose_cors_headers(self, policy: CorsPolicy, scope: dict[str, Any]) -> bool:
        """Pick this request's CORS headers; True when it is a preflight."""
        origin = request_method = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
        preflight = scope["method"] == "OPTIONS" and request_method is not None
        self.cors_headers = policy.headers(origin, preflight=preflight)
        return preflight

    # -- one handler per method ------------------------------------------------

    async def handle(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Answer one request (raising :class:`HTTPError` to refuse it): the handler of its method."""
        head = RequestHead(scope, sse_enabled=self.sse_enabled,
                           multipart_subscriptions=self.multipart_subscriptions_enabled)
        method = head.method
        reservation = None
        if self.sse_enabled and method != "PUT" and (head.token is not None or method == "DELETE"):
            # An unknown token is refused before anything else is looked at.
            reservation = find_reservation(head.token, scope)
        if method == "POST":
            await self.handle_post(head, receive, send, reservation)
        elif method == "GET":
            await self.handle_get(head, receive, send, reservation)
        elif method == "PUT" and self.sse_enabled:
            await self.handle_put(head, receive, send)
        elif method == "DELETE" and reservation is not None:
            await self.handle_delete(head, receive, send, reservation)
        else:
            raise method_not_allowed(method, queries_via_get=self.allow_queries_via_get,
                                     ide=self.graphql_ide is not None, sse_enabled=self.sse_enabled)

    async def handle_preflight(self, send: Callable[..., Any]) -> None:
        """``OPTIONS`` with ``Access-Control-Request-Method``, at a CORS URL: the CORS headers alone."""
        await self.send_response(send, 200, b"", [])

    async def handle_put(self, head: RequestHead, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """SSE single connection mode: reserve a stream."""
        await SSERequests(self, send, receive).reserve(head.accept, head.token)

    async def handle_delete(self, head: RequestHead, receive: Callable[..., Any], send: Callable[..., Any],
                            reservation: sse.Reservation) -> None:
        """SSE single connection mode: stop one operation of the stream."""
        await SSERequests(self, send, receive).stop(reservation)

    async def handle_post(self, head: RequestHead, receive: Callable[..., Any], send: Callable[..., Any],
                          reservation: sse.Reservation | None) -> None:
        """A GraphQL request in a JSON or multipart body."""
        if head.negotiated.content_type is None:
            raise not_acceptable()
        files = None
        try:
            raw_type = head.content_type or b""
            media_type = raw_type.split(b";", 1)[0].strip().lower()
            if media_type == b"application/json":
                if b";" in raw_type:
                    check_charset(raw_type)
                body = await self.read_body(receive, head.content_length)
                data = await self._decode(body, "The request body")
                if self.batching and type(data) is list:
                    await self.answer_batch(head, send, body, data, reservation)
                    return
                params = params_from_data(data)
            elif media_type == b"multipart/form-data" and self.multipart_uploads_enabled:
                if not head.multipart_preflight:
                    raise HTTPError(400, MISSING_PREFLIGHT_MESSAGE)
                body = b""
                params, files = await self._read_multipart(receive, raw_type.decode("latin-1"))
            else:
                raise unsupported_media_type(head.content_type, multipart_enabled=self.multipart_uploads_enabled)
            await self._answer(head, send, receive, body, params, files, reservation)
        finally:
            close_files(files)

    async def handle_get(self, head: RequestHead, receive: Callable[..., Any], send: Callable[..., Any],
                         reservation: sse.Reservation | None) -> None:
        """A GraphQL request in the query string, the IDE page or files, or a reserved SSE stream."""
        if reservation is not None and head.event_stream:
            await SSERequests(self, send, receive).open(reservation)
            return
        scope = self.scope
        params_in_url = query_params(scope.get("query_string", b""))
        negotiated = head.negotiated
        if not any(name in params_in_url for name in _REQUEST_PARAMETERS):
            asset = params_in_url.get(ASSET_PARAM)
            if asset is not None and self.graphql_ide is not None:
                await self.send_ide_asset(send, scope, asset, params_in_url.get("v"))
                return
            if negotiated.html and self.graphql_ide is not None:
                request = ChannelsRequest(self, b"", None, head.method, None)
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
            raise not_acceptable()
        params = params_from_data(await self._get_data(params_in_url))
        await self._answer(head, send, receive, b"", params, None, reservation)

    async def _answer(self, head: RequestHead, send: Callable[..., Any], receive: Callable[..., Any], body: bytes,
                      params: GraphQLParams, files: Any, reservation: sse.Reservation | None) -> None:
        media_type = head.negotiated.content_type
        assert media_type is not None
        request = ChannelsRequest(self, body, None, head.method,
                                  head.content_type.decode("latin-1") if head.content_type else None, files)
        observing = observer()
        if observing is not None:
            await self._observed_answer(observing, send, receive, request, params, media_type, head, reservation)
        elif reservation is not None:
            await SSERequests(self, send, receive).start(request, params, reservation, media_type)
        else:
            await self.execute(send, request, params, media_type, event_stream=head.event_stream,
                               multipart=head.multipart_subscriptions)

    async def answer_batch(self, head: RequestHead, send: Callable[..., Any], body: bytes, items: list[Any],
                           reservation: sse.Reservation | None) -> None:
        """A batch (``BATCHING``): its operations in order, answered with a JSON array (:mod:`.batching`)."""
        media_type = head.negotiated.content_type
        if reservation is not None or media_type not in (JSON, GRAPHQL_RESPONSE_JSON):
            raise HTTPError(400, "A batch is answered with one JSON array, not as an event stream: accept "
                                 "application/json, or send each operation on its own.")
        assert media_type is not None
        request = ChannelsRequest(self, body, None, head.method,
                                  head.content_type.decode("latin-1") if head.content_type else None)
        await answer_batch(self, send, request, items, media_type)

    async def _observed_answer(self, observing: Any, send: Callable[..., Any], receive: Callable[..., Any],
                               request: ChannelsRequest, params: GraphQLParams, media_type: bytes,
                               head: RequestHead, reservation: sse.Reservation | None) -> None:
        """:meth:`_answer` with metrics, traces or the operation log on (:mod:`~django_gql_channels.observability`)."""
        # A request on a reserved stream is the stream's operation; any other, an HTTP
        # one (until it turns out to be an SSE stream: see execute()).
        connection = None if reservation is not None else observing.connection("http", self.scope)
        watch = self.watch = observing.operation("sse" if reservation is not None else "http", self.scope)
        watch.connection = connection
        with watched_request(watch, connection):
            if reservation is not None:
                await SSERequests(self, send, receive).start(request, params, reservation, media_type, watch=watch)
            else:
                await self.execute(send, request, params, media_type, event_stream=head.event_stream,
                                   multipart=head.multipart_subscriptions)

    async def prepare_operation(self, params: GraphQLParams, request: ChannelsRequest) -> Operation:
        """The operation ``params`` describe (text, ``documentId`` or persisted-query hash),
        for every transport of this URL (JSON and SSE).

        Raises :class:`~..exceptions.GraphQLRequestError` for syntax,
        validation, operation-selection and persisted-document errors.
        """
        return await resolve_operation(self.engine, params.query, params.operation_name,
                                       document_id=params.document_id, extensions=params.extensions)

    async def execute(self, send: Callable[..., Any], request: ChannelsRequest, params: GraphQLParams,
                      media_type: bytes, *, event_stream: bool = False, multipart: bool = False) -> None:
        """Prepare and run the operation, then send its result.

        With ``event_stream`` (the client accepts ``text/event-stream``) a
        subscription is streamed, and so is everything when ``media_type`` is
        the event stream itself (no JSON type was acceptable). ``multipart``
        (the client accepts Apollo's multipart subscriptions) does the same
        as a ``multipart/mixed`` response.
        """
        engine = self.engine
        response = TemporalResponse()
        request_error = False
        status: int | None = None
        extra_headers: list[tuple[bytes, bytes]] = []
        try:
            operation = await self.prepare_operation(params, request)
        except GraphQLRequestError as error:
            if self.watch is not None:
                self.watch.refuse(error.errors, transport="sse" if media_type is sse.EVENT_STREAM else None)
            if media_type is sse.EVENT_STREAM:
                await SSERequests(self, send, self._receive).stream_errors(engine.format_errors(error.errors))
                return
            if media_type is MULTIPART_SUBSCRIPTION:
                await MultipartSubscriptions(self, send, self._receive).stream_errors(
                    engine.format_errors(error.errors))
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
                if self.watch is not None:
                    self.watch.refuse(operation=operation)
                raise HTTPError(405, "Mutations cannot be sent over GET: POST them.", {"Allow": "POST"})
            live = engine.live_queries and is_live(operation)
            if event_stream and (kind == "subscription" or live or media_type is sse.EVENT_STREAM or (
                    operation.incremental and not accepts_incremental(self.scope["headers"]))):
                # An incremental operation goes to the event stream too, unless multipart is acceptable.
                await SSERequests(self, send, self._receive).stream_operation(request, params, operation,
                                                                              watch=self.watch)
                return
            if multipart and (kind == "subscription" or media_type is MULTIPART_SUBSCRIPTION):
                await MultipartSubscriptions(self, send, self._receive).stream_operation(request, params, operation,
                                                                                     watch=self.watch)
                return
            if kind == "subscription" or live:
                message = LIVE_OVER_HTTP if live else self._subscription_elsewhere_message()
                result = ExecutionResult(None, [GraphQLError(message)])
                request_error = True
                if self.watch is not None:
                    self.watch.refuse(result.errors or (), operation)
            else:
                # The default hooks are inlined: a request pays for a hook's
                # coroutine only when a subclass overrides it.
                overridden = self._overridden_hooks
                context = await self._hook(self.get_context(request, response)) if "get_context" in overridden \
                    else self._default_context(request, response)
                root_value = await self._hook(self.get_root_value(request)) if "get_root_value" in overridden \
                    else None
                if operation.incremental and not accepts_incremental(self.scope["headers"]):
                    # @defer/@stream: refused before running unless multipart is acceptable (.incremental).
                    raise incremental_not_acceptable()
                if self.watch is not None:
                    self.watch.enter(operation)
                if operation.incremental:
                    results = await engine.execute_incrementally(operation, variables=params.variables,
                                                                 context=context, root_value=root_value)
                    if isinstance(results, IncrementalResults):
                        await self._send_incremental(send, request, response, results)
                        return
                    result = results
                else:
                    result = await engine.execute(operation, variables=params.variables, context=context,
                                                  root_value=root_value)
                request_error = _is_request_error(result)
                if self.watch is not None:
                    self.watch.answered(result, operation, ran=not request_error)
        data: dict[str, Any]
        if "process_result" in self._overridden_hooks:
            data = await self._processed(request, result)
        else:
            data = engine.format_result(result)
        if request_error and data.get("data", False) is None:
            # A request error never started executing: the spec's response has no data entry.
            del data["data"]
        if status is None:
            status = 400 if request_error and media_type is GRAPHQL_RESPONSE_JSON else 200
        headers = [_GRAPHQL_RESPONSE_HEADER if media_type is GRAPHQL_RESPONSE_JSON else _JSON_HEADER, *extra_headers]
        if response.chosen_status is not None:
            status = response.chosen_status
        if response.headers:
            headers.extend(encode_headers(response.headers))
        if "encode_json" in self._overridden_hooks:
            body: str | bytes = await self._hook(self.encode_json(data))
            await self.send_response(send, status, body if isinstance(body, bytes) else body.encode(), headers)
        else:
            await self.send_response(send, status, _encoder.encode(data).encode(), headers)

    async def _processed(self, request: ChannelsRequest, result: ExecutionResult) -> dict[str, Any]:
        """The response map an overridden ``process_result`` makes of ``result``."""
        processed: dict[str, Any] | ExecutionResult = await self._hook(self.process_result(request, result))
        # An override may hand back the (changed) ExecutionResult instead of its map.
        return self.engine.format_result(processed) if isinstance(processed, ExecutionResult) else processed

    async def _send_incremental(self, send: Callable[..., Any], request: ChannelsRequest,
                                response: TemporalResponse, results: IncrementalResults) -> None:
        """An incremental operation's payloads as one ``multipart/mixed`` response (:mod:`.incremental`)."""
        engine = self.engine
        try:
            initial = results.initial
            first = ExecutionResult(initial.data, initial.errors, initial.extensions)
            if self.watch is not None:
                self.watch.result(first)
            data: dict[str, Any]
            if "process_result" in self._overridden_hooks:
                data = await self._processed(request, first)
            else:
                data = engine.format_result(first)
            headers = encode_headers(response.headers) if response.headers else []
            headers.extend(self.cors_headers)
            self.response_started = True
            assert self._receive is not None
            await stream_parts(send, self._receive, response.chosen_status or 200, headers,
                               await self._encoded(results.initial_payload(data)), results.subsequent(),
                               self._encoded, self._stream_failure)
        finally:
            await results.aclose()

    async def _encoded(self, data: dict[str, Any]) -> bytes:
        body: str | bytes = await self._hook(self.encode_json(data))
        return body if isinstance(body, bytes) else body.encode()

    def _stream_failure(self, exc: BaseException) -> dict[str, Any]:
        logger.error("An incremental response to %s failed.", self.scope.get("path"), exc_info=exc)
        return {"errors": [self.engine.format_exception(exc)]}

    def _default_context(self, request: ChannelsRequest, response: TemporalResponse) -> dict[str, Any]:
        """``get_context``'s default as a plain dict (or ``GrapheneContext``), for requests that skip the hook."""
        if self.request_attributes:
            return GrapheneContext(request=request, response=response)
        return {"request": request, "response": response}

    # -- Server-Sent Events (see .sse and .sse_requests) -------------------------

    async def operation_context(self, request: ChannelsRequest, host: SSEHost,
                                response: TemporalResponse) -> tuple[Any, Any]:
        """Context and root value of an operation run over SSE: the HTTP hooks', plus ``"ws"``."""
        overridden = self._overridden_hooks
        context = await self._hook(self.get_context(request, response)) if "get_context" in overridden \
            else self._default_context(request, response)
        if isinstance(context, dict):
            context.setdefault("ws", host)
        root_value = await self._hook(self.get_root_value(request)) if "get_root_value" in overridden else None
        return context, root_value

    # -- reading -------------------------------------------------------------

    async def read_body(self, receive: Callable[..., Any], content_length: bytes | None) -> bytes:
        """The whole body, refused with 413 past ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
        return await read_body(receive, content_length)

    async def _read_multipart(self, receive: Callable[..., Any], content_type: str) -> tuple[GraphQLParams, Any]:
        fields, files = await read_multipart(receive, content_type)
        try:
            operations = await self._decode(multipart_field(fields, "operations"), "The multipart 'operations' field")
            file_map = await self._decode(multipart_field(fields, "map"), "The multipart 'map' field")
            apply_map(operations, file_map, files)
            return params_from_data(operations), files
        except BaseException:
            close_files(files)
            raise

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
            if "decode_json" in self._overridden_hooks:
                return await self._hook(self.decode_json(data))
            return json.loads(data)
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError covers JSONDecodeError and undecodable bytes.
            raise HTTPError(400, f"{what} is not valid JSON: {exc}") from None

    # -- replies -------------------------------------------------------------

    _hook = staticmethod(hook_result)

    async def send_response(self, send: Callable[..., Any], status: int, body: bytes,
                            headers: list[tuple[bytes, bytes]]) -> None:
        self.response_started = True
        headers.append((b"content-length", str(len(body)).encode()))
        if self.cors_headers:
            headers.extend(self.cors_headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def send_ide_asset(self, send: Callable[..., Any], scope: dict[str, Any], name: str,
                             version: str | None) -> None:
        """One of the IDE's files, gzipped when the client accepts it, 304 when its copy is current."""
        status, headers, body = asset_reply(name, scope["headers"], version)
        if status == 304:
            self.response_started = True
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.send_response(send, status, body, headers)

    async def send_error(self, send: Callable[..., Any], status: int, message: str,
                         headers: dict[str, str] | None = None, *, code: str | None = None) -> None:
        body = _encoder.encode({"errors": [HTTPError(status, message, code=code).as_error()]}).encode()
        await self.send_response(send, status, body, [_JSON_HEADER, *encode_headers(headers)])

    def websocket_url(self) -> str:
        """This endpoint's WebSocket URL, as the client reached it."""
        return websocket_url(self.scope)

    def _subscription_elsewhere_message(self) -> str:
        message = (f"Subscriptions are served over WebSocket at {self.websocket_url()}: "
                   "connect there with a graphql-ws (graphql-transport-ws) client")
        here = []
        if self.sse_enabled:
            here.append("over Server-Sent Events at this URL: send the request with "
                        "'Accept: text/event-stream', as the graphql-sse client does")
        if self.multipart_subscriptions_enabled:
            here.append("as a multipart HTTP response at this URL: send the request with "
                        "'Accept: multipart/mixed;subscriptionSpec=\"1.0\"', as Apollo Client does")
        if here:
            return f"{message}, or {', or '.join(here)}."
        return f"{message}."
