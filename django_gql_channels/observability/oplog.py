"""The operation log: one INFO line per operation outcome on ``django_gql_channels.operations``.

For a team without Prometheus or a tracing backend: what ran, where, how long
it took and how it ended. Silent unless logging is configured to show INFO
for that logger (or a parent); nothing is measured for it otherwise. A line
reads::

    operation transport=http type=query name=Hello duration_ms=1.8 outcome=ok

and carries the same values as the record's attributes ``transport``,
``operation_type``, ``operation_name``, ``duration`` (seconds) and ``outcome``,
for structured (JSON) log formatters.
"""

from __future__ import annotations

import logging

from . import OPERATIONS_LOGGER

__all__ = ["log_outcome"]


def log_outcome(transport: str, operation_type: str, operation_name: str | None, duration: float,
                outcome: str) -> None:
    OPERATIONS_LOGGER.log(
        logging.INFO, "operation transport=%s type=%s name=%s duration_ms=%.1f outcome=%s",
        transport, operation_type, operation_name or "-", duration * 1000, outcome,
        extra={"transport": transport, "operation_type": operation_type, "operation_name": operation_name,
               "duration": duration, "outcome": outcome},
    )
