"""CORS for the GraphQL endpoint, configured by django-cors-headers' own settings.

The router hands GraphQL requests to the consumer, so django-cors-headers'
middleware never sees them; this module gives the endpoint the same answers
that middleware gives Django views, from the same top-level settings and with
the same defaults, whether or not that package is installed:

- nothing configured (no allowed origins, regexes or ``CORS_ALLOW_ALL_ORIGINS``):
  no CORS headers at all, and ``OPTIONS`` stays a 405;
- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) to a path
  matching ``CORS_URLS_REGEX`` is answered 200 with an empty body;
- every response there carries ``Vary: Origin``; one to an allowed origin also
  ``Access-Control-Allow-Origin`` (``*`` under ``CORS_ALLOW_ALL_ORIGINS``
  without credentials, else the origin itself), ``Access-Control-Allow-Credentials``,
  ``Access-Control-Expose-Headers`` and, on preflights, the allowed headers,
  methods and max age. Other origins get no ``Access-Control-*`` header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed

from ..conf import SettingProblem

__all__ = ["DEFAULT_ALLOW_HEADERS", "DEFAULT_ALLOW_METHODS", "CorsPolicy", "cors_policy", "cors_setting_problems"]

#: django-cors-headers' defaults (``corsheaders.defaults``).
DEFAULT_ALLOW_HEADERS = ("accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with")
DEFAULT_ALLOW_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_PREFLIGHT_MAX_AGE = 86400
DEFAULT_URLS_REGEX = r"^.*$"

#: Current names, and the older names django-cors-headers still reads as fallbacks.
_FALLBACKS = {
    "CORS_ALLOW_ALL_ORIGINS": "CORS_ORIGIN_ALLOW_ALL",
    "CORS_ALLOWED_ORIGINS": "CORS_ORIGIN_WHITELIST",
    "CORS_ALLOWED_ORIGIN_REGEXES": "CORS_ORIGIN_REGEX_WHITELIST",
}

_VARY = (b"vary", b"Origin")


def _setting(name: str, default: Any) -> Any:
    fallback = _FALLBACKS.get(name)
    if fallback is not None:
        default = getattr(settings, fallback, default)
    return getattr(settings, name, default)


def _origin_key(origin: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    return parts.scheme, parts.netloc


class CorsPolicy:
    """The CORS settings, read once; answers which headers a response gets."""

    def __init__(self) -> None:
        self.allow_all: bool = bool(_setting("CORS_ALLOW_ALL_ORIGINS", False))
        self.credentials: bool = bool(_setting("CORS_ALLOW_CREDENTIALS", False))
        origins = list(_setting("CORS_ALLOWED_ORIGINS", ()))
        self.allow_null = "null" in origins
        self.origins = {key for key in map(_origin_key, origins) if key is not None}
        self.regexes = [re.compile(pattern) for pattern in _setting("CORS_ALLOWED_ORIGIN_REGEXES", ())]
        self.urls_regex = re.compile(_setting("CORS_URLS_REGEX", DEFAULT_URLS_REGEX))
        self.enabled = self.allow_all or bool(origins) or bool(self.regexes)
        common: list[tuple[bytes, bytes]] = []
        if self.credentials:
            common.append((b"access-control-allow-credentials", b"true"))
        expose = _setting("CORS_EXPOSE_HEADERS", ())
        if expose:
            common.append((b"access-control-expose-headers", ", ".join(expose).encode("latin-1")))
        self._common = common
        preflight = [
            (b"access-control-allow-headers",
             ", ".join(_setting("CORS_ALLOW_HEADERS", DEFAULT_ALLOW_HEADERS)).encode("latin-1")),
            (b"access-control-allow-methods",
             ", ".join(_setting("CORS_ALLOW_METHODS", DEFAULT_ALLOW_METHODS)).encode("latin-1")),
        ]
        max_age = _setting("CORS_PREFLIGHT_MAX_AGE", DEFAULT_PREFLIGHT_MAX_AGE)
        if max_age:
            preflight.append((b"access-control-max-age", str(max_age).encode()))
        self._preflight = preflight

    def applies_to(self, path: str) -> bool:
        return self.enabled and self.urls_regex.match(path) is not None

    def origin_allowed(self, origin: str) -> bool:
        if self.allow_all:
            return True
        if origin == "null":
            return self.allow_null
        key = _origin_key(origin)
        if key is not None and key in self.origins:
            return True
        return any(regex.match(origin) for regex in self.regexes)

    def headers(self, origin: bytes | None, *, preflight: bool) -> list[tuple[bytes, bytes]]:
        """The CORS headers of a response to a request from ``origin`` (the raw header value)."""
        headers = [_VARY]
        if not origin:
            return headers
        text = origin.decode("latin-1")
        if not self.origin_allowed(text):
            return headers
        value = b"*" if self.allow_all and not self.credentials else origin
        headers.append((b"access-control-allow-origin", value))
        headers.extend(self._common)
        if preflight:
            headers.extend(self._preflight)
        return headers


_policy: list[CorsPolicy] = []


def cors_policy() -> CorsPolicy | None:
    """The project's CORS policy, or ``None`` when no origin is allowed (no CORS headers at all)."""
    if not _policy:
        _policy.append(CorsPolicy())
    policy = _policy[0]
    return policy if policy.enabled else None


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CORS_"):
        _policy.clear()


