"""The example schema, written with plain graphql-core types.

``hello`` and ``items`` serve the HTTP benchmarks; ``joinChatRooms`` and
``sendChatMessage`` are the chat tutorial; ``postChatMessage``,
``chatHistory`` and ``storedChatMessages`` store chat messages and announce
them through ``MODEL_EVENTS``; ``onGroupMessage`` feeds the subscription
fan-out benchmark.
"""

import asyncio
import os
from contextlib import aclosing

from channels.db import database_sync_to_async
from django.db import transaction
from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from django_gql_channels import Upload, abroadcast, broadcast
from django_gql_channels.model_events import model_events


def nonnull(type_):
    return GraphQLNonNull(type_)


def list_of(type_):
    return GraphQLNonNull(GraphQLList(GraphQLNonNull(type_)))


Item = GraphQLObjectType("Item", {
    "id": GraphQLField(nonnull(GraphQLID)),
    "name": GraphQLField(nonnull(GraphQLString)),
    "tags": GraphQLField(list_of(GraphQLString)),
})

ITEMS = [{"id": str(i), "name": f"item {i}", "tags": ["red", "green", f"t{i % 7}"]} for i in range(1000)]


def resolve_user(_root, info):
    request = info.context["request"]
    scope = getattr(request, "scope", None) or getattr(getattr(request, "consumer", None), "scope", {})
    user = scope.get("user")
    return None if user is None or not user.is_authenticated else user.get_username()


def resolve_header(_root, info, name):
    request = info.context["request"]
    scope = getattr(request, "scope", None) or request.consumer.scope
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key == wanted:
            return value.decode("latin-1")
    return None


async def resolve_slow(_root, _info, seconds):
    await asyncio.sleep(seconds)
    return seconds


def resolve_fail(_root, _info):
    raise ValueError("This field always fails.")


ChatRoom = GraphQLInputObjectType("ChatRoom", {"roomName": GraphQLInputField(nonnull(GraphQLString))})

StoredChatMessage = GraphQLObjectType("StoredChatMessage", {
    "id": GraphQLField(nonnull(GraphQLID)),
    "roomName": GraphQLField(nonnull(GraphQLString), resolve=lambda stored, _info: stored.room),
    "user": GraphQLField(nonnull(GraphQLString)),
    "message": GraphQLField(nonnull(GraphQLString), resolve=lambda stored, _info: stored.text),
    "createdAt": GraphQLField(nonnull(GraphQLString), resolve=lambda stored, _info: stored.created_at.isoformat()),
})


@database_sync_to_async
def chat_history(_root, _info, room, last):
    from example_project.chat.models import Message

    newest = Message.objects.filter(room=room["roomName"]).order_by("-created_at", "-id")[:max(0, min(last, 500))]
    return list(reversed(newest))


Query = GraphQLObjectType("Query", {
    "hello": GraphQLField(
        nonnull(GraphQLString),
        args={"name": GraphQLArgument(GraphQLString, default_value="world")},
        resolve=lambda _root, _info, name: f"Hello, {name}!",
    ),
    "items": GraphQLField(
        list_of(Item),
        args={"n": GraphQLArgument(nonnull(GraphQLInt), default_value=10)},
        resolve=lambda _root, _info, n: ITEMS[:max(0, min(n, len(ITEMS)))],
    ),
    "me": GraphQLField(GraphQLString, resolve=resolve_user,
                       description="The signed-in user's name, or null."),
    "header": GraphQLField(GraphQLString, args={"name": GraphQLArgument(nonnull(GraphQLString))},
                           resolve=resolve_header),
    "connectionParam": GraphQLField(
        GraphQLString, args={"key": GraphQLArgument(nonnull(GraphQLString))},
        resolve=lambda _root, info, key: (info.context.get("connection_params") or {}).get(key),
    ),
    "slow": GraphQLField(GraphQLFloat, args={"seconds": GraphQLArgument(nonnull(GraphQLFloat))},
                         resolve=resolve_slow),
    "fail": GraphQLField(GraphQLString, resolve=resolve_fail),
    "chatHistory": GraphQLField(
        list_of(StoredChatMessage),
        args={"room": GraphQLArgument(nonnull(ChatRoom)), "last": GraphQLArgument(GraphQLInt, default_value=50)},
        resolve=chat_history, description="The last messages stored in a room (postChatMessage), oldest first.",
    ),
})

ChatRoomMessage = GraphQLObjectType("ChatRoomMessage", {
    "roomName": GraphQLField(nonnull(GraphQLString)),
    "currentUser": GraphQLField(nonnull(GraphQLString)),
    "message": GraphQLField(nonnull(GraphQLString)),
})

UploadedFileInfo = GraphQLObjectType("UploadedFileInfo", {
    "name": GraphQLField(nonnull(GraphQLString)),
    "size": GraphQLField(nonnull(GraphQLInt)),
    "contentType": GraphQLField(GraphQLString),
    "text": GraphQLField(GraphQLString),
})


def file_info(upload):
    upload.seek(0)
    content = upload.read()
    try:
        text = content.decode()
    except UnicodeDecodeError:
        text = None
    return {"name": upload.name, "size": upload.size, "contentType": upload.content_type, "text": text}


def group_name(room):
    return f"chat_{room['roomName']}"


async def send_chat_message(_root, _info, room, message):
    await abroadcast(group_name(room), {"type": "chat.message", "room_id": group_name(room), "message": message},
                     raise_errors=True)
    return True


