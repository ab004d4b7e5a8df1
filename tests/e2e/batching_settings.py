"""Test settings for the live batching tests: ``BATCHING`` on, the default ``MAX_BATCH_SIZE`` (10), APQ on."""

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {**GQL_CHANNELS, "BATCHING": True, "AUTOMATIC_PERSISTED_QUERIES": True}
