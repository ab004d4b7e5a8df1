"""Channels' group-name rules, checked here exactly as a layer checks them.

One home for :mod:`~django_gql_channels.publishing` (``broadcast``,
``safe_group_name``), :mod:`~django_gql_channels.model_events` (the
``MODEL_EVENTS`` setting's checks) and the management commands' records.
"""

from __future__ import annotations

import re
from typing import Any

from channels.layers import BaseChannelLayer

__all__ = ["INVALID_GROUP_CHARS", "MAX_GROUP_LENGTH", "is_valid_group_name", "require_valid_group_name"]

# An instance only for Channels' own rule (a method of the base layer).
_RULES = BaseChannelLayer()

#: The longest group name Channels accepts (fewer than ``MAX_NAME_LENGTH`` characters).
MAX_GROUP_LENGTH = BaseChannelLayer.MAX_NAME_LENGTH - 1

#: One character a group name may not have (ASCII letters, digits, ``-``, ``_`` and ``.`` are allowed).
INVALID_GROUP_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def require_valid_group_name(name: Any) -> None:
    """Raise Channels' own ``TypeError`` (its message says why) unless ``name`` is a valid group name."""
    _RULES.require_valid_group_name(name)


def is_valid_group_name(name: Any) -> bool:
    """Whether Channels accepts ``name`` (any object) as a group name."""
    try:
        _RULES.require_valid_group_name(name)
    except TypeError:
        return False
    return True
