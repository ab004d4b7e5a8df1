"""Fixtures that start real parts: redis-server, ASGI servers, npm clients (the shared ones: tests/conftest.py).

A fixture whose binary is missing skips its tests with the reason; CI installs
every binary (see .ci/run), so nothing is skipped there.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, require_binary, stop
from tests.e2e.browser import browser  # noqa: F401

JS_DIR = ROOT / "tests" / "js"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode}:\n{output}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


class RedisServer:
    """A real redis-server on a loopback port that can be killed and restarted on the same port."""

    def __init__(self) -> None:
        self.binary = require_binary("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        wait_for_port(self.port, self.process)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, everything in memory lost."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> None:
        """Start again on the same port (empty, as after a crash without persistence)."""
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, for the whole session."""
    with running_redis() as server:
        yield server.url


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to kill and restart (``kill()``, ``restart()``)."""
    with running_redis() as server:
        yield server


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://")
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _listening_socket() -> socket.socket:
    """A socket already listening on a free loopback port, handed to the server.

    Binding here (not "pick a free port, close it, let the server bind") means
    no other process can take the port in between.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _wait_until_serving(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/__not_a_page__")
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"server did not answer within {timeout}s:\n{log_path.read_text()}") from None
            time.sleep(0.05)
        finally:
            connection.close()


@contextlib.contextmanager
def run_asgi_server(
    tmp_path: Path,
    *,
    server: str = "uvicorn",
    app: str = "example_project.asgi:application",
    settings: str = "tests.settings",
    env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Start ``app`` under a real ASGI server (uvicorn or daphne) on a free loopback port."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    fd = str(sock.fileno())
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", app, "--fd", fd, "--log-level", "warning",
                   "--ws-max-size", "16777216"]
    elif server == "daphne":
        command = [sys.executable, "-m", "daphne", "--fd", fd, app]
    else:
        raise ValueError(server)
    log_path = tmp_path / f"{server}-{port}.log"
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   pass_fds=(sock.fileno(),))
    sock.close()  # the server holds its own copy
    try:
        _wait_until_serving(port, process, log_path)
        yield LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    finally:
        stop(process)


@pytest.fixture
def live_server_factory(tmp_path):
    """Call with server=/settings=/env= to get a running LiveServer; stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda **kwargs: stack.enter_context(run_asgi_server(tmp_path, **kwargs))


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/js/node_modules, installed from tests/js/package-lock.json when missing."""
    require_binary("node")
    npm = require_binary("npm")
    if not (JS_DIR / "node_modules" / ".package-lock.json").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return JS_DIR / "node_modules"


def run_node(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run tests/js/<script> with node; returns the completed process (text output)."""
    return subprocess.run(["node", str(JS_DIR / script), *args], cwd=JS_DIR, capture_output=True,
                          text=True, timeout=timeout)
