"""Route ASGI connections to the GraphQL consumers or to Django.

One compiled regular expression decides per connection; no URL resolver runs
on the GraphQL path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .conf import gql_settings, on_reload

__all__ = ["GraphQLProtocolTypeRouter", "get_application"]

logger = logging.getLogger("django_gql_channels")

# Loose on purpose: Django's handler, Channels' apps and the user's own all fit.
ASGIApp = Callable[..., Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _auth_available() -> bool:
    return apps.is_installed("django.contrib.auth") and apps.is_installed("django.contrib.sessions")


async def _not_found(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 4404})
        return
    body = b'{"errors":[{"message":"Not found."}]}'
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class GraphQLProtocolTypeRouter:
    """An ASGI app: GraphQL over HTTP and WebSockets on ``url_pattern``, Django elsewhere.

    ``url_pattern`` is matched (``re.search``) against the path without its
    leading slash, as Channels' ``re_path`` does; captured groups land in
    ``scope["url_route"]``. Consumers, middleware and options come from
    ``GQL_CHANNELS``.
    """

    def __init__(self, schema: Any, django_application: ASGIApp | None = None,
                 url_pattern: str = "^graphql", *, websocket_application: ASGIApp | None = None) -> None:
        self.schema = schema
        self.django_application = django_application
        self.other_websocket_application = websocket_application
        self.url_regex = re.compile(url_pattern)
        self.http_application = self._wrap_http(gql_settings.HTTP_CONSUMER.as_asgi(
            schema=schema,
            graphql_ide=gql_settings.GRAPHQL_IDE,
            allow_queries_via_get=gql_settings.ALLOW_QUERIES_VIA_GET,
            multipart_uploads_enabled=gql_settings.MULTIPART_UPLOADS_ENABLED,
        ))
        self.websocket_application = self._wrap_websocket(gql_settings.WS_CONSUMER.as_asgi(
            schema=schema,
            debug=gql_settings.DEBUG,
            keep_alive=gql_settings.KEEP_ALIVE,
            keep_alive_interval=gql_settings.KEEP_ALIVE_INTERVAL,
            connection_init_wait_timeout=gql_settings.CONNECTION_INIT_WAIT_TIMEOUT,
            subscription_protocols=tuple(gql_settings.SUBSCRIPTION_PROTOCOLS),
        ))
        if gql_settings.PERSISTED_DOCUMENTS is not None:
            # Read and validate the manifest now, so a bad one stops the server
            # at start-up (naming the document) instead of failing requests.
            from .engine import get_engine

            get_engine(schema)

    @staticmethod
    def _wrap_http(app: ASGIApp) -> ASGIApp:
        if gql_settings.AUTH_MIDDLEWARE and _auth_available():
            from channels.auth import AuthMiddlewareStack

            # Channels' stubs type middleware with their own (private) application alias.
            app = cast(ASGIApp, AuthMiddlewareStack(app))
        return app

    @staticmethod
    def _wrap_websocket(app: ASGIApp) -> ASGIApp:
        if gql_settings.AUTH_MIDDLEWARE and _auth_available():
            from channels.auth import AuthMiddlewareStack

            app = cast(ASGIApp, AuthMiddlewareStack(app))
        if gql_settings.ALLOWED_ORIGINS_CHECK:
            from .origin import GraphQLOriginValidator, allowed_hosts_patterns

            app = cast(ASGIApp, GraphQLOriginValidator(
                app, allowed_hosts_patterns(), require_origin=gql_settings.REQUIRE_WEBSOCKET_ORIGIN))
        return app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            if self.django_application is None:
                return await _lifespan(scope, receive, send)
            return await self.django_application(scope, receive, send)
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path):]
        match = self.url_regex.search(path.lstrip("/"))
        if match is not None:
            scope = dict(scope, url_route={"args": match.groups() if not match.groupdict() else (),
                                           "kwargs": match.groupdict()})
            if kind == "http":
                return await self.http_application(scope, receive, send)
            if kind == "websocket":
                return await self.websocket_application(scope, receive, send)
        if self.django_application is not None and kind == "http":
            return await self.django_application(scope, receive, send)
        if self.other_websocket_application is not None and kind == "websocket":
            return await self.other_websocket_application(scope, receive, send)
        if kind in ("http", "websocket"):
            return await _not_found(scope, receive, send)
        raise ValueError(f"django_gql_channels cannot serve ASGI scope type {kind!r}.")


class _SettingsApplication:
    """The router built from ``GQL_CHANNELS`` on first use, rebuilt after a reload."""

    def __init__(self, django_application: ASGIApp | None, websocket_application: ASGIApp | None) -> None:
        self.django_application = django_application
        self.websocket_application = websocket_application
        self._router: GraphQLProtocolTypeRouter | None = None
        on_reload(self._forget)

    def _forget(self) -> None:
        self._router = None

    @property
    def router(self) -> GraphQLProtocolTypeRouter:
        if self._router is None:
            self._router = GraphQLProtocolTypeRouter(
                gql_settings.SCHEMA, self.django_application, url_pattern=gql_settings.URL_PATTERN,
                websocket_application=self.websocket_application,
            )
        return self._router

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        router = self._router or self.router
        await router(scope, receive, send)


def get_application(django_application: ASGIApp | None = None, *,
                    websocket_application: ASGIApp | None = None) -> ASGIApp:
    """The ASGI app ``GQL_CHANNELS`` describes, for a project's own ``asgi.py``.

    GraphQL paths go to the consumers; every other HTTP request goes to
    ``django_application`` (404 without one) and every other WebSocket to
    ``websocket_application`` (closed with 4404 without one)::

        django_asgi_app = get_asgi_application()
        application = get_application(django_asgi_app)
    """
    if not settings.configured:  # pragma: no cover - a configuration error
        raise RuntimeError("Configure Django settings before building the application.")
    if gql_settings.PERSISTED_DOCUMENTS is not None:
        # The router is built on first use; the manifest is read and validated
        # now, so a bad one stops the server at start-up, naming the document.
        from .engine import get_engine

        get_engine()
    run_startup_checks()
    return _SettingsApplication(django_application, websocket_application)


def run_startup_checks() -> None:
    """Run this app's system checks once, as ``manage.py check`` would print them.

    ASGI servers never run Django's checks, so a typo'd key or a bad
    ``SCHEMA`` path would otherwise surface only on the first request. Errors
    stop start-up (``ImproperlyConfigured`` carrying every message); warnings
    are logged once. ``SILENCED_SYSTEM_CHECKS`` is honoured.
    """
    from .checks import check_settings

    messages: list[checks.CheckMessage] = []
    if not apps.is_installed("django_gql_channels"):
        messages.append(checks.Error(
            "django_gql_channels is not in INSTALLED_APPS: its settings checks, model events and "
            "management commands are not loaded.",
            hint='Add "django_gql_channels" to INSTALLED_APPS.', obj="INSTALLED_APPS", id="gql_channels.E110"))
    messages.extend(check_settings())
    messages = [m for m in messages if not m.is_silenced()]
    errors = [m for m in messages if m.is_serious()]
    for message in messages:
        if not message.is_serious():
            logger.warning("System check: %s", message)
    if errors:
        raise ImproperlyConfigured(
            "django_gql_channels cannot start; fix these settings (the same as `manage.py check`):\n"
            + "\n".join(str(m) for m in errors))
