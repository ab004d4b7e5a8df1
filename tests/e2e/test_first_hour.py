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


ORIGIN_SETTINGS = """from tests.e2e.ws_settings import *  # noqa
from tests.e2e.ws_settings import GQL_CHANNELS
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
GQL_CHANNELS = {**GQL_CHANNELS, "REQUIRE_WEBSOCKET_ORIGIN": %r}
"""


def _origin_server(factory, tmp_path: Path, server: str, require: bool):
    (tmp_path / "origin_settings.py").write_text(ORIGIN_SETTINGS % require)
    return factory(server=server, settings="origin_settings",
                   env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])})


async def _handshake(url: str, origin: str | None) -> dict:
    import json

    from websockets.asyncio.client import connect

    async with connect(f"{url}/graphql", subprotocols=["graphql-transport-ws"], origin=origin,
                       open_timeout=10, close_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        return json.loads(await ws.recv())


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
async def test_websockets_without_origin_are_accepted_and_foreign_origins_refused(
        live_server_factory, tmp_path, server):
    from websockets.exceptions import InvalidStatus

    live = _origin_server(live_server_factory, tmp_path, server, require=False)
    assert await _handshake(live.ws_url, None) == {"type": "connection_ack"}
    assert await _handshake(live.ws_url, "http://localhost") == {"type": "connection_ack"}
    for _ in range(3):
        with pytest.raises(InvalidStatus):
            await _handshake(live.ws_url, "https://evil.example")
    refused = [line for line in live.log().splitlines() if "https://evil.example" in line]
    assert len(refused) == 1, live.log()
    assert "ALLOWED_HOSTS" in refused[0]


async def test_require_websocket_origin_refuses_handshakes_without_one(live_server_factory, tmp_path):
    from websockets.exceptions import InvalidStatus

    live = _origin_server(live_server_factory, tmp_path, "uvicorn", require=True)
    with pytest.raises(InvalidStatus):
        await _handshake(live.ws_url, None)
    assert await _handshake(live.ws_url, "http://127.0.0.1") == {"type": "connection_ack"}
    assert "REQUIRE_WEBSOCKET_ORIGIN" in live.log()
