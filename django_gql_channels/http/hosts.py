"""The ``Host`` check of the HTTP and SSE endpoints: Django's ``ALLOWED_HOSTS`` rules.

Django's ``CommonMiddleware`` runs ``request.get_host()`` on every request;
an ASGI consumer sits outside that middleware, so without this check any
``Host`` reaches resolvers (and ``build_absolute_uri``: password-reset links
to an attacker's host). The check asks Django itself: a bare
:class:`~django.http.HttpRequest` carrying the handshake's headers, server
and scheme, so ``USE_X_FORWARDED_HOST``, ``USE_X_FORWARDED_PORT``,
``SECURE_PROXY_SSL_HEADER`` and the ``DEBUG`` localhost allowance behave
exactly as in a Django view.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

from .errors import HTTPError

__all__ = ["check_host"]

# Django logs a refused Host here too; the text (which names the host) goes to
# the log only, never to the client.
security_logger = logging.getLogger("django.security.DisallowedHost")

INVALID_HOST_MESSAGE = "Invalid Host header: it is not in ALLOWED_HOSTS."


class _HostProbe(HttpRequest):
    """Just enough of a request for ``get_host()``: ``META`` as Django's ASGIRequest builds it."""

    def __init__(self, scope: dict[str, Any]) -> None:
        super().__init__()
        self._scheme = scope.get("scheme")
        meta = self.META
        server = scope.get("server")
        if isinstance(server, (list, tuple)):
            meta["SERVER_NAME"], meta["SERVER_PORT"] = server[0], str(server[1])
        else:
            meta["SERVER_NAME"], meta["SERVER_PORT"] = "unknown", "0"
        for raw_name, raw_value in scope.get("headers") or ():
            name = raw_name.decode("latin1").upper().replace("-", "_")
            if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
                name = f"HTTP_{name}"
            value = raw_value.decode("latin1")
            meta[name] = f"{meta[name]},{value}" if name in meta else value

    def _get_scheme(self) -> str:
        return self._scheme or super()._get_scheme()  # type: ignore[misc]  # missing from django-stubs


def check_host(scope: dict[str, Any]) -> None:
    """Raise a 400 :class:`HTTPError` unless Django's ``get_host()`` accepts the request's host."""
    try:
        _HostProbe(scope).get_host()
    except DisallowedHost as exc:
        security_logger.warning("%s", exc)
        raise HTTPError(400, INVALID_HOST_MESSAGE) from None
