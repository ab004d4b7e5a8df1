"""What a live query read: the models (and rows, where the SQL says which) its execution queried.

While :func:`recording` is active in a task, every SQL statement any Django
connection executes *in that task's context* is noted in its :class:`ReadSet`.
The context is what makes this work with ``SYNC_EXECUTION``: asgiref runs the
thread hop in a copy of the caller's context, so the context variable (and the
one mutable :class:`ReadSet` it holds) is seen by the ORM in Django's sync
thread, by ``database_sync_to_async`` resolvers, and on the loop alike.

The statements are seen through Django's connection execute wrappers
(``connection.execute_wrappers``), installed on every connection as it is
created (``connection_created``): one context-variable read per statement while
no live query records. The tables a statement names are mapped back to models
(``Meta.db_table``, auto-created many-to-many tables included). A statement on
one table whose only condition is its primary key (``pk=``, ``pk__in=``: a
``get()``, a foreign key followed, a prefetch) records those rows; any other
reads the whole model, so a new row a filter might match re-runs the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.backends.signals import connection_created

__all__ = ["ReadSet", "install_read_tracking", "key_label", "record_read", "recording"]

_current: ContextVar[ReadSet | None] = ContextVar("gql_live_read_set", default=None)

#: A quoted identifier (``"name"`` on SQLite/PostgreSQL/Oracle, ```name``` on MySQL).
_IDENTIFIER = re.compile(r'["`]([^"`]+)["`]')


def key_label(key: str) -> tuple[str, str | None]:
    """``"app.Model:pk"`` -> ``("app.model", "pk")``; ``"app.Model"`` -> ``("app.model", None)``."""
    label, sep, pk = key.partition(":")
    return label.lower(), (pk if sep else None)


class ReadSet:
    """The models one execution read wholly, and the rows it read of others."""

    __slots__ = ("models", "rows")

    def __init__(self) -> None:
        #: labels (``app_label.modelname``) of models read wholly
        self.models: set[str] = set()
        #: label -> pks (as str) of models read by primary key only
        self.rows: dict[str, set[str]] = {}

    @property
    def labels(self) -> set[str]:
        """Every model read at all."""
        return self.models | self.rows.keys()

    def add_model(self, label: str) -> None:
        self.models.add(label)

    def add_rows(self, label: str, pks: Iterator[Any] | list[Any]) -> None:
        self.rows.setdefault(label, set()).update(str(pk) for pk in pks)

    def affected_by(self, key: str) -> bool:
        """Whether a change named by ``key`` (``"app.model"`` or ``"app.model:pk"``) may change what was read."""
        label, pk = key_label(key)
        if label in self.models:
            return True
        rows = self.rows.get(label)
        if rows is None:
            return False
        return pk is None or pk in rows

    def __repr__(self) -> str:
        return f"<ReadSet models={sorted(self.models)} rows={ {k: sorted(v) for k, v in self.rows.items()} }>"


@contextmanager
def recording(read_set: ReadSet) -> Iterator[ReadSet]:
    """Note the SQL statements run in this context (and the thread hops it makes) into ``read_set``."""
    token = _current.set(read_set)
    try:
        yield read_set
    finally:
        _current.reset(token)


def record_read(*keys: str) -> None:
    """Tell the live query running now (if any) that it read ``keys``, which no SQL showed.

    For a resolver whose data comes from elsewhere (a cache, another service):
    ``record_read("shop.Product:3")`` in it, ``invalidate("shop.Product:3")``
    where that data changes. Keys are those of ``invalidate``; outside a live
    query this does nothing.
    """
    read_set = _current.get()
    if read_set is None:
        return
    for key in keys:
        label, pk = key_label(key)
        if pk is None:
            read_set.add_model(label)
        else:
            read_set.add_rows(label, [pk])


# -- from SQL to models ---------------------------------------------------------------

class _Table:
    __slots__ = ("by_pk", "label")

    def __init__(self, label: str, by_pk: re.Pattern[str]) -> None:
        self.label = label
        #: the statement's condition is this table's primary key alone
        self.by_pk = by_pk


_tables: dict[str, _Table] | None = None


def _table_map() -> dict[str, _Table]:
    global _tables
    if _tables is None:
        tables: dict[str, _Table] = {}
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            table, column = re.escape(meta.db_table), re.escape(str(meta.pk.column))
            by_pk = re.compile(
                rf'\sWHERE\s+["`]{table}["`]\.["`]{column}["`]\s*(?:=\s*%s|IN\s*\(\s*%s(?:\s*,\s*%s)*\s*\))'
                r"(?:\s+ORDER BY\s[^%]*)?(?:\s+LIMIT\s+\d+)?\s*$",
                re.IGNORECASE,
            )
            # A proxy shares its concrete model's table, and changes are told by the concrete model's label.
            concrete = meta.concrete_model or model
            tables[meta.db_table] = _Table(concrete._meta.label_lower, by_pk)
        _tables = tables
    return _tables


def note_statement(read_set: ReadSet, sql: str, params: Any) -> None:
    """Record the models (or rows) one SQL statement reads."""
    tables = _table_map()
    found = {name: tables[name] for name in _IDENTIFIER.findall(sql) if name in tables}
    if not found:
        return
    if len(found) == 1:
        (table,) = found.values()
        if (isinstance(params, (list, tuple)) and params and table.label not in read_set.models
                and table.by_pk.search(sql)):
            read_set.add_rows(table.label, list(params))
            return
    for table in found.values():
        read_set.add_model(table.label)


def _wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    read_set = _current.get()
    if read_set is not None and isinstance(sql, str):
        note_statement(read_set, sql, None if many else params)
    return execute(sql, params, many, context)


def _install(connection: Any) -> None:
    wrappers = connection.execute_wrappers
    if _wrapper not in wrappers:
        # First, not last: ``connection.execute_wrapper()`` blocks pop the last one on exit.
        wrappers.insert(0, _wrapper)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    _install(connection)


def forget_models() -> None:
    """Rebuild the table map on next use (models were added: tests, app registry changes)."""
    global _tables
    _tables = None


def install_read_tracking() -> None:
    """Track reads on every connection from now on (those this thread already has included)."""
    connection_created.connect(_on_connection_created, dispatch_uid="django_gql_channels.live.reads")
    for connection in connections.all(initialized_only=True):
        _install(connection)
