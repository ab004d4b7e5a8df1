"""``manage.py check --deploy``: settings fine in development that expose or weaken a production server.

Registered with Django's ``deploy`` tag, so they run only when asked for, as
Django's own security checks do. Ids ``gql_channels.W110``-``W119``.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, SETTING_NAME

__all__ = ["LIMIT_KEYS", "check_deploy", "deploy_problems"]

# Cost limits that ``None`` (or 0) turns off. Keys not in DEFAULTS (yet) are
# skipped, so a limit added later only needs its name here.
LIMIT_KEYS = ("MAX_QUERY_DEPTH", "MAX_QUERY_TOKENS", "MAX_MESSAGE_SIZE", "MAX_ALIASES", "MAX_DIRECTIVES",
              "MAX_QUERY_COMPLEXITY", "MAX_DOCUMENT_SIZE", "MAX_MERGE_COMPARISONS")

REDIS_BACKENDS = ("channels_redis.core.RedisChannelLayer", "channels_redis.pubsub.RedisPubSubChannelLayer")


def _effective(user_settings: dict[str, Any], key: str) -> Any:
    return user_settings.get(key, DEFAULTS.get(key))


def _is_local(hostname: str | None) -> bool:
    if not hostname or hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _redis_host_warnings(alias: str, host: Any) -> list[checks.Warning]:
    if isinstance(host, dict):
        address, password, ssl = host.get("address"), host.get("password"), host.get("ssl")
    else:
        address, password, ssl = host, None, None
    if isinstance(address, (tuple, list)):
        address = f"redis://{address[0]}:{address[1] if len(address) > 1 else 6379}"
    if not isinstance(address, str) or address.startswith("unix://"):
        return []
    parsed = urlparse(address if "://" in address else f"redis://{address}")
    if _is_local(parsed.hostname):
        return []
    problems = []
    if parsed.scheme != "rediss" and not ssl:
        problems.append("unencrypted (redis://): messages and credentials cross the network in clear text")
    if not (parsed.password or password):
        problems.append("no password: anyone who reaches the host can read and publish to every group")
    return [checks.Warning(
        f"CHANNEL_LAYERS[{alias!r}] host {parsed.hostname!r}: {why}.",
        hint='Use a "rediss://:PASSWORD@host:6379/0" address (TLS and AUTH), or keep Redis on a private '
             "loopback/unix socket.",
        obj="CHANNEL_LAYERS", id="gql_channels.W113") for why in problems]


def deploy_problems() -> list[checks.CheckMessage]:
    """The deploy warnings for the current settings (empty when ``GQL_CHANNELS`` is unusable: see E0xx)."""
    user_settings = getattr(settings, SETTING_NAME, None)
    if not isinstance(user_settings, dict):
        return []
    found: list[checks.CheckMessage] = []
    if _effective(user_settings, "GRAPHQL_IDE") and not settings.DEBUG:
        found.append(checks.Warning(
            f"GRAPHQL_IDE is {_effective(user_settings, 'GRAPHQL_IDE')!r} with DEBUG off: every browser that "
            "opens the endpoint gets an IDE to explore and query your API.",
            hint='Set GQL_CHANNELS["GRAPHQL_IDE"] = None in production settings.',
            obj=SETTING_NAME, id="gql_channels.W110"))
    if _effective(user_settings, "INTROSPECTION") is True:
        found.append(checks.Warning(
            "INTROSPECTION is on: any client can download the whole schema, including fields you never "
            "link to.", hint='Set GQL_CHANNELS["INTROSPECTION"] = False in production settings.',
            obj=SETTING_NAME, id="gql_channels.W111"))
    mask = _effective(user_settings, "MASK_ERRORS")
    if mask is False or (mask is None and settings.DEBUG):
        found.append(checks.Warning(
            "Errors are not masked (MASK_ERRORS): exception messages, which can hold SQL, paths or hosts, "
            "reach clients.", hint='Set GQL_CHANNELS["MASK_ERRORS"] = True (or leave it None with DEBUG off).',
            obj=SETTING_NAME, id="gql_channels.W112"))
    if user_settings.get("DEBUG") is True:
        found.append(checks.Warning(
            "GQL_CHANNELS DEBUG is on: tracebacks reach clients.",
            hint='Set GQL_CHANNELS["DEBUG"] = False in production settings.',
            obj=SETTING_NAME, id="gql_channels.W115"))
    disabled = [key for key in LIMIT_KEYS if key in DEFAULTS and _effective(user_settings, key) in (None, 0)]
    if disabled:
        found.append(checks.Warning(
            f"Limits disabled: {', '.join(disabled)}: one request can cost the server unbounded CPU or memory.",
            hint="Remove these keys to get the defaults, or set each to a positive number "
                 "(see docs/production.rst).", obj=SETTING_NAME, id="gql_channels.W114"))
    alias = user_settings.get("CHANNEL_LAYER", DEFAULTS["CHANNEL_LAYER"])
    layer = (getattr(settings, "CHANNEL_LAYERS", None) or {}).get(alias) if isinstance(alias, str) else None
    if isinstance(layer, dict) and layer.get("BACKEND") in REDIS_BACKENDS:
        for host in (layer.get("CONFIG") or {}).get("hosts", []) or []:
            found.extend(_redis_host_warnings(alias, host))
    return found


@checks.register(checks.Tags.security, deploy=True)
def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return deploy_problems()
