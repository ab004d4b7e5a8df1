"""Test settings for the live persisted-documents tests: the test manifest, and APQ on."""

from pathlib import Path

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {
    **GQL_CHANNELS,
    "PERSISTED_DOCUMENTS": str(Path(__file__).resolve().parent.parent / "persisted" / "manifest.json"),
    "AUTOMATIC_PERSISTED_QUERIES": True,
}
