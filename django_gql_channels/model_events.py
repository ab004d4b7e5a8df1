"""Model events: ``GQL_CHANNELS["MODEL_EVENTS"]`` turns saves and deletions into group messages.

::

    GQL_CHANNELS = {..., "MODEL_EVENTS": {
        "shop.Order": "order_{pk}",                # str.format with the instance's attributes
        "shop.Product": "products",                # one group for every product
        "chat.Message": ["chat_log_{room}", "chat_log"],   # several groups
        "shop.Invoice": "shop.events.invoice_groups",      # a callable (instance) -> group or groups
    }}

After the transaction that saved or deleted an instance commits (never if it
rolls back), each of its groups receives ``{"type": "model.saved"`` or
``"model.deleted", "model": "app_label.modelname", "pk": <pk>, "created": <bool>}``.
The pk of a deleted instance is read when it is deleted. A pk that is not an
int or a str (a UUID) is sent as a str, which the layer can serialise.

A string is a template when it has ``{...}`` fields, a dotted path when its
part before the last period is an importable module, a group name otherwise.
Rendered names are made valid group names with
:func:`~django_gql_channels.publishing.safe_group_name`.

Signals are connected once, when the app is ready, for the listed models only
(``sender=``), and reconnected when the setting changes (``override_settings``).
Saves of fixtures (``raw``) send nothing. Bulk operations that bypass signals
(``bulk_create``, ``bulk_update``, ``QuerySet.update()``) send nothing either;
``QuerySet.delete()`` sends ``post_delete`` per row, so it does.

Subscription resolvers read such a group with :func:`model_events`.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.utils.functional import cached_property
from django.utils.module_loading import import_string

from .channel_layer.names import INVALID_GROUP_CHARS, is_valid_group_name
from .conf import SettingProblem, gql_settings, on_reload
from .publishing import publish, safe_group_name

__all__ = ["DELETED", "SAVED", "ModelEvent", "connect_model_events", "model_event_problems", "model_events"]

logger = logging.getLogger("django_gql_channels.model_events")

SAVED = "model.saved"
DELETED = "model.deleted"
KEY = "MODEL_EVENTS"

_FIELD_ROOT = re.compile(r"[.\[]")


class _InstanceFields(Mapping[str, Any]):
    """The instance's attributes as ``str.format_map`` looks them up."""

    def __init__(self, instance: models.Model) -> None:
        self._instance = instance

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self._instance, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - format_map never iterates
        return iter(())

    def __len__(self) -> int:  # pragma: no cover
        return 0


@dataclass(frozen=True)
class GroupSpec:
    """One group entry of ``MODEL_EVENTS``: a group name, a template, or a callable."""

    kind: str  # "group", "template" or "callable"
    value: Any
    fields: tuple[str, ...] = ()  # a template's field roots

    def groups_for(self, instance: models.Model) -> list[str]:
        if self.kind == "group":
            return [self.value]
        if self.kind == "template":
            return [safe_group_name(self.value.format_map(_InstanceFields(instance)))]
        result = self.value(instance)
        if result is None:
            return []
        names = [result] if isinstance(result, str) else list(result)
        return [safe_group_name(str(name)) for name in names]

    def render(self, values: Mapping[str, Any]) -> str | None:
        """The group for a subscriber who knows ``values``; ``None`` if it needs more."""
        if self.kind == "group":
            group: str = self.value
            return group
        if self.kind == "template" and all(field in values for field in self.fields):
            return safe_group_name(self.value.format_map(values))
        return None


@dataclass(frozen=True)
class ModelRoute:
    """Where one model's events go."""

    label: str  # "app_label.modelname"
    model: type[models.Model]
    specs: tuple[GroupSpec, ...]

    def groups_for(self, instance: models.Model) -> list[str]:
        groups: dict[str, None] = {}
        for spec in self.specs:
            groups.update(dict.fromkeys(spec.groups_for(instance)))
        return list(groups)


# -- reading the setting -------------------------------------------------------------


