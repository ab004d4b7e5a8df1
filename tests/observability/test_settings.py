"""``METRICS`` and ``TRACING`` in ``manage.py check``: types, and the extras they need (E090, E091)."""

from __future__ import annotations

import importlib.util

import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings


def ids(**gql):
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, **gql}):
        return [m.id for m in checks.run_checks() if m.id and m.id.startswith("gql_channels.")]


def test_both_switches_on_with_their_packages_installed_are_clean():
    assert ids(METRICS=True, TRACING=True) == []


def test_a_switch_that_is_not_a_bool_is_a_type_error():
    assert ids(METRICS="yes") == ["gql_channels.E007"]


@pytest.mark.parametrize(("key", "module", "check_id"), [
    ("METRICS", "prometheus_client", "gql_channels.E090"),
    ("TRACING", "opentelemetry.trace", "gql_channels.E091"),
])
def test_a_switch_on_without_its_package_names_the_extra(monkeypatch, key, module, check_id):
    find_spec = importlib.util.find_spec

    def missing(name, *args):
        if name == module:
            return None
        return find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, key: True}):
        found = [m for m in checks.run_checks() if m.id == check_id]
    assert len(found) == 1
    assert key in found[0].msg and "django-gql-channels[" in found[0].hint


def test_operation_names_as_labels_without_trusted_documents_is_a_warning():
    assert ids(METRICS=True, METRICS_OPERATION_NAMES=True) == ["gql_channels.W090"]
