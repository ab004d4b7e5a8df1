"""Test settings for the live WebSocket tests: a consumer whose hooks the client can steer."""

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {
    **GQL_CHANNELS,
    "WS_CONSUMER": "tests.e2e.ws_consumer.SteerableConsumer",
    "CONNECTION_INIT_WAIT_TIMEOUT": 2,
}
