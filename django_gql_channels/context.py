"""``info.context`` that also reads like Django's ``HttpRequest``: :class:`GrapheneContext`.

graphene-django resolvers and middleware read the request from ``info.context``
(``info.context.user``, ``.session``, ``.headers``, ``.META``, ``.method``),
because graphene-django's view passes the ``HttpRequest`` itself. Our default
context is a dict with documented keys (``request``, ``response``, ``ws``,
``connection_params``). :class:`GrapheneContext` is both: a ``dict`` (every key,
``get``, ``in``, ``setdefault`` as before) whose attributes are those of the
request, read from the ASGI scope of the HTTP request, the SSE request or the
WebSocket handshake.

The consumers give it by default for Graphene schemas only
(:func:`wants_request_attributes`); other schemas keep a plain dict. Each
attribute is computed on first use and kept, so a context whose resolvers never
look costs one dict (of a subclass); like a request's, each may be set
(``info.context.user = user``, as django-graphql-jwt's middleware does), and
new attributes may be added (``info.context.django_debug``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Protocol

from django.http import QueryDict, parse_cookie

from .schema import SchemaLibrary

__all__ = ["GrapheneContext", "RequestLike", "scope_meta", "wants_request_attributes"]


class RequestLike(Protocol):
    """What the context reads the request from: ``ChannelsRequest`` (HTTP, SSE) or a consumer (WebSockets)."""

    @property
    def scope(self) -> Mapping[str, Any]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def _anonymous_user() -> Any:
    # Importing auth's models needs the app installed; without it there is no user at all.
    from django.apps import apps

    if not apps.is_installed("django.contrib.auth"):
        return None
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def _script_name(scope: Mapping[str, Any]) -> str:
    # As Django's ASGI handler finds the script prefix: FORCE_SCRIPT_NAME wins over root_path.
    from django.conf import settings

    return settings.FORCE_SCRIPT_NAME or scope.get("root_path", "") or ""


def scope_meta(scope: Mapping[str, Any]) -> dict[str, Any]:
    """A WSGI-style ``META`` dict for an ASGI scope, with the entries Django's ``ASGIRequest`` gives.

    Headers become ``HTTP_*`` (``CONTENT_TYPE`` and ``CONTENT_LENGTH`` without
    the prefix); a header whose name holds ``_`` is left out, as Django leaves
    it out (``X_Forwarded`` and ``X-Forwarded`` would be the same key), and a
    repeated header's values are joined with ``,`` (cookies with ``; ``). A
    WebSocket handshake's method is ``GET``.
    """
    path = scope.get("path", "")
    script_name = _script_name(scope)
    query_string = scope.get("query_string", b"")
    if isinstance(query_string, bytes):
        query_string = query_string.decode("utf-8", "replace")
    meta: dict[str, Any] = {
        "REQUEST_METHOD": str(scope.get("method", "GET")).upper(),
        "QUERY_STRING": query_string,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path.removeprefix(script_name) if script_name else path,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
    }
    client = scope.get("client")
    if client:
        meta["REMOTE_ADDR"] = meta["REMOTE_HOST"] = client[0]
        meta["REMOTE_PORT"] = client[1]
    server = scope.get("server")
    meta["SERVER_NAME"], meta["SERVER_PORT"] = (server[0], str(server[1])) if server else ("unknown", "0")
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if "_" in name:
            continue
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if key in meta:
            value = meta[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        meta[key] = value
    return meta


class GrapheneContext(dict[str, Any]):
    """A context dict that also answers the request attributes graphene-django resolvers read.

    Made as a dict is (``GrapheneContext(request=request, response=response)``);
    the attributes are read from its ``"request"`` entry, anything with a
    ``scope`` and ``headers``: the :class:`~django_gql_channels.ChannelsRequest`
    over HTTP and SSE, the consumer on WebSockets. They are:

    - ``user``: ``scope["user"]`` (set by Channels' ``AuthMiddlewareStack``),
      else Django's ``AnonymousUser`` (``None`` without ``django.contrib.auth``);
    - ``session``: ``scope["session"]`` (Channels' ``SessionMiddleware``), else ``None``;
    - ``headers``: the request's (or handshake's) case-insensitive headers;
    - ``META``: a WSGI-style dict as Django builds it (:func:`scope_meta`);
    - ``method``: the HTTP method, ``"GET"`` for a WebSocket handshake;
    - ``path``: the URL path (``scope["path"]``);
    - ``GET``: the query string as Django's (immutable) ``QueryDict``;
    - ``COOKIES``: the ``Cookie`` header as a dict.

    Each is a ``cached_property``: computed on first use, then an instance
    attribute a resolver or middleware may replace. No ``__init__`` of its own:
    making one costs what making a dict subclass costs.
    """

    def _request(self) -> RequestLike:
        try:
            request: RequestLike = self["request"]
        except KeyError:
            raise AttributeError("This context has no 'request' entry to read the request's attributes from.") \
                from None
        return request

    @cached_property
    def user(self) -> Any:
        user = self._request().scope.get("user")
        return _anonymous_user() if user is None else user

    @cached_property
    def session(self) -> Any:
        return self._request().scope.get("session")

    @cached_property
    def headers(self) -> Mapping[str, str]:
        return self._request().headers

    @cached_property
    def META(self) -> dict[str, Any]:  # noqa: N802  # Django's name
        return scope_meta(self._request().scope)

    @cached_property
    def method(self) -> str:
        return str(self._request().scope.get("method", "GET")).upper()

    @cached_property
    def path(self) -> str:
        path: str = self._request().scope.get("path", "")
        return path

    @cached_property
    def GET(self) -> QueryDict:  # noqa: N802  # Django's name
        return QueryDict(self._request().scope.get("query_string", b""))

    @cached_property
    def COOKIES(self) -> dict[str, str]:  # noqa: N802  # Django's name
        return parse_cookie(self._request().headers.get("cookie", ""))


def wants_request_attributes(library: SchemaLibrary) -> bool:
    """Whether the consumers' default context for a schema ``library`` built is a :class:`GrapheneContext`.

    graphene-django's resolvers expect ``info.context`` to be the request;
    other libraries document a dict (Strawberry's seed page, our own keys), so
    their context stays a plain dict. Consumers ask once per request with the
    library their engine told once (``engine.library``).
    """
    return library == "graphene"
