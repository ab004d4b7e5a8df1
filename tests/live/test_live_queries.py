"""Live queries (``LIVE_QUERIES``) in process: real consumers, the in-memory layer, a SQLite file database.

Raw ``graphql-transport-ws`` frames, so every ``next`` the server sends is
seen; "nothing delivered" is ``receive_nothing`` over a window several times
the throttle.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import override_settings

from django_gql_channels import GraphQLWSConsumer, ainvalidate, invalidate
from django_gql_channels.channel_layer.groups import memberships
from django_gql_channels.conf import gql_settings
from django_gql_channels.live.watching import heartbeats
from django_gql_channels.operations import live_queries
from tests.todos.models import Note, Todo

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = "tests.todos.schema.schema"
THROTTLE = 0.05
QUIET = 0.4  # "nothing arrives" window
TODOS = "query Todos @live { todos { id title done } }"


def live_settings(**extra):
    return override_settings(GQL_CHANNELS={
        **gql_settings.user_settings, "SCHEMA": SCHEMA, "LIVE_QUERIES": True, "SYNC_EXECUTION": True,
        "LIVE_QUERY_THROTTLE": THROTTLE, **extra})


@pytest.fixture
def live_on(clean_layer):
    with live_settings():
        yield


def app():
    from tests.todos.schema import schema

    return GraphQLWSConsumer.as_asgi(schema=schema)


@contextlib.asynccontextmanager
async def socket(application=None):
    ws = WebsocketCommunicator(application or app(), "/graphql", subprotocols=["graphql-transport-ws"])
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "connection_init"})
    assert await ws.receive_json_from() == {"type": "connection_ack"}
    try:
        yield ws
    finally:
        await ws.disconnect()


async def start(ws, query=TODOS, op_id="1", variables=None):
    await ws.send_json_to({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})


async def next_payload(ws, op_id="1", timeout=3):
    message = await ws.receive_json_from(timeout=timeout)
    assert message["type"] == "next" and message["id"] == op_id, message
    return message["payload"]


async def titles(ws, op_id="1"):
    payload = await next_payload(ws, op_id)
    assert "errors" not in payload, payload
    return [todo["title"] for todo in payload["data"]["todos"]]


create = sync_to_async(Todo.objects.create)


async def test_initial_result_then_a_new_one_when_a_todo_is_created(live_on):
    await create(title="first")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["first"]
        await create(title="second")
        assert await titles(ws) == ["first", "second"]
        assert await ws.receive_nothing(QUIET)


async def test_a_save_of_an_unrelated_model_or_of_unselected_fields_delivers_nothing(live_on):
    todo = await create(title="only")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["only"]
        await sync_to_async(Note.objects.create)(text="unrelated")
        todo.touched += 1
        await sync_to_async(todo.save)()
        assert await ws.receive_nothing(QUIET)
        todo.title = "renamed"
        await sync_to_async(todo.save)()
        assert await titles(ws) == ["renamed"]


async def test_a_query_by_pk_reruns_for_its_row_only(live_on):
    mine, other = await create(title="mine"), await create(title="other")
    async with socket() as ws:
        await start(ws, "query One($id: ID!) @live { todo(id: $id) { title } }", variables={"id": mine.pk})
        assert (await next_payload(ws))["data"] == {"todo": {"title": "mine"}}
        assert await ws.receive_nothing(QUIET)  # the re-run after joining the group sends nothing new
        runs = live_query_runs()
        other.title = "other, renamed"
        await sync_to_async(other.save)()
        await create(title="new")
        assert await ws.receive_nothing(QUIET)
        assert live_query_runs() == runs  # not even re-run
        mine.title = "mine, renamed"
        await sync_to_async(mine.save)()
        assert (await next_payload(ws))["data"] == {"todo": {"title": "mine, renamed"}}


def live_query_runs():
    return sum(live.runs for live in live_queries.running_live_queries())


async def test_a_burst_of_saves_gives_a_few_results_the_last_one_current(live_on):
    todo = await create(title="v0")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["v0"]

        def burst():
            for n in range(1, 21):
                todo.title = f"v{n}"
                todo.save()

        await sync_to_async(burst)()
        seen = []
        while not seen or seen[-1] != ["v20"]:
            seen.append(await titles(ws))
        assert len(seen) < 20
        assert await ws.receive_nothing(QUIET)


async def test_invalidate_from_sync_code_reruns(live_on):
    await create(title="raw")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["raw"]

        def raw_update():
            from django.db import connection

            with connection.cursor() as cursor:  # the ORM sees no save
                cursor.execute("UPDATE todos_todo SET title = 'changed behind the ORM'")
            invalidate("todos.Todo")

        await sync_to_async(raw_update)()
        assert await titles(ws) == ["changed behind the ORM"]


async def test_ainvalidate_of_another_row_or_model_does_not_rerun_a_pk_query(live_on):
    mine = await create(title="mine")
    async with socket() as ws:
        await start(ws, "query One($id: ID!) @live { todo(id: $id) { title } }", variables={"id": mine.pk})
        await next_payload(ws)
        assert await ws.receive_nothing(QUIET)
        runs = live_query_runs()
        await ainvalidate(f"todos.Todo:{mine.pk + 1}", "todos.Note")
        assert await ws.receive_nothing(QUIET)
        assert live_query_runs() == runs
        await sync_to_async(Todo.objects.filter(pk=mine.pk).update)(title="updated")  # no signal
        await ainvalidate(f"todos.Todo:{mine.pk}")
        assert (await next_payload(ws))["data"] == {"todo": {"title": "updated"}}


async def test_a_rolled_back_save_delivers_nothing(live_on):
    await create(title="kept")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["kept"]
        assert await ws.receive_nothing(QUIET)  # the re-run after joining the group
        runs = live_query_runs()

        def rolled_back():
            with contextlib.suppress(RuntimeError), transaction.atomic():
                Todo.objects.create(title="never")
                raise RuntimeError

        await sync_to_async(rolled_back)()
        assert await ws.receive_nothing(QUIET)
        assert live_query_runs() == runs  # not even re-run


async def test_a_deletion_reruns(live_on):
    todo = await create(title="doomed")
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == ["doomed"]
        await sync_to_async(todo.delete)()
        assert await titles(ws) == []


async def test_complete_stops_the_live_query_and_leaves_its_groups(live_on):
    async with socket() as ws:
        await start(ws)
        assert await titles(ws) == []
        assert [m.group for m in memberships()] == ["gql_live.todos.todo"]
        await ws.send_json_to({"id": "1", "type": "complete"})
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        assert memberships() == []
        assert live_queries.running_live_queries() == []


async def test_a_client_going_away_leaves_no_group_or_task(live_on):
    tasks_before = len(asyncio.all_tasks())
    async with socket() as ws:
        await start(ws)
        await start(ws, "query Count @live { count }", op_id="2")
        await next_payload(ws)
        await next_payload(ws, "2")
        assert len(memberships()) == 1
    await asyncio.sleep(0.05)
    assert memberships() == []
    assert live_queries.running_live_queries() == []
    assert heartbeats() == []
    assert len(asyncio.all_tasks()) <= tasks_before


async def test_shared_live_queries_run_once_per_change(clean_layer):
    with live_settings(SHARED_SUBSCRIPTION_RESULTS=True):
        application = app()
        async with socket(application) as first, socket(application) as second:
            await start(first)
            await start(second)
            assert await titles(first) == [] and await titles(second) == []
            assert await first.receive_nothing(QUIET)
            (shared,) = live_queries.live_queries()
            assert len(shared.subscribers) == 2
            runs = shared.runs
            await create(title="one")
            assert await titles(first) == ["one"] and await titles(second) == ["one"]
            assert shared.runs == runs + 1
        assert live_queries.live_queries() == []
        assert memberships() == []


async def test_the_per_connection_limit_counts_live_queries(clean_layer):
    with live_settings(MAX_OPERATIONS_PER_CONNECTION=1):
        async with socket() as ws:
            await start(ws)
            await next_payload(ws)
            await start(ws, op_id="2")
            message = await ws.receive_json_from()
            assert message["id"] == "2" and message["type"] == "error", message


async def test_without_live_queries_live_is_an_unknown_directive(clean_layer):
    with override_settings(GQL_CHANNELS={**gql_settings.user_settings, "SCHEMA": SCHEMA, "SYNC_EXECUTION": True}):
        async with socket() as ws:
            await start(ws)
            message = await ws.receive_json_from()
            assert message["type"] == "error"
            assert "Unknown directive '@live'" in message["payload"][0]["message"]


async def test_reads_in_database_sync_to_async_are_tracked_without_sync_execution(clean_layer):
    with live_settings(SYNC_EXECUTION=False):
        async with socket() as ws:
            await start(ws, "query Async @live { asyncTodos { title } }")
            assert (await next_payload(ws))["data"] == {"asyncTodos": []}
            await create(title="async")
            assert (await next_payload(ws))["data"] == {"asyncTodos": [{"title": "async"}]}


async def test_record_read_and_invalidate_for_data_outside_the_database(live_on):
    from django.core.cache import cache

    cache.set("motd", "hello")
    async with socket() as ws:
        await start(ws, 'query Cached @live { cached(key: "motd") }')
        assert (await next_payload(ws))["data"] == {"cached": "hello"}
        cache.set("motd", "changed")
        await ainvalidate("todos.Note")
        assert (await next_payload(ws))["data"] == {"cached": "changed"}


async def test_the_directive_throttle_may_only_lengthen_the_interval(live_on):
    from django_gql_channels.engine import get_engine

    engine = get_engine()
    slow = engine.prepare("query Slow @live(throttle: 500) { count }")
    fast = engine.prepare("query Fast @live(throttle: 1) { count }")
    assert live_queries.throttle_for(slow, None) == 0.5
    assert live_queries.throttle_for(fast, None) == THROTTLE


async def test_a_failing_live_query_gets_its_error_and_ends(live_on, monkeypatch):
    from django_gql_channels.live import Watch

    async def unreachable(self, read_set):
        raise RuntimeError("the layer is not there")

    monkeypatch.setattr(Watch, "follow", unreachable)
    async with socket() as ws:
        await start(ws)
        message = await ws.receive_json_from()
        assert message["type"] == "error" and message["id"] == "1", message
        assert message["payload"][0]["message"] == "the layer is not there"
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
    assert live_queries.running_live_queries() == []


async def test_a_root_field_may_opt_its_live_queries_out_of_sharing(clean_layer):
    from tests.todos.schema import schema

    field = schema.query_type.fields["count"]
    field.extensions = {**(field.extensions or {}), "shared_results": False}
    try:
        with live_settings(SHARED_SUBSCRIPTION_RESULTS=True):
            application = app()
            async with socket(application) as first, socket(application) as second:
                await start(first, "query Count @live { count }")
                await start(second, "query Count @live { count }")
                await next_payload(first)
                await next_payload(second)
                assert live_queries.live_queries() == []
                assert len(live_queries.running_live_queries()) == 2
    finally:
        field.extensions = {k: v for k, v in field.extensions.items() if k != "shared_results"}


async def test_saves_through_a_proxy_or_a_child_model_rerun_queries_of_the_table_they_write(live_on):
    from tests.todos.models import ClientProject, OpenTodo

    async with socket() as ws:
        await start(ws)
        await start(ws, "query Projects @live { projects }", op_id="2")
        assert await titles(ws) == []
        assert (await next_payload(ws, "2"))["data"] == {"projects": []}
        await sync_to_async(OpenTodo.objects.create)(title="through a proxy")
        assert await titles(ws) == ["through a proxy"]
        await sync_to_async(ClientProject.objects.create)(name="child", client="c")
        assert (await next_payload(ws, "2"))["data"] == {"projects": ["child"]}
        assert await ws.receive_nothing(QUIET)
        runs = live_query_runs()
        await ainvalidate("todos.OpenTodo")  # a proxy's label names its concrete model's data
        assert await ws.receive_nothing(QUIET)  # re-run, same result: nothing sent
        assert live_query_runs() == runs + 1


async def test_with_metrics_live_queries_and_their_runs_are_counted(clean_layer):
    from tests.observability_support import Samples, sample

    runs = Samples(("gql_channels_live_query_runs_total", {}), ("gql_channels_subscription_events_total", {}))
    with live_settings(METRICS=True):
        running = sample("gql_channels_live_queries")
        async with socket() as ws:
            await start(ws)
            assert await titles(ws) == []
            assert sample("gql_channels_live_queries") == running + 1
            await create(title="counted")
            assert await titles(ws) == ["counted"]
            await ws.send_json_to({"id": "1", "type": "complete"})
            await ws.send_json_to({"type": "ping"})
            assert await ws.receive_json_from() == {"type": "pong"}
        assert sample("gql_channels_live_queries") == running
    added_runs, added_events = runs.added()
    # The first run, the one after joining its groups, the one for the save: two results sent.
    assert added_runs >= 2 and added_events == 2
