"""No channel layer at all: W003."""

from tests.command_settings.base import *  # noqa: F401,F403

CHANNEL_LAYERS = {}