def _problem(id: str, msg: str, hint: str) -> SettingProblem:
    return SettingProblem(id, KEY, msg, hint)


def _model(label: str) -> type[models.Model] | SettingProblem:
    hint = 'Use "app_label.ModelName" of a model in INSTALLED_APPS, e.g. "shop.Order".'
    if label.count(".") != 1:
        return _problem("gql_channels.E020", f"{label!r} is not of the form \"app_label.ModelName\".", hint)
    try:
        return apps.get_model(label)
    except LookupError as exc:
        return _problem("gql_channels.E020", f"{label!r} is not an installed model: {str(exc).rstrip('.')}.", hint)


def _template_fields(model: type[models.Model], label: str, template: str) -> tuple[str, ...] | SettingProblem:
    where = f"group template {template!r} of {label!r}"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return _problem("gql_channels.E021", f"{where} is not a valid str.format template: {exc}.",
                        'Write fields as "{name}", e.g. "order_{pk}"; double braces for literal ones.')
    fields: list[str] = []
    for literal, field, _spec, _conversion in parsed:
        if INVALID_GROUP_CHARS.search(literal):
            return _problem("gql_channels.E021", f"{where}: {literal!r} has characters group names may not have.",
                            "Group names use ASCII letters, digits, hyphens, underscores and periods.")
        if field is None:
            continue
        root = _FIELD_ROOT.split(field, maxsplit=1)[0]
        if not root.isidentifier():
            return _problem("gql_channels.E021", f"{where}: the field {{{field}}} names no attribute.",
                            'Name the instance\'s attributes, e.g. "order_{pk}".')
        if not _has_attribute(model, root):
            return _problem("gql_channels.E021", f"{where}: {model.__name__} has no field or property {root!r}.",
                            f"Use one of: pk, {', '.join(sorted(f.attname for f in model._meta.concrete_fields))}.")
        fields.append(root)
    return tuple(dict.fromkeys(fields))


def _has_attribute(model: type[models.Model], name: str) -> bool:
    if name == "pk":
        return True
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return isinstance(getattr(model, name, None), (property, cached_property))
    return bool(getattr(field, "concrete", False))


def _callable(path: str, label: str) -> Callable[..., Any] | SettingProblem | None:
    """The callable ``path`` names; ``None`` when ``path`` is no dotted path (a group name with periods)."""
    module_path, _, _name = path.rpartition(".")
    try:
        import_module(module_path)
    except ImportError:
        return None
    except Exception as exc:
        return _problem("gql_channels.E022", f"importing {module_path!r} (for {label!r}) raised "
                        f"{type(exc).__name__}: {exc}.", "Fix the error in that module.")
    try:
        value = import_string(path)
    except ImportError as exc:
        return _problem("gql_channels.E022", f"{path!r} (for {label!r}) cannot be imported: {exc}.",
                        f"{module_path} is a module, so this is read as a dotted path to a callable; "
                        "a group name must not start with a module's name.")
    if not callable(value):
        return _problem("gql_channels.E022", f"{path!r} (for {label!r}) is not callable.",
                        "Point it at a function (instance) -> group name or list of group names.")
    function: Callable[..., Any] = value
    return function


def _spec(model: type[models.Model], label: str, value: Any) -> GroupSpec | SettingProblem:
    if callable(value):
        return GroupSpec("callable", value)
    if not isinstance(value, str):
        return _problem("gql_channels.E023", f"{label!r} maps to {value!r}.",
                        'Use a group name ("orders"), a template ("order_{pk}"), a dotted path to a callable, '
                        "or a list of them.")
    if "{" in value or "}" in value:
        fields = _template_fields(model, label, value)
        return fields if isinstance(fields, SettingProblem) else GroupSpec("template", value, fields)
    if "." in value:
        function = _callable(value, label)
        if function is not None:
            return function if isinstance(function, SettingProblem) else GroupSpec("callable", function)
    if not is_valid_group_name(value):
        return _problem("gql_channels.E023", f"{value!r} (for {label!r}) is not a valid group name.",
                        "Use fewer than 100 ASCII letters, digits, hyphens, underscores or periods.")
    return GroupSpec("group", value)


