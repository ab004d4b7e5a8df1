"""GraphQL over HTTP and WebSockets for Django on Channels.

Public names are imported lazily, so importing this package (as Django does
for ``INSTALLED_APPS``) loads nothing until a name is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ChannelsConsumer": ".channel_layer",
    "GraphQLHTTPConsumer": ".http",
    "ChannelsRequest": ".http",
    "ChannelsResponse": ".http",
    "TemporalResponse": ".http",
    "Upload": ".upload",
    "GraphQLWSConsumer": ".ws",
    "GraphQLProtocolTypeRouter": ".routing",
    "get_application": ".routing",
    "UNSET": ".unset",
    "ConnectionRejectionError": ".exceptions",
    "broadcast": ".publishing",
    "abroadcast": ".publishing",
    "invalidate": ".live",
    "ainvalidate": ".live",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .channel_layer import ChannelsConsumer
    from .exceptions import ConnectionRejectionError
    from .http import ChannelsRequest, ChannelsResponse, GraphQLHTTPConsumer, TemporalResponse
    from .live import ainvalidate, invalidate
    from .publishing import abroadcast, broadcast
    from .routing import GraphQLProtocolTypeRouter, get_application
    from .unset import UNSET
    from .upload import Upload
    from .ws import GraphQLWSConsumer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'django_gql_channels' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
