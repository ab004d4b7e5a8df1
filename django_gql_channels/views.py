"""``GraphQLView``: GraphQL as a Django view, a drop-in for graphene-django's ``GraphQLView``.

::

    from django.urls import path
    from django_gql_channels.views import GraphQLView

    urlpatterns = [path("graphql/", GraphQLView.as_view(graphiql=True))]

Django's own handler serves it (WSGI or ASGI), so the project's middleware
applies: sessions, CSRF, ``request.user``, django-cors-headers. It runs on the
engine the ``GQL_CHANNELS`` settings build (:func:`~.engine.get_engine`), so
the document cache, the limits (``MAX_QUERY_DEPTH``...), ``MASK_ERRORS``,
persisted documents, APQ and the introspection switch apply as on the
Channels consumers. ``info.context`` is the ``HttpRequest``, as under
graphene-django. A team moves its HTTP endpoint here first and adds
WebSockets and SSE (the ASGI router) later.

It answers what graphene-django's view answers for what clients see, rather
than the GraphQL-over-HTTP table of :mod:`.http.consumer`:

=======================================  ======  ===========================================
case                                     status  body (``application/json``)
=======================================  ======  ===========================================
executed (even with field errors)        200     ``data`` (+ ``errors``)
syntax / validation / unknown operation  400     ``errors`` only (any error without a path)
/ variable errors; subscriptions
persisted query not found (APQ)          200     ``errors`` (Apollo clients resend the text)
unknown ``documentId``, text refused     400     ``errors``
with ``ONLY_PERSISTED_DOCUMENTS``
bad JSON, not an object, no ``query``    400     ``{"errors": [{"message": ...}]}``
mutation over GET                        405     ``Allow: POST``
a method other than GET and POST         405     ``Allow: GET, POST``
=======================================  ======  ===========================================

As graphene-django's: POST bodies may be ``application/json``,
``application/graphql`` (the document itself) or form data
(``application/x-www-form-urlencoded``, ``multipart/form-data``); ``query``,
``variables`` and ``operationName`` in the URL win over the body's; ``?pretty``
(or ``pretty=True``) indents the JSON; the view is **not** CSRF-exempt (Django's
``CsrfViewMiddleware`` refuses a POST without the token with 403: wrap the view
in ``csrf_exempt`` for token-less API clients, as graphene-django's docs say)
and it sets the CSRF cookie (``ensure_csrf_cookie``) so the IDE page can send
the token. ``graphiql=True`` serves the IDE on GET requests that prefer
``text/html`` (``?raw`` turns it off), with its files from ``?ide-asset=``.

The keyword arguments are graphene-django's. Those it cannot honour are
refused when ``as_view()`` runs (at URLconf import), never ignored: see
:mod:`.view_options`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable
from functools import cached_property
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import View
from graphql import ExecutionResult, GraphQLError

from .conf import gql_settings
from .engine import HTTP_STATUS as PERSISTED_HTTP_STATUS
from .engine import LIVE_OVER_HTTP, UNCACHEABLE, Engine, Operation, is_live, resolve_operation
from .exceptions import GraphQLRequestError
from .http.assets import ASSET_PARAM, asset_reply
from .http.batching import batch_element_params, prepare_batch, read_batch, unbatchable_error
from .http.errors import HTTPError
from .http.ide import ide_page_headers, new_csp_nonce, render_ide_page
from .http.params import GraphQLParams, params_from_data
from .http.watched import watched_request
from .observability import observer
from .view_options import ViewOptions, page_attributes, view_engine, wants_html

__all__ = ["GraphQLView"]

logger = logging.getLogger("django_gql_channels")

_compact = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
_pretty = json.JSONEncoder(ensure_ascii=True, sort_keys=True, indent=2, separators=(",", ": "))
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json_response(data: Any, status: int = 200, *, pretty: bool = False) -> HttpResponse:
    encoder = _pretty if pretty else _compact
    return HttpResponse(encoder.encode(data), status=status, content_type="application/json")


def _never_ran(result: ExecutionResult) -> bool:
    """graphene-django's test: an error outside any field means nothing ran."""
    return bool(result.errors) and any(not error.path for error in result.errors or ())


def _observed_scope(request: HttpRequest) -> dict[str, Any]:
    """What the watches read of a request: under ASGI its scope carries the raw headers (a
    traceparent); under WSGI, META does."""
    return getattr(request, "scope", None) or {"headers": [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers.items()]}


