"""The WebSocket ``Origin`` check: browsers' cross-site sockets refused, header-less clients let in.

A browser always sends ``Origin`` on a WebSocket handshake, and a page on
another site cannot suppress or forge it, so checking it against
``ALLOWED_HOSTS`` stops cross-site WebSocket hijacking (a hostile page riding
the visitor's session cookie). Non-browser clients (Python ``websockets``,
``gql``, Node's ``ws``/``graphql-ws``) send no ``Origin`` and carry no victim's
cookie, so they are let in unless ``REQUIRE_WEBSOCKET_ORIGIN`` is set.
Channels' ``AllowedHostsOriginValidator`` refuses them, which is what a new
user's first client meets; hence this subclass.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

__all__ = ["GraphQLOriginValidator", "allowed_hosts_patterns"]

logger = logging.getLogger("django_gql_channels")

# Each refused origin is logged once: enough to find the setting, and a
# hostile page opening sockets in a loop cannot flood the log.
_MAX_LOGGED_ORIGINS = 256


def allowed_hosts_patterns() -> list[str]:
    """``ALLOWED_HOSTS`` as Channels' ``AllowedHostsOriginValidator`` reads it (local hosts under DEBUG)."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


class GraphQLOriginValidator(OriginValidator):
    """Refuse a WebSocket whose ``Origin`` is not allowed; one without ``Origin`` only if required."""

    def __init__(self, application: Any, allowed_origins: list[str], *, require_origin: bool = False) -> None:
        super().__init__(application, allowed_origins)
        self.require_origin = require_origin
        self._app: Any = application  # Channels' stubs type it as ASGI2-or-3; ours is ASGI3
        self._logged: set[str] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                raw = value.decode("latin1")
        if raw is None:
            if not self.require_origin or "*" in self.allowed_origins:
                return await self._app(scope, receive, send)
            self._log("(none)", "the handshake has no Origin header and REQUIRE_WEBSOCKET_ORIGIN is True")
        elif self.valid_origin(urlparse(raw)):
            return await self._app(scope, receive, send)
        else:
            self._log(raw, "its host is not in ALLOWED_HOSTS; add it to ALLOWED_HOSTS to allow it "
                           "(or set GQL_CHANNELS['ALLOWED_ORIGINS_CHECK'] to False)")
        denier: Any = WebsocketDenier()
        return await denier(scope, receive, send)

    def _log(self, origin: str, why: str) -> None:
        if origin in self._logged or len(self._logged) >= _MAX_LOGGED_ORIGINS:
            return
        self._logged.add(origin)
        logger.warning("WebSocket refused: Origin %r: %s.", origin[:200], why)
