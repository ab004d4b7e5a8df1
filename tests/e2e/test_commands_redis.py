"""The management commands across processes on a real redis-server.

A GraphQL subscriber on a live uvicorn server (``tests.redis_settings``: the
Redis pub/sub layer) receives what ``manage.py gql_send_group`` sends from
another process, and a session recorded by ``gql_listen_group`` in a third
process replays to it in order and with its timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from django_gql_channels.management.recording import parse_record
from tests.conftest import ROOT
from tests.management.test_commands import read_until

SETTINGS = "tests.redis_settings"
LAYER = "layer 'default' (channels_redis.pubsub.RedisPubSubChannelLayer)"
SUBSCRIPTION = 'subscription { onGroupMessage(group: "%s") { text n } }'


def command_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1"}


async def manage(redis_url: str, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", *args, cwd=ROOT, env=command_env(redis_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, out.decode(), err.decode()


async def subscribe(server, group: str) -> ClientConnection:
    """A graphql-transport-ws client subscribed to ``onGroupMessage(group)`` and known to be listening."""
    ws = await connect(f"{server.ws_url}/graphql", subprotocols=["graphql-transport-ws"], max_size=None)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION % group}}))
    # The server handles a socket's messages in order, and a subscription's only once it listens:
    # the pong says the subscription has joined its group (after its confirming null).
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {
        "id": "1", "type": "next", "payload": {"data": {"onGroupMessage": None}}}
    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}
    return ws


async def receive(ws: ClientConnection, timeout: float = 20) -> tuple[dict, float]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert message["type"] == "next" and message["id"] == "1", message
    return message["payload"], time.monotonic()


@pytest.fixture
def server(redis_url, live_server_factory):
    return live_server_factory(settings=SETTINGS, env={"REDIS_URL": redis_url})


async def test_gql_check_layer_round_trip_on_redis(redis_url):
    code, out, err = await manage(redis_url, "gql_check", "--check-layer")
    assert (code, err) == (0, "")
    line = out.splitlines()[-1]
    assert line.startswith(f"Layer round trip through {LAYER}: ")
    print(line)


async def test_a_subscriber_receives_what_gql_send_group_sends_from_another_process(server, redis_url):
    ws = await subscribe(server, "g1")
    try:
        code, out, err = await manage(redis_url, "gql_send_group", "g1", '{"type":"group.message","text":"hi","n":1}')
        assert (code, err) == (0, "")
        assert out.startswith("Sent 1 message to 1 group in ")
        payload, _ = await receive(ws)
        assert payload == {"data": {"onGroupMessage": {"text": "hi", "n": 1}}}
    finally:
        await ws.close()


async def test_a_recorded_session_replays_in_order_with_its_timing(server, redis_url, tmp_path: Path):
    # 1. A session: four messages to two groups, 0.4 s apart, sent by gql_send_group from its own process...
    script = tmp_path / "script.jsonl"
    script.write_text("".join(
        json.dumps({"group": group, "message": {"type": "group.message", "text": text, "n": n}, "at": 0.4 * n}) + "\n"
        for n, (group, text) in enumerate([("g1", "a"), ("g2", "skip"), ("g1", "b"), ("g1", "c")])))
    # 2. ...recorded by gql_listen_group in another one.
    recording = tmp_path / "recording.jsonl"
    listener = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "gql_listen_group", "g1", "g2", "--count", "4", "--timeout", "60",
        "--output", str(recording), cwd=ROOT, env=command_env(redis_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        ready = await asyncio.wait_for(listener.stderr.readline(), 30)
        assert ready.decode().startswith("Listening to g1, g2 through layer 'default' "
                                         "(channels_redis.pubsub.RedisPubSubChannelLayer)"), ready
        code, out, err = await manage(redis_url, "gql_send_group", "--file", str(script))
        assert (code, err) == (0, f"Replaying 4 messages over 1.2 s through {LAYER}; stop with Ctrl-C.\n"), err
        assert out.startswith("Sent 4 messages to 2 groups in ")
        _, rest = await asyncio.wait_for(listener.communicate(), 30)
    finally:
        if listener.returncode is None:
            listener.kill()
            await listener.wait()
    assert listener.returncode == 0, rest.decode()
    assert rest.decode().strip().endswith("(--count 4 reached).")
    records = [parse_record(line) for line in recording.read_text().splitlines()]
    assert [(r.group, r.message["text"]) for r in records] == [("g1", "a"), ("g2", "skip"), ("g1", "b"), ("g1", "c")]
    recorded_gaps = [b.at - a.at for a, b in zip(records, records[1:])]
    assert records[0].at == 0 and all(gap >= 0.2 for gap in recorded_gaps), recorded_gaps

    # 3. The recording replays from a third process to a GraphQL subscriber of g1: its three messages,
    # in order, with the recorded gaps (g1 "a" -> "b" spans two 0.4 s steps).
    ws = await subscribe(server, "g1")
    try:
        replay = asyncio.ensure_future(manage(redis_url, "gql_send_group", "--file", str(recording)))
        arrivals = [await receive(ws, 30) for _ in range(3)]
        code, out, err = await replay
        assert code == 0, err
    finally:
        await ws.close()
    assert [p["data"]["onGroupMessage"] for p, _ in arrivals] == [
        {"text": "a", "n": 0}, {"text": "b", "n": 2}, {"text": "c", "n": 3}]
    gaps = [b - a for (_, a), (_, b) in zip(arrivals, arrivals[1:])]
    assert gaps[0] >= 0.6 and gaps[1] >= 0.2, gaps  # recorded about 0.8 s and 0.4 s; lower bounds only
    print(f"recorded gaps {[round(g, 3) for g in recorded_gaps]}, replayed arrival gaps {[round(g, 3) for g in gaps]}")


async def test_replay_as_fast_as_possible_delivers_everything_in_order(server, redis_url, tmp_path: Path):
    count = 1000  # within SUBSCRIPTION_QUEUE_SIZE, so a momentarily slow reader cannot lose any
    path = tmp_path / "burst.jsonl"
    path.write_text("".join(json.dumps({"group": "burst", "message": {"type": "group.message", "n": n}}) + "\n"
                            for n in range(count)))
    ws = await subscribe(server, "burst")
    try:
        replay = asyncio.ensure_future(manage(redis_url, "gql_send_group", "--file", str(path), "--speed", "0"))
        received = [(await receive(ws, 30))[0]["data"]["onGroupMessage"]["n"] for _ in range(count)]
        code, out, err = await replay
    finally:
        await ws.close()
    assert (code, err) == (0, f"Replaying {count} messages as fast as possible through {LAYER}; stop with Ctrl-C.\n")
    assert received == list(range(count))
    assert out.startswith(f"Sent {count} messages to 1 group in ")
    print(out.strip())


async def test_ctrl_c_ends_a_recording_with_everything_written(redis_url, tmp_path: Path):
    recording = tmp_path / "recording.jsonl"
    listener = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "gql_listen_group", "news", "--output", str(recording), cwd=ROOT,
        env=command_env(redis_url), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        ready = await asyncio.wait_for(listener.stderr.readline(), 30)
        assert ready.decode().startswith("Listening to news"), ready
        for n in range(3):
            code, _, err = await manage(redis_url, "gql_send_group", "news", json.dumps({"type": "t", "n": n}))
            assert code == 0, err
        for _ in range(200):  # until the listener has written all three (it flushes every line)
            if recording.read_text().count("\n") == 3:
                break
            await asyncio.sleep(0.05)
        listener.send_signal(signal.SIGINT)  # as Ctrl-C does
        _, rest = await asyncio.wait_for(listener.communicate(), 30)
    finally:
        if listener.returncode is None:
            listener.kill()
            await listener.wait()
    assert listener.returncode == 0, rest.decode()
    assert "Traceback" not in rest.decode()
    assert rest.decode().strip().endswith("(stopped by signal).")
    assert [parse_record(line).message["n"] for line in recording.read_text().splitlines()] == [0, 1, 2]


def test_a_closed_output_pipe_ends_a_recording_quietly(redis_url):
    """``gql_listen_group g1 | head -n 1``: once the reader is gone the recording ends, without a traceback."""
    listener = subprocess.Popen([sys.executable, "manage.py", "gql_listen_group", "g1"], cwd=ROOT,
                                env=command_env(redis_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    try:
        before = read_until(listener.stderr, "Listening to g1")
        send = [sys.executable, "manage.py", "gql_send_group", "g1"]
        subprocess.run([*send, '{"type": "t", "n": 1}'], cwd=ROOT, env=command_env(redis_url), check=True,
                       capture_output=True, timeout=60)
        first = read_until(listener.stdout, "\n")
        listener.stdout.close()
        subprocess.run([*send, '{"type": "t", "n": 2}'], cwd=ROOT, env=command_env(redis_url), check=True,
                       capture_output=True, timeout=60)
        rest = listener.stderr.read().decode()
        listener.wait(30)
    finally:
        if listener.poll() is None:
            listener.kill()
    assert parse_record(first).message == {"type": "t", "n": 1}
    assert listener.returncode == 0, before + rest
    assert rest.strip().splitlines() == [
        f"Recorded 1 message from group 'g1' in {rest.split(' in ')[1].split(' s ')[0]} s (output closed)."]
