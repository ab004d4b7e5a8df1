"""The Channels tutorial's chat consumer, unchanged but for ``room_id`` in its messages.

``room_id`` lets a GraphQL subscriber on several rooms tell them apart. With
``CHAT_STORE_MESSAGES`` on, messages typed in the room page are also stored
(``chatHistory`` then shows them, and a live query of it updates).
"""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings


@database_sync_to_async
def store(room: str, text: str) -> None:
    from example_project.chat.models import Message

    Message.objects.create(room=room, user="room page", text=text)


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data):
        message = json.loads(text_data)["message"]
        if getattr(settings, "CHAT_STORE_MESSAGES", False):
            await store(self.room_name, message)
        await self.channel_layer.group_send(
            self.room_group_name,
            {"type": "chat.message", "room_id": self.room_group_name, "message": message},
        )

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"message": event["message"]}))