def _read_setting(setting: Any) -> tuple[list[ModelRoute], list[SettingProblem]]:
    routes: list[ModelRoute] = []
    problems: list[SettingProblem] = []
    if not isinstance(setting, Mapping):
        return routes, problems  # the type check (E007) reports it
    for label, value in setting.items():
        model = _model(label)
        if isinstance(model, SettingProblem):
            problems.append(model)
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            problems.append(_problem("gql_channels.E023", f"{label!r} maps to no group.",
                                     "Name at least one group, or remove the entry."))
            continue
        specs = [_spec(model, label, item) for item in values]
        bad = [spec for spec in specs if isinstance(spec, SettingProblem)]
        if bad:
            problems.extend(bad)
            continue
        routes.append(ModelRoute(model._meta.label_lower, model, tuple(specs)))  # type: ignore[arg-type]
    return routes, problems


def model_event_problems(setting: Any) -> list[SettingProblem]:
    """What is wrong with a ``MODEL_EVENTS`` value (for the system checks)."""
    return _read_setting(setting)[1]


# -- signals -------------------------------------------------------------------------

_routes: dict[type[models.Model], ModelRoute] = {}
_connected = False


def _wire_pk(pk: Any) -> Any:
    return pk if isinstance(pk, (int, str)) else str(pk)


def _publish(sender: type[models.Model], instance: models.Model, kind: str, created: bool, using: str | None) -> None:
    route = _routes.get(sender)
    if route is None:
        return
    try:
        groups = route.groups_for(instance)
    except Exception:
        # A broken template field or callable must not break the save.
        logger.exception("Finding the %s groups of %s %r failed; nothing sent.", kind, route.label, instance.pk)
        return
    if groups:
        message = {"type": kind, "model": route.label, "pk": _wire_pk(instance.pk), "created": created}
        publish(groups, message, using=using)


def _on_save(sender: type[models.Model], instance: models.Model, created: bool = False, raw: bool = False,
             using: str | None = None, **kwargs: Any) -> None:
    if not raw:
        _publish(sender, instance, SAVED, bool(created), using)


def _on_delete(sender: type[models.Model], instance: models.Model, using: str | None = None, **kwargs: Any) -> None:
    # post_delete runs before Django clears instance.pk, so the pk is captured here.
    _publish(sender, instance, DELETED, False, using)


def _uid(model: type[models.Model], signal: str) -> str:
    return f"django_gql_channels.model_events:{model._meta.label_lower}:{signal}"


def disconnect_model_events() -> None:
    for model in list(_routes):
        post_save.disconnect(sender=model, dispatch_uid=_uid(model, "save"))
        post_delete.disconnect(sender=model, dispatch_uid=_uid(model, "delete"))
    _routes.clear()


def connect_model_events() -> None:
    """(Re)connect the signals of the models in ``MODEL_EVENTS``; invalid entries are skipped."""
    global _connected
    disconnect_model_events()
    _connected = True
    try:
        setting = gql_settings.MODEL_EVENTS
    except Exception:
        return  # a wrong type: the system checks report it
    routes, problems = _read_setting(setting)
    for problem in problems:
        logger.error("Model events not sent: %s", problem)
    for route in routes:
        post_save.connect(_on_save, sender=route.model, dispatch_uid=_uid(route.model, "save"))
        post_delete.connect(_on_delete, sender=route.model, dispatch_uid=_uid(route.model, "delete"))
        _routes[route.model] = route


@on_reload
def _reconnect() -> None:
    if _connected and apps.ready:
        connect_model_events()


# -- the subscription side -----------------------------------------------------------


@dataclass(frozen=True)
class ModelEvent:
    """One save or deletion, as a subscription resolver gets it from :func:`model_events`."""

    type: str  # SAVED or DELETED
    model: str  # "app_label.modelname"
    pk: Any
    created: bool
    #: The row as it is now (re-read after the commit); ``None`` for a deletion
    #: or with ``reload=False``.
    instance: models.Model | None = None

    @property
    def deleted(self) -> bool:
        return self.type == DELETED


