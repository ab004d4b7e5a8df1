"""No GQL_CHANNELS setting at all: E003."""

from tests.command_settings.base import *  # noqa: F401,F403

del GQL_CHANNELS  # noqa: F821

deleted_settings = ["GQL_CHANNELS"]
