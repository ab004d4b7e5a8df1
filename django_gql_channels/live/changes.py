"""Changes live queries hear of: saves and deletions (after commit), and :func:`invalidate`.

With ``LIVE_QUERIES`` on, every process connects ``post_save``,
``post_delete`` and ``m2m_changed`` for all models (a ``manage.py shell``, a
Celery worker and the ASGI servers alike: whoever saves tells). Each change
becomes one channel-layer message, sent when the transaction commits (never on
rollback) to the model's group, :func:`model_group`::

    {"type": "gql.live.changed", "keys": ["todos.todo:3"]}

Each process joins the groups of the models its live queries read (once per
process, however many live queries read it: :mod:`.watching`) and re-runs the
live queries the keys concern. Changes the ORM does not see (raw SQL, another
service, a cache) are told with :func:`invalidate` / :func:`ainvalidate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save

from ..conf import gql_settings, on_reload
from ..publishing import abroadcast, publish, safe_group_name
from .reads import key_label

__all__ = ["CHANGED", "ainvalidate", "connect_live_changes", "invalidate", "model_group"]

#: The message type of a change.
CHANGED = "gql.live.changed"

_GROUP_PREFIX = "gql_live."
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*(?::.+)?$")


def model_group(label: str) -> str:
    """The group that hears of changes to the model ``label`` (``"app_label.modelname"``, any case)."""
    return safe_group_name(_GROUP_PREFIX + label.lower())


def _wire_pk(pk: Any) -> str:
    return str(pk)


def _send(label: str, keys: list[str], using: str | None) -> None:
    publish((model_group(label),), {"type": CHANGED, "keys": keys}, using=using)


def _tables_of(model: type[models.Model]) -> list[type[models.Model]]:
    """The concrete models whose tables a save of ``model`` writes: itself (a proxy's concrete model)
    and, with multi-table inheritance, its parents (a child's pk is its parent's)."""
    concrete = model._meta.concrete_model or model
    return [concrete, *concrete._meta.get_parent_list()]


def _changed(sender: type[models.Model], instance: models.Model, using: str | None) -> None:
    pk = _wire_pk(instance.pk)
    for model in _tables_of(sender):
        label = model._meta.label_lower
        _send(label, [f"{label}:{pk}"], using)


def _on_save(sender: type[models.Model], instance: models.Model, raw: bool = False, using: str | None = None,
             **kwargs: Any) -> None:
    if not raw and instance.pk is not None:
        _changed(sender, instance, using)


def _on_delete(sender: type[models.Model], instance: models.Model, using: str | None = None, **kwargs: Any) -> None:
    if instance.pk is not None:
        _changed(sender, instance, using)


def _on_m2m(sender: type[models.Model], instance: models.Model, action: str, using: str | None = None,
            **kwargs: Any) -> None:
    # The through table changed: queries that joined it read the whole relation.
    if action in ("post_add", "post_remove", "post_clear"):
        _send(sender._meta.label_lower, [sender._meta.label_lower], using)


_UID = "django_gql_channels.live.changes"


def connect_live_changes() -> None:
    """Connect (``LIVE_QUERIES`` on) or disconnect the signals that tell live queries of changes."""
    post_save.disconnect(dispatch_uid=_UID + ":save")
    post_delete.disconnect(dispatch_uid=_UID + ":delete")
    m2m_changed.disconnect(dispatch_uid=_UID + ":m2m")
    try:
        enabled = gql_settings.LIVE_QUERIES
    except Exception:
        return  # a wrong type: the system checks report it
    if not enabled:
        return
    from .reads import forget_models, install_read_tracking

    forget_models()
    install_read_tracking()
    post_save.connect(_on_save, dispatch_uid=_UID + ":save")
    post_delete.connect(_on_delete, dispatch_uid=_UID + ":delete")
    m2m_changed.connect(_on_m2m, dispatch_uid=_UID + ":m2m")


_ready = False


def live_changes_ready() -> None:
    """Called once the app registry is ready (the app's ``ready()``)."""
    global _ready
    _ready = True
    connect_live_changes()


@on_reload
def _reconnect() -> None:
    if _ready:
        connect_live_changes()


def _concrete_label(label: str) -> str:
    """An installed model's label as reads record it (a proxy's concrete model); other labels as given."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return label
    concrete = model._meta.concrete_model or model
    concrete_label: str = concrete._meta.label_lower
    return concrete_label


def _by_group(keys: Iterable[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in keys:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f'{key!r} is not a live-query key: use "app_label.ModelName" or '
                             '"app_label.ModelName:<pk>".')
        label, pk = key_label(key)
        label = _concrete_label(label)
        groups.setdefault(model_group(label), []).append(label if pk is None else f"{label}:{pk}")
    return groups


def invalidate(*keys: str, using: str | None = None) -> None:
    """Mark live-query data stale in every process of the channel layer.

    ``keys`` are ``"app_label.ModelName"`` (every row) or
    ``"app_label.ModelName:<pk>"`` (one row). Inside an atomic block the news
    leaves when it commits, never on rollback, as with :func:`~django_gql_channels.broadcast`.
    """
    for group, group_keys in _by_group(keys).items():
        publish((group,), {"type": CHANGED, "keys": group_keys}, using=using)


async def ainvalidate(*keys: str, using: str | None = None) -> None:
    """:func:`invalidate` for coroutines: awaits the sends."""
    for group, group_keys in _by_group(keys).items():
        await abroadcast(group, {"type": CHANGED, "keys": group_keys}, using=using)
