"""Test settings for the live persisted-documents tests: the test manifest, and APQ on.

``TEST_ONLY_PERSISTED=1`` turns on ``ONLY_PERSISTED_DOCUMENTS`` instead of APQ.
"""

import os
from pathlib import Path

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

_ONLY = os.environ.get("TEST_ONLY_PERSISTED") == "1"

GQL_CHANNELS = {
    **GQL_CHANNELS,
    "PERSISTED_DOCUMENTS": str(Path(__file__).resolve().parent.parent / "persisted" / "manifest.json"),
    "AUTOMATIC_PERSISTED_QUERIES": not _ONLY,
    "ONLY_PERSISTED_DOCUMENTS": _ONLY,
}
