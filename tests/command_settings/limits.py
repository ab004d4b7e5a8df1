"""Server limits that client documents must respect too: depth, tokens, no introspection."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {
    **GQL_CHANNELS,  # noqa: F405
    "MAX_QUERY_DEPTH": 2,
    "MAX_QUERY_TOKENS": 60,
    "INTROSPECTION": False,
}
