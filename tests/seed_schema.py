"""Strawberry schemas shaped like the seed page's chat tutorial (``seed/000_6809b411ed221d9f.txt``).

The same Channels API calls in the same order as the page, in our own words:

- ``schema``: the tutorial's ``joinChatRooms`` — join each room by hand with
  ``ws.channel_layer.group_add(room, ws.channel_name)``, greet every room with
  ``group_send``, then ``ws.listen_to_channel("chat.message", groups=room_ids)``
  and relay that room's messages; ``sendChatMessage`` publishes through
  ``get_channel_layer()``.
- ``confirming_schema``: the "Confirming GraphQL Subscriptions" variant, which
  yields ``None`` once inside ``listen_to_channel``.
- ``context_schema``: resolvers for the page's custom context dataclasses
  (``info.context.user``, ``info.context.ws``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncGenerator

import strawberry
from channels.layers import get_channel_layer


@strawberry.input
class ChatRoom:
    room_name: str


@strawberry.type
class ChatRoomMessage:
    room_name: str
    current_user: str
    message: str


def greeting(user: str) -> str:
    return f"pid {os.getpid()} / {threading.current_thread().name}: Hello my name is {user}!"


async def join_rooms_by_hand(info: strawberry.Info, rooms: list[ChatRoom], user: str) -> list[str]:
    """The tutorial's first two steps: join every room by hand, then greet each."""
    ws = info.context["ws"]
    channel_layer = ws.channel_layer
    room_ids = [f"chat_{room.room_name}" for room in rooms]
    for room in room_ids:
        await channel_layer.group_add(room, ws.channel_name)
    for room in room_ids:
        await channel_layer.group_send(room, {"type": "chat.message", "room_id": room, "message": greeting(user)})
    return room_ids


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def header(self, info: strawberry.Info, name: str) -> str | None:
        """``info.context["ws"].headers`` on WebSockets, ``info.context["request"].headers`` over HTTP."""
        context = info.context
        owner = context["ws"] if "ws" in context else context["request"]
        return owner.headers.get(name)

    @strawberry.field
    def connection_param(self, info: strawberry.Info, key: str) -> str | None:
        return info.context["connection_params"].get(key)

    @strawberry.field
    def boom(self) -> str:
        raise ValueError("boom")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def send_chat_message(self, info: strawberry.Info, room: ChatRoom, message: str) -> None:
        channel_layer = get_channel_layer()
        await channel_layer.group_send(
            f"chat_{room.room_name}",
            {"type": "chat.message", "room_id": f"chat_{room.room_name}", "message": message},
        )


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def join_chat_rooms(
        self, info: strawberry.Info, rooms: list[ChatRoom], user: str
    ) -> AsyncGenerator[ChatRoomMessage, None]:
        room_ids = await join_rooms_by_hand(info, rooms, user)
        async with info.context["ws"].listen_to_channel("chat.message", groups=room_ids) as cm:
            async for message in cm:
                if message["room_id"] in room_ids:
                    yield ChatRoomMessage(room_name=message["room_id"], message=message["message"],
                                          current_user=user)


@strawberry.type
class ConfirmingSubscription:
    @strawberry.subscription(name="joinChatRooms")
    async def join_chat_rooms(
        self, info: strawberry.Info, rooms: list[ChatRoom], user: str
    ) -> AsyncGenerator[ChatRoomMessage | None, None]:
        room_ids = await join_rooms_by_hand(info, rooms, user)
        async with info.context["ws"].listen_to_channel("chat.message", groups=room_ids) as cm:
            yield None
            async for message in cm:
                if message["room_id"] in room_ids:
                    yield ChatRoomMessage(room_name=message["room_id"], message=message["message"],
                                          current_user=user)


@strawberry.type
class ContextQuery:
    @strawberry.field
    def user_is_anonymous(self, info: strawberry.Info) -> bool:
        return info.context.user.is_anonymous

    @strawberry.field
    def session_present(self, info: strawberry.Info) -> bool:
        return info.context.session is not None

    @strawberry.field
    def ws_header(self, info: strawberry.Info, name: str) -> str | None:
        return info.context.ws.headers.get(name)


@strawberry.type
class ContextSubscription:
    @strawberry.subscription
    async def room(self, info: strawberry.Info, name: str) -> AsyncGenerator[str | None, None]:
        async with info.context.ws.listen_to_channel("chat.message", groups=[f"chat_{name}"]) as cm:
            yield None
            async for message in cm:
                yield message["message"]


schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
confirming_schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=ConfirmingSubscription)
context_schema = strawberry.Schema(query=ContextQuery, subscription=ContextSubscription)
