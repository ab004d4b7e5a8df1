"""Latency per keep-alive connection: is any of the load's connections starved?

``wrk`` reports one latency distribution for all its connections. A server
that serves its connections unevenly (some wait several turns while others
are answered at once) shows that only as a long tail. This client keeps
``connections`` keep-alive connections busy as ``wrk`` does (each sends its
next request as soon as its answer is complete), from one thread with
``selectors`` so it costs little CPU, and keeps every connection's
latencies apart.

A tail that all connections share is the server's (a pause, a burst of
work); one that a few connections carry is unfair scheduling.
"""

from __future__ import annotations

import selectors
import socket
import statistics
import time
from dataclasses import dataclass, field

__all__ = ["ConnectionLatencies", "drive", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class ConnectionLatencies:
    """Each connection's latencies in seconds, in the order it got its answers."""

    per_connection: list[list[float]] = field(default_factory=list)
    bad: int = 0

    @property
    def all(self) -> list[float]:
        return [latency for one in self.per_connection for latency in one]

    def summary(self) -> dict[str, float]:
        """Overall p50/p99 (ms), and how unevenly the connections were served."""
        everything = self.all
        counts = [len(one) for one in self.per_connection]
        p99s = [percentile(one, 0.99) for one in self.per_connection if one]
        p50s = [percentile(one, 0.5) for one in self.per_connection if one]
        return {
            "requests": len(everything),
            "p50_ms": percentile(everything, 0.5) * 1e3,
            "p99_ms": percentile(everything, 0.99) * 1e3,
            "fewest_requests": min(counts, default=0),
            "most_requests": max(counts, default=0),
            "conn_p50_spread": (max(p50s) / min(p50s)) if p50s and min(p50s) else 0.0,
            "conn_p99_min_ms": min(p99s, default=0.0) * 1e3,
            "conn_p99_max_ms": max(p99s, default=0.0) * 1e3,
            "conn_p99_median_ms": (statistics.median(p99s) if p99s else 0.0) * 1e3,
        }


def _request_bytes(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _complete(buffer: bytearray) -> int:
    """The length of the first complete response in ``buffer`` (Content-Length or chunked), or 0."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = bytes(buffer[:end]).lower()
    start = head.find(b"content-length:")
    if start < 0:
        if b"transfer-encoding: chunked" not in head:
            raise ValueError(f"response without Content-Length or chunks: {head[:200]!r}")
        last = buffer.find(b"\r\n0\r\n\r\n", end)  # JSON bodies never hold this sequence
        return last + 7 if last >= 0 else 0
    length = int(head[start + 15:].split(b"\r\n", 1)[0])
    total = end + 4 + length
    return total if len(buffer) >= total else 0


def drive(port: int, path: str, body: bytes, *, connections: int = 16, seconds: float = 5.0,
          warmup: float = 1.0) -> ConnectionLatencies:
    """Keep ``connections`` busy for ``warmup`` + ``seconds``; latencies of the last ``seconds`` only."""
    request = _request_bytes(path, body)
    selector = selectors.DefaultSelector()
    result = ConnectionLatencies([[] for _ in range(connections)])
    started: list[float] = [0.0] * connections
    buffers = [bytearray() for _ in range(connections)]
    sockets = []
    for index in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        sockets.append(sock)
        selector.register(sock, selectors.EVENT_READ, index)
    now = time.perf_counter()
    measure_from = now + warmup
    deadline = measure_from + seconds
    try:
        for index, sock in enumerate(sockets):
            started[index] = time.perf_counter()
            sock.sendall(request)
        while time.perf_counter() < deadline:
            for key, _ in selector.select(timeout=1.0):
                index = key.data
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not chunk:
                    raise ConnectionError("the server closed a keep-alive connection")
                buffer = buffers[index]
                buffer += chunk
                size = _complete(buffer)
                if not size:
                    continue
                finished = time.perf_counter()
                if b" 200 " not in bytes(buffer[:16]):
                    result.bad += 1
                del buffer[:size]
                if started[index] >= measure_from:
                    result.per_connection[index].append(finished - started[index])
                started[index] = time.perf_counter()
                key.fileobj.sendall(request)  # type: ignore[union-attr]
    finally:
        for sock in sockets:
            selector.unregister(sock)
            sock.close()
        selector.close()
    return result
