"""The benchmark settings with the ``--only defer`` schema (``benchmarks.defer_schema``)."""

from benchmarks.settings import *  # noqa: F401,F403
from benchmarks.settings import GQL_CHANNELS

GQL_CHANNELS = {**{k: v for k, v in GQL_CHANNELS.items() if k != "PERSISTED_DOCUMENTS"},
                "SCHEMA": "benchmarks.defer_schema.schema"}