class GraphQLView(View):
    """Queries and mutations over GET and POST, and the IDE page; ``info.context`` is the request.

    Keyword arguments of :meth:`as_view` (or class attributes of a subclass),
    as graphene-django's:

    - ``schema``: a graphql-core, Graphene, Strawberry or Ariadne schema
      object, or a dotted path to one (default: ``GQL_CHANNELS["SCHEMA"]``).
    - ``graphiql``: serve the IDE page to browsers (``True`` is
      ``GQL_CHANNELS["GRAPHQL_IDE"]``, or GraphiQL when that is ``None``; a
      name such as ``"apollo-sandbox"`` picks one).
    - ``middleware``: graphql-core middleware (instances or classes) for this
      view's executions, replacing the settings' as in graphene-django;
      ``None`` keeps the settings' (``GQL_CHANNELS["MIDDLEWARE"]``, or
      ``GRAPHENE["MIDDLEWARE"]`` for a Graphene schema).
    - ``root_value``: the root value (or override :meth:`get_root_value`).
    - ``pretty``: indented JSON answers.
    - ``validation_rules``: extra validation rules. graphene-django runs
      *only* the rules given; here the GraphQL spec's rules and the
      settings' limits always run and these are added.
    - ``subscription_path``: the WebSocket URL the IDE subscribes at (default:
      ``GRAPHENE["SUBSCRIPTION_PATH"]``, else the router's ``URL_PATTERN``
      when an ``ASGI_APPLICATION`` serves it, else none).
    - ``batch``: HTTP batching for this view, whatever ``BATCHING`` says
      (see :mod:`.http.batching`); each result carries its element's ``id``
      when the element has one, as graphene-django's do.
    - ``execution_context_class`` is refused (TypeError) when set: see
      :mod:`.view_options`.

    Hooks, as graphene-django's: :meth:`get_context` (default: the request),
    :meth:`get_root_value`, :meth:`format_error`. (``get_middleware`` is not
    one: middleware runs on the view's engine, so a subclass overriding it
    is refused.)
    """

    schema: Any = None
    graphiql: bool | str = False
    middleware: Any = None
    root_value: Any = None
    pretty: bool = False
    batch: bool = False
    subscription_path: str | None = None
    execution_context_class: Any = None
    validation_rules: Any = None

    #: The checked arguments of the :meth:`as_view` call that made this view.
    view_options: ViewOptions | None = None
    #: This request's operation, for metrics, traces and the operation log (None when all are off).
    watch: Any = None

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options", "trace"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view function; refuses options it cannot honour now rather than at the first request."""
        if cls.get_middleware is not GraphQLView.get_middleware:
            raise TypeError(f"{cls.__name__}.get_middleware() is not called: middleware runs on the view's "
                            "engine, chosen once. Pass middleware=[...] to as_view() instead.")
        options = ViewOptions.check(cls, initkwargs)
        view = super().as_view(**initkwargs, view_options=options)
        # View.as_view marks a view async only when its handlers are; dispatch is the handler here.
        return markcoroutinefunction(view)

    # -- hooks (graphene-django's) ------------------------------------------------

    def get_context(self, request: HttpRequest) -> Any:
        return request

    def get_root_value(self, request: HttpRequest) -> Any:
        return self.root_value

    def get_middleware(self, request: HttpRequest) -> Any:
        """The view's middleware (``middleware=``); overriding it is refused, see :meth:`as_view`."""
        assert self.view_options is not None
        return self.view_options.middleware

    @staticmethod
    def format_error(error: Any) -> dict[str, Any]:
        """An error that is not an execution result's (a bad request): its message."""
        if isinstance(error, GraphQLError):
            return error.formatted  # type: ignore[return-value]
        if isinstance(error, HTTPError):
            return error.as_error()
        return {"message": str(error)}

    # -- the request -----------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        assert self.view_options is not None
        return view_engine(self.view_options)

    @method_decorator(ensure_csrf_cookie)
    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        pretty = self.pretty or bool(request.GET.get("pretty"))
        try:
            if request.method not in ("GET", "POST"):
                raise HTTPError(405, "GraphQL only supports GET and POST requests.", {"Allow": "GET, POST"})
            options = self.view_options
            assert options is not None
            if options.ide is not None and request.method == "GET" and ASSET_PARAM in request.GET:
                return self.ide_asset(request)
            data = self.parse_body(request)
            if isinstance(data, list):
                return await self.get_batch_response(request, data, pretty)
            if options.ide is not None and "raw" not in request.GET and "raw" not in data and wants_html(request):
                return self.render_graphiql(request)
            params = self.get_graphql_params(request, data)
            observing = observer()
            if observing is None:
                response = await self.get_response(request, params, pretty)
            else:
                response = await self._observed_response(observing, request, params, pretty)
        except HTTPError as error:
            response = _json_response({"errors": [self.format_error(error)]}, error.status, pretty=pretty)
            for name, value in (error.headers or {}).items():
                response[name] = value
        return response

    async def _observed_response(self, observing: Any, request: HttpRequest, params: GraphQLParams,
                                 pretty: bool) -> HttpResponse:
        """:meth:`get_response` with metrics, traces or the operation log on (docs/observing.rst)."""
        scope = _observed_scope(request)
        connection = observing.connection("http", scope)
        watch = self.watch = observing.operation("http", scope)
        with watched_request(watch, connection):
            return await self.get_response(request, params, pretty)

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        """The request's body as a dict of parameters (empty when its type carries none)."""
        content_type = (request.content_type or "").lower()
        if content_type == "application/graphql":
            return {"query": request.body.decode("utf-8", "replace")}
        if content_type == "application/json":
            try:
                data = json.loads(request.body)
            except (ValueError, RecursionError) as exc:
                raise HTTPError(400, f"The request body is not valid JSON: {exc}") from None
            if isinstance(data, list):
                if self.batching:
                    return data  # type: ignore[return-value]  # dispatch answers it as a batch
                raise HTTPError(400, "Batched requests (a JSON array) are not supported by this view: batching "
                                     "is off (GQL_CHANNELS['BATCHING'], or as_view(batch=True)); send one "
                                     "GraphQL request object per HTTP request.")
            if not isinstance(data, dict):
                raise HTTPError(400, "The request body must be a JSON object with a 'query' string.")
            return data
        if content_type in _FORM_TYPES:
            return request.POST.dict()
        return {}

    def get_graphql_params(self, request: HttpRequest, data: dict[str, Any]) -> GraphQLParams:
        """``query``, ``variables``, ``operationName`` (the URL's first, as graphene-django), checked."""
        merged = dict(data)
        url = request.GET
        for name in ("query", "variables", "operationName", "documentId", "extensions"):
            if url.get(name):
                merged[name] = url[name]
        for name in ("variables", "extensions"):
            value = merged.get(name)
            if isinstance(value, str):
                try:
                    merged[name] = json.loads(value) if value else None
                except ValueError:
                    raise HTTPError(400, f"The '{name}' parameter is not valid JSON.") from None
        if merged.get("operationName") in ("", "null"):
            merged["operationName"] = None
        if not merged.get("query") and "documentId" not in merged and not merged.get("extensions"):
            raise HTTPError(400, "Must provide query string.")
        return params_from_data(merged)

    async def get_response(self, request: HttpRequest, params: GraphQLParams, pretty: bool) -> HttpResponse:
        """Resolve, execute and answer one operation."""
        engine = self.engine
        status: int | None = None
        headers: dict[str, str] = {}
        try:
            operation = await resolve_operation(engine, params.query, params.operation_name,
                                                document_id=params.document_id, extensions=params.extensions)
        except GraphQLRequestError as error:
            if self.watch is not None:
                self.watch.refuse(error.errors)
            result = ExecutionResult(None, error.errors)
            status = PERSISTED_HTTP_STATUS.get(error.kind)
            if status == 200:
                headers["Cache-Control"] = "private, no-cache, must-revalidate"
        else:
            result = await self.execute_operation(request, operation, params)
            if self.watch is not None:
                self.watch.answered(result, operation, ran=not _never_ran(result))
        response_data: dict[str, Any] = engine.format_result(result)
        if _never_ran(result):
            # graphene-django: an error outside any field means nothing ran, so no data.
            response_data.pop("data", None)
            status = status or 400
        response = _json_response(response_data, status or 200, pretty=pretty)
        for name, value in headers.items():
            response[name] = value
        return response

    @property
    def batching(self) -> bool:
        """Whether a JSON array is answered as a batch: ``batch=True`` or ``BATCHING``."""
        assert self.view_options is not None
        return self.view_options.batch or gql_settings.BATCHING

    async def get_batch_response(self, request: HttpRequest, data: list[Any], pretty: bool) -> HttpResponse:
        """Resolve, then execute in order, a batch's operations; one JSON array of results (:mod:`.http.batching`)."""
        engine = self.engine

        def prepare(params: GraphQLParams) -> Awaitable[Operation]:
            return resolve_operation(engine, params.query, params.operation_name,
                                     document_id=params.document_id, extensions=params.extensions)

        items = read_batch(data, gql_settings.MAX_BATCH_SIZE)
        elements = await prepare_batch(engine, items, prepare, check_params=batch_element_params)
        results: list[dict[str, Any]] = []
        no_cache = False
        observing = observer()
        scope = _observed_scope(request) if observing is not None else None
        connection = observing.connection("http", scope) if observing is not None else None
        try:
            for item, element in zip(items, elements, strict=True):
                # With metrics, traces or the operation log on, each element is an operation of its own.
                watch = self.watch = observing.operation("http", scope) if observing is not None else None
                with contextlib.nullcontext() if watch is None else watched_request(watch, None):
                    if element.refusal is not None:
                        if watch is not None:
                            watch.refuse()
                        results.append(element.refusal)
                        continue
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
                            result = await self.execute_operation(request, operation, element.params)
                            if watch is not None:
                                watch.answered(result, operation, ran=not _never_ran(result))
                results.append(self._batch_result(engine, item, result))
        finally:
            if connection is not None:
                connection.close()
        response = _json_response(results, pretty=pretty)
        if no_cache:
            response["Cache-Control"] = "private, no-cache, must-revalidate"
        return response

    def _batch_result(self, engine: Engine, item: Any, result: ExecutionResult) -> dict[str, Any]:
        response_data = engine.format_result(result)
        if _never_ran(result):
            response_data.pop("data", None)
        if self.view_options is not None and self.view_options.batch and "id" in item:
            response_data["id"] = item["id"]  # graphene-django's batch results echo it
        return response_data

    async def execute_operation(self, request: HttpRequest, operation: Operation,
                                params: GraphQLParams) -> ExecutionResult:
        if operation.kind == "mutation" and request.method == "GET":
            if self.watch is not None:
                self.watch.refuse(operation=operation)
            raise HTTPError(405, "Can only perform a mutation operation from a POST request.", {"Allow": "POST"})
        if self.engine.live_queries and is_live(operation):
            return ExecutionResult(None, [GraphQLError(LIVE_OVER_HTTP)])
        if operation.kind == "subscription":
            return ExecutionResult(None, [GraphQLError(
                "Subscriptions are not served by this view: subscribe over WebSockets or Server-Sent Events "
                "(django_gql_channels.asgi.application routes them).")])
        if operation.incremental:
            return ExecutionResult(None, [GraphQLError(
                "@defer and @stream are not supported by this view: send the operation to the Channels "
                "endpoint (GraphQLHTTPConsumer), which answers it as multipart/mixed.")])
        # Django's auth middleware leaves a lazy user that would query the
        # database on first use; resolvers running on the event loop could
        # not, so it is looked up here (and the session loaded with it).
        auser = getattr(request, "auser", None)
        if auser is not None:
            request.user = await auser()
        if self.watch is not None:
            self.watch.enter(operation)
        return await self.engine.execute(operation, variables=params.variables, context=self.get_context(request),
                                         root_value=self.get_root_value(request))

    # -- the IDE ---------------------------------------------------------------------

    def render_graphiql(self, request: HttpRequest) -> HttpResponse:
        """The IDE page, told where to subscribe and which CSRF token to send."""
        options = self.view_options
        assert options is not None and options.ide is not None
        nonce = new_csp_nonce()
        page = render_ide_page(options.ide, nonce=nonce, only_persisted_documents=self.engine.only_persisted_documents)
        page = page.replace("<html", "<html " + page_attributes(options.subscription_path, get_token(request)), 1)
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        for name, value in ide_page_headers(options.ide, nonce).items():
            response[name] = value
        return response

    def ide_asset(self, request: HttpRequest) -> HttpResponse:
        """One of the IDE page's files (``?ide-asset=<name>``), as the consumer serves them."""
        wanted = [(b"accept-encoding", request.headers.get("Accept-Encoding", "").encode("latin-1")),
                  (b"if-none-match", request.headers.get("If-None-Match", "").encode("latin-1"))]
        status, headers, body = asset_reply(request.GET[ASSET_PARAM], [h for h in wanted if h[1]],
                                            request.GET.get("v"))
        response = HttpResponse(body, status=status)
        for name, value in headers:
            response[name.decode("latin-1")] = value.decode("latin-1")
        return response