setting_changed.connect(_reload)


# -- system checks ------------------------------------------------------------------


def _is_str_sequence(value: Any) -> TypeGuard[Sequence[str]]:
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def cors_setting_problems() -> list[SettingProblem]:
    """Wrong types and risky combinations in the ``CORS_*`` settings (``gql_channels.E030``/``W030``)."""
    problems: list[SettingProblem] = []

    def wrong(name: str, expected: str) -> None:
        problems.append(SettingProblem("gql_channels.E030", None,
                                       f"{name} must be {expected}, not {getattr(settings, name)!r}.",
                                       "django-cors-headers' settings configure CORS for the GraphQL endpoint too."))

    for name in ("CORS_ALLOW_ALL_ORIGINS", "CORS_ALLOW_CREDENTIALS"):
        if hasattr(settings, name) and not isinstance(getattr(settings, name), bool):
            wrong(name, "a bool")
    for name in ("CORS_ALLOW_HEADERS", "CORS_ALLOW_METHODS", "CORS_EXPOSE_HEADERS"):
        if hasattr(settings, name) and not _is_str_sequence(getattr(settings, name)):
            wrong(name, "a list of strings")
    if hasattr(settings, "CORS_PREFLIGHT_MAX_AGE"):
        max_age = getattr(settings, "CORS_PREFLIGHT_MAX_AGE", None)
        if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
            wrong("CORS_PREFLIGHT_MAX_AGE", "an int >= 0 (seconds)")
    if hasattr(settings, "CORS_ALLOWED_ORIGINS"):
        origins = getattr(settings, "CORS_ALLOWED_ORIGINS", None)
        if not _is_str_sequence(origins):
            wrong("CORS_ALLOWED_ORIGINS", "a list of origin strings")
        else:
            problems.extend(_origin_problems(origins))
    for name in ("CORS_ALLOWED_ORIGIN_REGEXES", "CORS_URLS_REGEX"):
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        patterns: Sequence[Any] = [value] if name == "CORS_URLS_REGEX" else value
        if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, (str, re.Pattern)) for p in patterns):
            wrong(name, "a list of regular expressions" if name != "CORS_URLS_REGEX" else "a regular expression")
            continue
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                wrong(name, f"valid regular expressions ({pattern!r}: {exc})")
    if _setting("CORS_ALLOW_ALL_ORIGINS", False) is True and _setting("CORS_ALLOW_CREDENTIALS", False) is True:
        problems.append(SettingProblem(
            "gql_channels.W030", None,
            "CORS_ALLOW_ALL_ORIGINS and CORS_ALLOW_CREDENTIALS are both True: every site's pages may send "
            "credentialed requests (cookies) to the GraphQL endpoint and read the answers (the origin is "
            "echoed, as django-cors-headers does).",
            "List the trusted origins in CORS_ALLOWED_ORIGINS instead."))
    return problems


def _origin_problems(origins: Sequence[str]) -> list[SettingProblem]:
    problems = []
    for origin in origins:
        if origin == "null":
            continue
        parts = urlsplit(origin)
        if not parts.scheme or not parts.netloc:
            problems.append(SettingProblem("gql_channels.E030", None,
                                           f"CORS_ALLOWED_ORIGINS entry {origin!r} has no scheme or host.",
                                           'Write origins like "https://example.com".'))
        elif parts.path or parts.query or parts.fragment:
            problems.append(SettingProblem("gql_channels.E030", None,
                                           f"CORS_ALLOWED_ORIGINS entry {origin!r} has a path; origins have none.",
                                           f'Use "{parts.scheme}://{parts.netloc}".'))
    return problems
