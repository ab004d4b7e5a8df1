"""Live queries across processes: a uvicorn server on a real Redis, changes made by ``manage.py shell``.

The server and every ``manage.py shell`` read the test process's SQLite file.
Before a change is made the test waits until Redis counts a subscriber of the
model's group (``gql_live.todos.todo``), so the server listens when it is sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest
import redis.asyncio
from django.db import connection
from websockets.asyncio.client import connect

from tests.conftest import ROOT
from tests.e2e.conftest import run_node
from tests.e2e.test_publishing_redis import wait_until_redis_counts_a_listener
from tests.todos.models import Todo

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10
QUIET = 1.0
GROUP = "gql_live.todos.todo"
TODOS = "query Todos @live { todos { id title done } }"


@pytest.fixture
def env(redis_url, transactional_db):
    return {"REDIS_URL": redis_url, "GQL_TEST_DATABASE": connection.settings_dict["NAME"]}


@pytest.fixture
def live(env, live_server_factory):
    return live_server_factory(server="uvicorn", settings="tests.e2e.live_settings", env=env)


def shell(env: dict[str, str], code: str) -> str:
    """Run ``code`` in ``manage.py shell``: another process, on the same database and Redis; its output."""
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, check=True, timeout=60,
                   env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "tests.e2e.live_settings",
                        "PYTHONPATH": str(ROOT)}, capture_output=True, text=True).stdout


async def recv(ws, timeout: float = WAIT) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def open_live(live, query: str = TODOS, variables=None):
    ws = await connect(f"{live.ws_url}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=WAIT)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert await recv(ws) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
    return ws


async def titles(ws, timeout: float = WAIT) -> list[str]:
    message = await recv(ws, timeout)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    return [todo["title"] for todo in message["payload"]["data"]["todos"]]


async def nothing_arrives(ws) -> None:
    try:
        message = await asyncio.wait_for(ws.recv(), QUIET)
    except TimeoutError:
        return
    raise AssertionError(f"received {message}")


async def listeners(redis_url: str) -> int:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        channel = f"asgi__group__{GROUP}"
        return dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0)
    finally:
        await client.aclose()


async def test_a_create_in_another_process_delivers_the_new_result(live, env, redis_url):
    await asyncio.to_thread(Todo.objects.create, title="before")
    ws = await open_live(live)
    try:
        assert await titles(ws) == ["before"]
        await wait_until_redis_counts_a_listener(redis_url, GROUP)
        shelled = asyncio.ensure_future(asyncio.to_thread(shell, env, (
            "import time; from tests.todos.models import Todo; before = time.time(); "
            "Todo.objects.create(title='shell'); print(before, time.time())")))
        assert await titles(ws) == ["before", "shell"]
        received = time.time()
        before, committed = map(float, (await shelled).split()[-2:])
        # Figures, not assertions (the save returns once its message is published).
        print(f"delivered {received - before:.3f} s after the save started, {received - committed:+.3f} s "
              "after it returned")
    finally:
        await ws.close()


async def test_unrelated_or_unselected_changes_deliver_nothing_and_rollback_neither(live, env, redis_url):
    todo = await asyncio.to_thread(Todo.objects.create, title="same")
    ws = await open_live(live)
    try:
        assert await titles(ws) == ["same"]
        await wait_until_redis_counts_a_listener(redis_url, GROUP)
        await asyncio.to_thread(shell, env, (
            "from django.db import transaction\n"
            "from tests.todos.models import Note, Todo\n"
            "Note.objects.create(text='unrelated')\n"
            f"t = Todo.objects.get(pk={todo.pk}); t.touched += 1; t.save()\n"
            "try:\n"
            "    with transaction.atomic():\n"
            "        Todo.objects.create(title='rolled back')\n"
            "        raise RuntimeError\n"
            "except RuntimeError:\n"
            "    pass\n"))
        await nothing_arrives(ws)
    finally:
        await ws.close()


async def test_twenty_quick_saves_deliver_a_few_results_the_last_current(live, env, redis_url):
    todo = await asyncio.to_thread(Todo.objects.create, title="v0")
    ws = await open_live(live)
    try:
        assert await titles(ws) == ["v0"]
        await wait_until_redis_counts_a_listener(redis_url, GROUP)
        await asyncio.to_thread(shell, env, (
            "from tests.todos.models import Todo\n"
            f"t = Todo.objects.get(pk={todo.pk})\n"
            "for n in range(1, 21):\n"
            "    t.title = f'v{n}'; t.save()\n"))
        seen = []
        while not seen or seen[-1] != ["v20"]:
            seen.append(await titles(ws))
        assert len(seen) < 20, seen
        await nothing_arrives(ws)
    finally:
        await ws.close()


async def test_invalidate_from_sync_code_in_another_process(live, env, redis_url):
    await asyncio.to_thread(Todo.objects.create, title="raw")
    ws = await open_live(live)
    try:
        assert await titles(ws) == ["raw"]
        await wait_until_redis_counts_a_listener(redis_url, GROUP)
        await asyncio.to_thread(shell, env, (
            "from django.db import connection\n"
            "from django_gql_channels import invalidate\n"
            "with connection.cursor() as cursor:\n"
            "    cursor.execute(\"UPDATE todos_todo SET title = 'behind the ORM'\")\n"
            "invalidate('todos.Todo')\n"))
        assert await titles(ws) == ["behind the ORM"]
    finally:
        await ws.close()


async def test_a_client_going_away_leaves_the_group(live, env, redis_url):
    ws = await open_live(live)
    assert await titles(ws) == []
    await wait_until_redis_counts_a_listener(redis_url, GROUP)
    await ws.close()
    deadline = time.monotonic() + WAIT
    while await listeners(redis_url):
        assert time.monotonic() < deadline, "the server still listens to the group"
        await asyncio.sleep(0.05)
    # The server still serves new live queries afterwards.
    again = await open_live(live)
    try:
        assert await titles(again) == []
    finally:
        await again.close()


async def test_after_a_redis_restart_each_live_query_reruns_once(redis_server, live_server_factory, env):
    """Changes made while the layer is down are lost; the re-run when it is back catches up."""
    live = live_server_factory(server="uvicorn", settings="tests.e2e.live_settings",
                               env={**env, "REDIS_URL": redis_server.url})
    ws = await open_live(live)
    try:
        assert await titles(ws) == []
        await wait_until_redis_counts_a_listener(redis_server.url, GROUP)
        await nothing_arrives(ws)  # the re-run after joining is over
        redis_server.kill()
        # This process has LIVE_QUERIES off: the row appears and nobody is told, as when a message is lost.
        await asyncio.to_thread(Todo.objects.create, title="during the outage")
        await asyncio.sleep(QUIET)
        redis_server.restart()
        # The re-run that ends the outage for this server (it may see the end of the outage
        # early, through a receiver's re-join) brings the client up to date.
        assert await titles(ws) == ["during the outage"]
    finally:
        await ws.close()


def test_the_npm_clients_run_live_queries(live, node_modules):
    """graphql-ws, subscriptions-transport-ws and graphql-sse (both modes) as they are; plain HTTP refuses."""
    from django_gql_channels.engine import LIVE_OVER_HTTP

    done = run_node("live_query_clients.mjs", f"{live.url}/graphql", f"{live.ws_url}/graphql")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = json.loads(lines[-1])
    added: list[str] = []
    for client in ("subscriptions-transport-ws", "graphql-ws", "graphql-sse distinct", "graphql-sse single"):
        first, second = out[client]
        assert first == {"data": {"todos": [{"title": title} for title in added]}}, (client, out)
        added.append(f"from {client}")
        assert second == {"data": {"todos": [{"title": title} for title in added]}}, (client, out)
    assert [error["message"] for error in out["http"]["errors"]] == [LIVE_OVER_HTTP]
