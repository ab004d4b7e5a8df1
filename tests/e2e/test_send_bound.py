"""A WebSocket client that never reads cannot bloat the server (issue 18, item 4).

A raw client with a small receive buffer subscribes to a group and then
stops reading, while this process floods the group through the real Redis
pub/sub layer. On uvicorn and on daphne (whose ``send`` never waited before
:mod:`django_gql_channels.ws.backpressure`) the server's RSS grows by at
most 64 MB, and the subscription's queue drops what it cannot hold
(``SUBSCRIPTION_QUEUE_SIZE``), logged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from urllib.parse import urlsplit

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer

from tests.e2e.conftest import run_asgi_server

WAIT = 10
GROUP = "send_bound_flood"
#: 6,000 messages of 16 KiB: ~100 MB a server without backpressure would hold.
MESSAGES = 6000
TEXT = "x" * 16384
MAX_GROWTH = 64 * 1024 * 1024
FLOOD_SECONDS = 60


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _frame(text: str) -> bytes:
    """One masked text frame, as a client sends it."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class NonReadingClient:
    """Handshake, ``connection_init`` and ``subscribe`` by hand; then the socket is never read again."""

    def __init__(self, url: str, subprotocol: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(WAIT)
        self.sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET /graphql HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {subprotocol}\r\nOrigin: http://127.0.0.1\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = self.sock.recv(1)
            assert chunk, "closed during the handshake"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 101"), answer
        self.subprotocol = subprotocol

    def send(self, message: dict) -> None:
        self.sock.sendall(_frame(json.dumps(message)))

    def subscribe(self) -> None:
        self.send({"type": "connection_init"})
        query = "subscription($g: String!) { onGroupMessage(group: $g) { text } }"
        kind = "subscribe" if self.subprotocol == "graphql-transport-ws" else "start"
        self.send({"type": kind, "id": "1", "payload": {"query": query, "variables": {"g": GROUP}}})
        # Read up to the confirming null result: the subscription listens.
        seen = b""
        deadline = time.monotonic() + WAIT
        while b"onGroupMessage" not in seen:
            assert time.monotonic() < deadline, seen
            seen += self.sock.recv(4096)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=["uvicorn", "daphne"])
def server(request, tmp_path, redis_url):
    with run_asgi_server(tmp_path, server=request.param, settings="tests.redis_settings",
                         env={"REDIS_URL": redis_url}) as live:
        yield live


async def _flood(redis_url: str) -> None:
    layer = RedisPubSubChannelLayer(hosts=[{"address": redis_url}])
    try:
        deadline = time.monotonic() + FLOOD_SECONDS
        for n in range(MESSAGES):
            await layer.group_send(GROUP, {"type": "group.message", "text": TEXT, "n": n})
            if n % 100 == 99:
                # Paced below what Redis lets a subscriber fall behind (its pub/sub
                # output buffer limit) before it cuts the server's connection.
                await asyncio.sleep(0.25)
            if time.monotonic() > deadline:
                break
    finally:
        await layer.flush()


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_client_that_never_reads_does_not_grow_the_server(server, redis_url, subprotocol):
    pid = server.process.pid
    client = NonReadingClient(server.ws_url + "/graphql", subprotocol)
    try:
        client.subscribe()
        before = peak = _rss(pid)
        flood = asyncio.create_task(_flood(redis_url))
        while not flood.done():
            await asyncio.wait((flood,), timeout=0.1)
            peak = max(peak, _rss(pid))
        await flood
        for _ in range(20):  # the server takes in what Redis delivered
            await asyncio.sleep(0.25)
            peak = max(peak, _rss(pid))
        print(f"{server.process.args[2]} {subprotocol}: RSS +{(peak - before) / 2**20:.1f} MB")
        assert peak - before <= MAX_GROWTH, f"RSS grew by {(peak - before) / 2**20:.0f} MB"
        assert "Dropped" in server.log()
    finally:
        client.close()
