"""A production-like configuration: DEBUG off (so errors are masked by default), CORS and a small message limit."""

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

DEBUG = False
GQL_CHANNELS = {k: v for k, v in GQL_CHANNELS.items() if k != "MASK_ERRORS"}  # the default: masked
GQL_CHANNELS["MAX_MESSAGE_SIZE"] = 65536

CORS_ALLOWED_ORIGINS = ["https://app.example"]
CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://\w+\.preview\.example$"]
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["x-request-id"]
