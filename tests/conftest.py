"""The suite's hooks, the in-process tests' fixtures, and the process helpers both layers import.

Fixtures that start real servers (redis-server, uvicorn/daphne, npm clients)
are in tests/e2e/conftest.py: only the end-to-end tests use them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--shared-results", action="store_true",
                     help="SHARED_SUBSCRIPTION_RESULTS on by default (same as GQL_SHARED_RESULTS=1)")


def pytest_configure(config):
    """``--shared-results`` / ``GQL_SHARED_RESULTS=1``: the whole suite with shared subscription results.

    The default flips in this process (so tests that override ``GQL_CHANNELS``
    get it too) and, through the environment, in every server the tests start
    (``tests.settings`` reads it): every subscription test must give the same
    frames either way.
    """
    if config.getoption("--shared-results"):
        os.environ["GQL_SHARED_RESULTS"] = "1"
    if os.environ.get("GQL_SHARED_RESULTS") == "1":
        from django_gql_channels import conf

        conf.DEFAULTS["SHARED_SUBSCRIPTION_RESULTS"] = True


def pytest_report_header(config):
    return f"SHARED_SUBSCRIPTION_RESULTS by default: {os.environ.get('GQL_SHARED_RESULTS') == '1'}"


def pytest_collection_modifyitems(config, items):
    """Mark tests/e2e as ``e2e``; deselect (not skip) tests that need another tox env."""
    import importlib.util

    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)

    if importlib.util.find_spec("graphene") is None:
        elsewhere = [item for item in items if item.get_closest_marker("graphene_env")]
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            items[:] = [item for item in items if not item.get_closest_marker("graphene_env")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing on CI: .ci/run must install it")
        pytest.skip(f"{name} is not installed (CI installs it; locally: see docs/development.rst)")
    return path


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
async def clean_layer():
    """An empty in-memory layer and WebSocket test-schema event log around a test."""
    from channels.layers import get_channel_layer

    from tests import ws_schema

    layer = get_channel_layer()
    await layer.flush()
    ws_schema.EVENTS.clear()
    yield layer
    await layer.flush()
