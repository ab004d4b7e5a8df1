"""Issue 19: what a new user meets in the first hour, against real ASGI servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BAD_SETTINGS = {
    "typo": 'GQL_CHANNELS = {**GQL_CHANNELS, "MAX_QUERY_DEPHT": 5}\n',
    "schema": 'GQL_CHANNELS = {**GQL_CHANNELS, "SCHEMA": "no_such_module.schema"}\n',
    "not_installed": 'INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "django_gql_channels"]\n',
}


def _start(tmp_path: Path, server: str, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "bad_settings.py").write_text("from tests.settings import *  # noqa\n"
                                              "from tests.settings import GQL_CHANNELS, INSTALLED_APPS\n" + body)
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", "django_gql_channels.asgi:application", "--port", "0",
                   "--host", "127.0.0.1"]
    else:
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "django_gql_channels.asgi:application"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bad_settings",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
@pytest.mark.parametrize(("case", "expected"), [
    ("typo", "MAX_QUERY_DEPHT"),
    ("schema", "no_such_module"),
    ("not_installed", "gql_channels.E110"),
])
def test_bad_settings_stop_start_up_with_the_check_message(tmp_path, server, case, expected):
    result = _start(tmp_path, server, BAD_SETTINGS[case])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output
    assert "HINT:" in output
    assert "manage.py check" in output
