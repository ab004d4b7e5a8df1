"""``MODEL_EVENTS`` and ``model_events()``: saves and deletions of a real model reach subscribers.

The example's ``chat.Message`` is saved in the suite's SQLite file from the
kinds of sync code a project has (a view, a signal handler, a thread) and
from async code, and read by the example schema's ``storedChatMessages``
subscription through the whole application. Absence is never waited for:
where an event must not arrive, a later one must be the next to arrive.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.test import Client, override_settings
from django.utils import timezone

from django_gql_channels import broadcast
from django_gql_channels.channel_layer import ChannelsConsumer
from django_gql_channels.channel_layer.groups import memberships
from django_gql_channels.model_events import DELETED, SAVED, model_events
from django_gql_channels.publishing import safe_group_name
from django_gql_channels.routing import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from example_project.chat.models import Message
from tests.ws_support import group_inbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_layer")]

STORED = ("subscription ($room: String!) "
          "{ storedChatMessages(room: {roomName: $room}) { id roomName user message } }")


class Boom(Exception):
    pass


def save(room: str, text: str, user: str = "u") -> Message:
    with transaction.atomic():
        return Message.objects.create(room=room, user=user, text=text)


def as_stored(message: Message) -> dict:
    return {"id": str(message.pk), "roomName": message.room, "user": message.user, "message": message.text}


@contextlib.asynccontextmanager
async def subscribed(query: str, variables: dict):
    async with GraphQLWebsocketCommunicator(get_application(), "/graphql") as client:
        subscription = await client.subscribe(query, variables).start()
        yield client, subscription
        await subscription.complete()


async def next_data(subscription, field: str = "storedChatMessages"):
    while True:
        data = (await subscription.__anext__())["data"][field]
        if data is not None:  # the confirming null, once that reaches clients
            return data


# -- through the example schema -----------------------------------------------------------


async def test_a_committed_save_reaches_the_subscriber_as_stored():
    async with subscribed(STORED, {"room": "lobby"}) as (_, subscription):
        message = await sync_to_async(save)("lobby", "hello", "ada")
        assert await next_data(subscription) == as_stored(message)


async def test_rollbacks_send_nothing_and_nested_blocks_wait_for_the_outermost_commit():
    def work():
        with contextlib.suppress(Boom), transaction.atomic():
            Message.objects.create(room="tx", user="u", text="rolled back")
            raise Boom
        with contextlib.suppress(Boom), transaction.atomic():
            with transaction.atomic():
                Message.objects.create(room="tx", user="u", text="inner commit, outer rollback")
            raise Boom
        with transaction.atomic():
            with contextlib.suppress(Boom), transaction.atomic():
                Message.objects.create(room="tx", user="u", text="savepoint rolled back")
                raise Boom
            with transaction.atomic():
                inner = Message.objects.create(room="tx", user="u", text="inner")
            outer = Message.objects.create(room="tx", user="u", text="outer")
        return inner, outer

    async with subscribed(STORED, {"room": "tx"}) as (_, subscription):
        inner, outer = await sync_to_async(work)()
        assert [await next_data(subscription), await next_data(subscription)] == [as_stored(inner), as_stored(outer)]
    assert await Message.objects.filter(room="tx").acount() == 2


async def test_subscribers_get_the_row_as_committed_not_as_first_saved():
    def work():
        with transaction.atomic():
            message = Message.objects.create(room="reread", user="u", text="draft")
            message.text = "final"
            message.save()
        return message

    async with subscribed(STORED, {"room": "reread"}) as (_, subscription):
        message = await sync_to_async(work)()
        assert [await next_data(subscription), await next_data(subscription)] == [as_stored(message)] * 2


async def test_a_sync_django_view_publishes():
    async with subscribed(STORED, {"room": "view"}) as (_, subscription):
        with override_settings(ROOT_URLCONF="tests.publishing_urls"):
            response = await sync_to_async(Client().post)("/rooms/view/messages", {"text": "from a view"})
        assert response.status_code == 200
        assert await next_data(subscription) == {"id": str(response.json()["id"]), "roomName": "view",
                                                 "user": "view", "message": "from a view"}


async def test_a_plain_thread_publishes():
    def in_thread():
        try:
            save("thread", "from a thread")
        finally:
            connection.close()

    async with subscribed(STORED, {"room": "thread"}) as (_, subscription):
        thread = threading.Thread(target=in_thread)
        thread.start()
        await sync_to_async(thread.join, thread_sensitive=False)()
        assert (await next_data(subscription))["message"] == "from a thread"


async def test_a_signal_handler_broadcasts_after_the_commit():
    def welcome(sender, instance, created, **kwargs):
        if created:
            broadcast("news", {"type": "group.message", "text": f"welcome {instance.username}"})

    def work():
        user_model = get_user_model()
        with contextlib.suppress(Boom), transaction.atomic():
            user_model.objects.create_user("gone")
            raise Boom
        with transaction.atomic():
            user_model.objects.create_user("kept")

    post_save.connect(welcome, sender=get_user_model(), dispatch_uid="test-welcome")
    try:
        async with subscribed('subscription { onGroupMessage(group: "news") { text } }', {}) as (_, subscription):
            await sync_to_async(work)()
            assert await next_data(subscription, "onGroupMessage") == {"text": "welcome kept"}
    finally:
        post_save.disconnect(sender=get_user_model(), dispatch_uid="test-welcome")


async def test_async_code_publishes_with_the_async_orm_and_the_mutation():
    async with subscribed(STORED, {"room": "async"}) as (client, subscription):
        message = await Message.objects.acreate(room="async", user="a", text="acreate")
        assert await next_data(subscription) == as_stored(message)

        result = await client.execute('mutation { postChatMessage(room: {roomName: "async"}, message: "posted", '
                                      'user: "ada") { id roomName user message } }')
        posted = result["data"]["postChatMessage"]
        assert posted["message"] == "posted" and posted["user"] == "ada"
        assert await next_data(subscription) == posted
        history = await client.execute('{ chatHistory(room: {roomName: "async"}) { message } }')
        assert history == {"data": {"chatHistory": [{"message": "acreate"}, {"message": "posted"}]}}


async def test_post_chat_message_also_reaches_the_chat_tutorial_subscribers():
    join = 'subscription { joinChatRooms(rooms: [{roomName: "both"}], user: "ada") { roomName message } }'
    async with subscribed(join, {}) as (client, chat):
        assert "Hello, my name is ada!" in (await next_data(chat, "joinChatRooms"))["message"]
        await client.execute('mutation { postChatMessage(room: {roomName: "both"}, message: "stored") { id } }')
        assert await next_data(chat, "joinChatRooms") == {"roomName": "chat_both", "message": "stored"}


async def test_room_names_that_are_no_group_names_still_reach_their_subscribers():
    async with subscribed(STORED, {"room": "the lobby!"}) as (_, subscription):
        message = await sync_to_async(save)("the lobby!", "spaces")
        assert await next_data(subscription) == as_stored(message)


# -- model_events() itself ----------------------------------------------------------------


@pytest.fixture
async def consumer():
    consumer = ChannelsConsumer()
    yield consumer
    await consumer.close_channel_layer()


async def listening(stream):
    assert await anext(stream) is None
    return stream


async def test_saves_and_deletions_with_the_pk_of_the_deleted_row(consumer, clean_layer):
    stream = await listening(model_events(consumer, "chat.Message", fields={"room": "del"}))
    message = await sync_to_async(save)("del", "x")
    saved = await anext(stream)
    assert (saved.type, saved.model, saved.pk, saved.created, saved.deleted) == (
        SAVED, "chat.message", message.pk, True, False)
    assert saved.instance == message and saved.instance.text == "x"
    pk = message.pk
    await sync_to_async(message.delete)()
    deleted = await anext(stream)
    assert (deleted.type, deleted.pk, deleted.created, deleted.instance, deleted.deleted) == (
        DELETED, pk, False, None, True)
    await stream.aclose()
    assert memberships() == [] and clean_layer.groups == {}


async def test_a_save_whose_row_is_gone_when_read_is_skipped_for_its_deletion(consumer):
    stream = await listening(model_events(consumer, Message, fields={"room": "gone"}))
    message = await sync_to_async(save)("gone", "x")
    pk = message.pk
    await sync_to_async(message.delete)()
    event = await anext(stream)
    assert (event.type, event.pk) == (DELETED, pk)
    await stream.aclose()


async def test_pk_queryset_and_model_filters(consumer):
    first, second = await sync_to_async(save)("f", "1"), await sync_to_async(save)("f", "2")
    by_pk = await listening(model_events(consumer, "chat.Message", pk=second.pk, fields={"room": "f"}))
    by_queryset = await listening(model_events(consumer, "chat.Message", fields={"room": "f"},
                                               queryset=Message.objects.filter(user="ann")))
    await sync_to_async(broadcast)(safe_group_name("chat_log_f"), {
        "type": SAVED, "model": "other.model", "pk": second.pk, "created": False})
    await sync_to_async(first.save)()
    await sync_to_async(second.save)()
    ann = await sync_to_async(save)("f", "3", user="ann")
    event = await anext(by_pk)
    assert (event.pk, event.created, event.instance.text) == (second.pk, False, "2")
    event = await anext(by_queryset)
    assert (event.pk, event.created, event.instance.user) == (ann.pk, True, "ann")
    await by_pk.aclose()
    await by_queryset.aclose()


async def test_an_explicit_group_and_reload_false(consumer):
    message = await sync_to_async(save)("g", "x")
    stream = await listening(model_events(consumer, "chat.Message", group="hand made", reload=False))
    await sync_to_async(broadcast)(safe_group_name("hand made"),
                                   {"type": SAVED, "model": "chat.message", "pk": message.pk, "created": False})
    event = await anext(stream)
    assert (event.pk, event.instance) == (message.pk, None)
    await stream.aclose()


async def test_what_model_events_cannot_guess_is_an_error(consumer):
    with pytest.raises(ImproperlyConfigured, match="auth.User is not in"):
        await anext(model_events(consumer, "auth.User"))
    with pytest.raises(ValueError, match="pass pk= or fields= with room, or group="):
        await anext(model_events(consumer, "chat.Message", pk=1))
    with pytest.raises(RuntimeError, match='info.context\\["ws"\\]'):
        await anext(model_events(object(), "chat.Message", group="g"))


# -- the setting and its signals ----------------------------------------------------------


def room_groups(instance):
    return [f"room_{instance.room}", "everyone"]


def broken_groups(instance):
    raise Boom("no groups today")


def events_setting(value):
    return override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "MODEL_EVENTS": value})


async def test_signals_are_connected_for_the_listed_models_and_follow_the_setting():
    def listening_to_messages():
        return post_save.has_listeners(Message), post_delete.has_listeners(Message)

    assert listening_to_messages() == (True, True)
    assert not post_save.has_listeners(get_user_model())
    with events_setting({}):
        assert listening_to_messages() == (False, False)
    assert listening_to_messages() == (True, True)


async def test_callables_and_lists_of_groups_receive_the_contract_message(clean_layer):
    value = {"chat.Message": ["tests.test_model_events.room_groups", "chat_all", room_groups]}
    with events_setting(value):
        inboxes = [await group_inbox(clean_layer, g) for g in ("room_k", "everyone", "chat_all")]
        message = await sync_to_async(save)("k", "x")
        expected = {"type": "model.saved", "model": "chat.message", "pk": message.pk, "created": True}
        assert [await inbox() for inbox in inboxes] == [expected] * 3
        await sync_to_async(message.delete)()
        assert await inboxes[0]() == {**expected, "type": "model.deleted", "created": False}


async def test_a_failing_group_callable_is_logged_and_the_save_stands(clean_layer, caplog):
    caplog.set_level(logging.ERROR, "django_gql_channels.model_events")
    with events_setting({"chat.Message": "tests.test_model_events.broken_groups"}):
        message = await sync_to_async(save)("broken", "x")
    assert await Message.objects.filter(pk=message.pk).aexists()
    assert "Finding the model.saved groups of chat.message" in caplog.text
    assert "no groups today" in caplog.text


async def test_raw_saves_and_bulk_operations_send_nothing_but_queryset_delete_does(clean_layer):
    inbox = await group_inbox(clean_layer, "chat_log_bulk")

    def work():
        with transaction.atomic():
            Message(room="bulk", user="u", text="fixture", created_at=timezone.now()).save_base(raw=True)
            rows = Message.objects.bulk_create([Message(room="bulk", user="u", text=str(i)) for i in range(2)])
            Message.objects.filter(room="bulk").update(text="updated")
            Message.objects.filter(room="bulk").delete()
        return rows

    rows = await sync_to_async(work)()
    received = [await inbox(), await inbox(), await inbox()]
    assert [m["type"] for m in received] == [DELETED] * 3
    assert {m["pk"] for m in received} >= {row.pk for row in rows}


def test_valid_forms_pass_the_checks():
    value = {"chat.Message": ["chat_log_{room}", "chat.all", "tests.test_model_events.room_groups",
                              "x_{user}_{created_at:%Y}_{pk}", "by_{id}"]}
    with events_setting(value):
        assert [m for m in checks.run_checks() if m.id and m.id.startswith("gql_channels.")] == []