@database_sync_to_async
def store_chat_message(room, user, text):
    """Plain sync Django code: the row and the room-page message commit, or neither happens."""
    from example_project.chat.models import Message

    with transaction.atomic():
        stored = Message.objects.create(room=room["roomName"], user=user, text=text)
        # Sent after the commit, like the model.saved event MODEL_EVENTS sends to chat_log_<room>.
        broadcast(group_name(room), {"type": "chat.message", "room_id": group_name(room), "message": text})
    return stored


async def post_chat_message(_root, _info, room, message, user):
    return await store_chat_message(room, user, message)



Mutation = GraphQLObjectType("Mutation", {
    "echo": GraphQLField(nonnull(GraphQLString), args={"text": GraphQLArgument(nonnull(GraphQLString))},
                         resolve=lambda _root, _info, text: text),
    "sendChatMessage": GraphQLField(
        nonnull(GraphQLBoolean),
        args={"room": GraphQLArgument(nonnull(ChatRoom)), "message": GraphQLArgument(nonnull(GraphQLString))},
        resolve=send_chat_message,
    ),
    "postChatMessage": GraphQLField(
        nonnull(StoredChatMessage),
        args={"room": GraphQLArgument(nonnull(ChatRoom)), "message": GraphQLArgument(nonnull(GraphQLString)),
              "user": GraphQLArgument(GraphQLString, default_value="anonymous")},
        resolve=post_chat_message,
        description="Store a chat message; the room page and chat subscribers hear of it after the commit.",
    ),
    "uploadFile": GraphQLField(nonnull(UploadedFileInfo), args={"file": GraphQLArgument(nonnull(Upload))},
                               resolve=lambda _root, _info, file: file_info(file)),
    "uploadFiles": GraphQLField(list_of(UploadedFileInfo), args={"files": GraphQLArgument(list_of(Upload))},
                                resolve=lambda _root, _info, files: [file_info(f) for f in files]),
})


async def join_chat_rooms(_root, info, rooms, user):
    """The seed docs' chat subscription, in its order: join each room by hand, greet it, then relay.

    The greetings are sent before ``listen_to_channel`` starts; they wait on
    this socket's own channel and are the first messages it relays (after
    the confirming ``None``).
    """
    ws = info.context["ws"]
    room_ids = [group_name(room) for room in rooms]
    for room_id in room_ids:
        await ws.channel_layer.group_add(room_id, ws.channel_name)
    for room_id in room_ids:
        await ws.channel_layer.group_send(room_id, {
            "type": "chat.message", "room_id": room_id,
            "message": f"process {os.getpid()}: Hello, my name is {user}!",
        })
    async with ws.listen_to_channel("chat.message", groups=room_ids) as messages:
        yield None  # listening: the client receives {"joinChatRooms": null} first
        async for message in messages:
            if message.get("room_id") in room_ids:
                yield {"roomName": message["room_id"], "currentUser": user, "message": message["message"]}


async def stored_chat_messages(_root, info, room):
    """Chat messages of one room as they are saved, read back from the database."""
    async with aclosing(model_events(info, "chat.Message", fields={"room": room["roomName"]})) as events:
        async for event in events:
            if event is None:
                yield None  # listening: confirms the subscription
            elif not event.deleted:
                yield event.instance


async def count(_root, _info, to, delay):
    for i in range(1, to + 1):
        if delay:
            await asyncio.sleep(delay)
        yield i


async def on_group_message(_root, info, group):
    async with info.context["ws"].listen_to_channel("group.message", groups=[group]) as messages:
        yield None
        async for message in messages:
            yield message


async def fail_after(_root, _info, n):
    for i in range(n):
        yield i
    raise RuntimeError("The subscription generator failed.")


GroupMessage = GraphQLObjectType("GroupMessage", {
    "text": GraphQLField(GraphQLString),
    "n": GraphQLField(GraphQLInt),
})

Subscription = GraphQLObjectType("Subscription", {
    "joinChatRooms": GraphQLField(
        ChatRoomMessage,
        args={"rooms": GraphQLArgument(list_of(ChatRoom)), "user": GraphQLArgument(nonnull(GraphQLString))},
        subscribe=join_chat_rooms, resolve=lambda message, _info, **_: message,
    ),
    "storedChatMessages": GraphQLField(
        StoredChatMessage, args={"room": GraphQLArgument(nonnull(ChatRoom))},
        subscribe=stored_chat_messages, resolve=lambda stored, _info, **_: stored,
        description="Messages saved in a room (postChatMessage), as stored, after each commit.",
    ),
    "count": GraphQLField(
        nonnull(GraphQLInt),
        args={"to": GraphQLArgument(nonnull(GraphQLInt)), "delay": GraphQLArgument(GraphQLFloat, default_value=0)},
        subscribe=count, resolve=lambda value, _info, **_: value,
    ),
    "onGroupMessage": GraphQLField(
        GroupMessage, args={"group": GraphQLArgument(nonnull(GraphQLString))},
        subscribe=on_group_message, resolve=lambda message, _info, **_: message,
    ),
    "failAfter": GraphQLField(
        GraphQLInt, args={"n": GraphQLArgument(nonnull(GraphQLInt))},
        subscribe=fail_after, resolve=lambda value, _info, **_: value,
    ),
})

schema = GraphQLSchema(query=Query, mutation=Mutation, subscription=Subscription, types=[Upload])
