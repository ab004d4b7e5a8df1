"""The processes the network benchmarks drive: a uvicorn server of ``benchmarks.ws_server``, a redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def http_get_json(port: int, path: str, timeout: float) -> Any:
    """A minimal HTTP/1.1 GET: one request, ``Connection: close``, JSON body."""

    async def go() -> Any:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = await reader.read()
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"GET {path}: {head[:100]!r}")
        return json.loads(body)

    return await asyncio.wait_for(go(), timeout)



class Server:
    """A uvicorn subprocess serving ``app`` (default ``benchmarks.ws_server``) on a free loopback port.

    ``python`` is the interpreter to run it with (the Graphene servers run in
    their own virtualenv, see ``benchmarks.graphene_env``); ``loop`` and
    ``http`` are uvicorn's ``--loop`` and ``--http``.
    """

    def __init__(self, env: dict[str, str], *, loop: str = "auto", app: str = "benchmarks.ws_server:application",
                 python: str = sys.executable, http: str = "auto") -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [python, "-m", "uvicorn", app,
             "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off",
             "--log-level", "warning", "--no-access-log", "--backlog", "4096", "--loop", loop, "--http", http],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()[-2000:]}")
            with contextlib.suppress(OSError, RuntimeError, asyncio.TimeoutError, ValueError):
                await http_get_json(self.port, "/bench/stats", 1.0)
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
