"""The ``Host`` check of the HTTP and SSE endpoints: Django's ``ALLOWED_HOSTS`` rules.

Django's ``CommonMiddleware`` runs ``request.get_host()`` on every request;
an ASGI consumer sits outside that middleware, so without this check any
``Host`` reaches resolvers (and ``build_absolute_uri``: password-reset links
to an attacker's host). The check asks Django itself: a bare
:class:`~django.http.HttpRequest` carrying the handshake's headers, server
and scheme, so ``USE_X_FORWARDED_HOST``, ``USE_X_FORWARDED_PORT``,
``SECURE_PROXY_SSL_HEADER`` and the ``DEBUG`` localhost allowance behave
exactly as in a Django view.

Building that request costs more than the rest of a small request's HTTP
handling, so the usual case skips it: when ``get_host()`` would read nothing
but one ``Host`` header, a value Django accepted once is accepted again
without asking (the answer depends only on the value and on settings; the
memory is dropped whenever a setting changes). Everything else, and every
refusal, goes to Django.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
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


#: ``Host`` values Django accepted from requests whose only host source was
#: that one header; bounded, as with ``ALLOWED_HOSTS = ["*"]`` any value is accepted.
_accepted: dict[bytes, None] = {}
_ACCEPTED_LIMIT = 256


def _only_host_header(headers: Any) -> bytes | None:
    """The request's one ``Host`` value when that is all ``get_host()`` reads, else None.

    ``_HostProbe`` maps names as Django does (upper case, ``-`` to ``_``), so
    any spelling of ``host`` counts; a repeated one (Django joins them), none,
    or an ``X-Forwarded-Host`` that ``USE_X_FORWARDED_HOST`` makes Django read
    leave the answer to Django.
    """
    host = None
    for name, value in headers:
        size = len(name)
        if size == 4 and (name == b"host" or name.lower() == b"host"):
            if host is not None:
                return None
            host = value
        elif (size == 16 and name.lower().replace(b"_", b"-") == b"x-forwarded-host"
              and settings.USE_X_FORWARDED_HOST):
            return None
    return host


def check_host(scope: dict[str, Any]) -> None:
    """Raise a 400 :class:`HTTPError` unless Django's ``get_host()`` accepts the request's host."""
    host = _only_host_header(scope.get("headers") or ())
    if host is not None and host in _accepted:
        return
    try:
        _HostProbe(scope).get_host()
    except DisallowedHost as exc:
        security_logger.warning("%s", exc)
        raise HTTPError(400, INVALID_HOST_MESSAGE) from None
    if host is not None:
        if len(_accepted) >= _ACCEPTED_LIMIT:
            _accepted.clear()
        _accepted[host] = None


def _forget_accepted(**kwargs: Any) -> None:
    # ALLOWED_HOSTS, DEBUG, USE_X_FORWARDED_HOST... (override_settings in tests).
    _accepted.clear()


setting_changed.connect(_forget_accepted)