def _consumer(info: Any) -> Any:
    if hasattr(info, "listen_to_channel"):
        return info
    context = getattr(info, "context", None)
    ws = context.get("ws") if isinstance(context, Mapping) else getattr(context, "ws", None)
    if ws is None:
        raise RuntimeError('model_events() runs in subscriptions over WebSockets or SSE: info.context["ws"] '
                           "is missing.")
    return ws


def _model_class(model: str | type[models.Model]) -> type[models.Model]:
    return model if isinstance(model, type) else apps.get_model(model)


def _groups_to_join(model: type[models.Model], pk: Any, group: str | Iterable[str] | None,
                    fields: Mapping[str, Any] | None) -> list[str]:
    if group is not None:
        names = [group] if isinstance(group, str) else list(group)
        return [safe_group_name(name) for name in names]
    route = _routes.get(model)
    if route is None:
        raise ImproperlyConfigured(f'{model._meta.label} is not in GQL_CHANNELS["MODEL_EVENTS"]: add it, or pass '
                                   "group= to model_events().")
    values = dict(fields or {})
    if pk is not None:
        for name in ("pk", model._meta.pk.name, model._meta.pk.attname):
            values.setdefault(name, pk)
    # One group, the most specific this subscriber can name: a message that
    # reached it through two groups would be seen twice.
    templates = [s.render(values) for s in route.specs if s.kind == "template"]
    constants = [s.value for s in route.specs if s.kind == "group"]
    for name in [*templates, *constants]:
        if name is not None:
            return [name]
    wanted = sorted({f for s in route.specs for f in s.fields})
    raise ValueError(f"model_events() cannot tell which {model._meta.label} group to join: pass "
                     + (f"pk= or fields= with {', '.join(wanted)}, or " if wanted else "") + "group=.")


@database_sync_to_async
def _reread(queryset: models.QuerySet[Any], pk: Any) -> models.Model | None:
    return queryset.filter(pk=pk).first()


async def model_events(
    info: Any,
    model: str | type[models.Model],
    *,
    pk: Any = None,
    fields: Mapping[str, Any] | None = None,
    group: str | Sequence[str] | None = None,
    queryset: models.QuerySet[Any] | None = None,
    reload: bool = True,
    timeout: float | None = None,
) -> AsyncIterator[ModelEvent | None]:
    """The saves and deletions of ``model`` instances, for a subscription resolver.

    ``info`` is the resolver's info (or the consumer). Joins the group of
    ``MODEL_EVENTS`` that ``pk`` / ``fields`` (values of the template's
    fields) name, or ``group``; yields ``None`` once it listens (yield it on:
    it confirms the subscription), then a :class:`ModelEvent` per save or
    deletion of that model (of that ``pk``, if given). Saved rows are re-read
    through ``queryset`` (default: the model's default manager) with
    ``database_sync_to_async``, so ``event.instance`` is current; a save whose
    row is no longer there, or not in ``queryset`` (a filter, such as the
    user's own rows), is skipped. ``reload=False`` skips the read. Leaves the
    group when closed: wrap it in ``contextlib.aclosing`` to leave at once.
    """
    model_class = _model_class(model)
    label = model_class._meta.label_lower
    groups = _groups_to_join(model_class, pk, group, fields)
    source = queryset if queryset is not None else model_class._default_manager.all()
    wanted_pk = None if pk is None else str(pk)
    async with _consumer(info).listen_to_channel((SAVED, DELETED), groups=groups, timeout=timeout) as messages:
        yield None
        async for message in messages:
            if message.get("model") != label or "pk" not in message:
                continue
            if wanted_pk is not None and str(message["pk"]) != wanted_pk:
                continue
            instance = None
            if message["type"] == SAVED and reload:
                instance = await _reread(source, message["pk"])
                if instance is None:
                    continue
            yield ModelEvent(message["type"], label, message["pk"], bool(message.get("created")), instance)
