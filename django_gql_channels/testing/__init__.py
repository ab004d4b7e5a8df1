"""Test GraphQL without a server: ``GraphQLHTTPCommunicator`` (HTTP) and ``GraphQLWebsocketCommunicator``.

::

    from django_gql_channels.testing import GraphQLWebsocketCommunicator

    async def test_chat():
        async with GraphQLWebsocketCommunicator(application, "/graphql") as client:
            subscription = client.subscribe(
                "subscription { onGroupMessage(group: \\"news\\") { text } }"
            )
            await subscription.start()      # the server is listening now
            await channel_layer.group_send("news", {"type": "group.message", "text": "hi"})
            async for result in subscription:
                if result.data == {"onGroupMessage": None}:
                    continue                # the generator's confirming null
                assert result.data == {"onGroupMessage": {"text": "hi"}}
                break
            await subscription.complete()

``application`` is any ASGI app serving the consumer: the project's router
(``django_gql_channels.asgi.application``) or
``GraphQLWSConsumer.as_asgi(schema=...)``. It runs in the test's event loop
through asgiref's ``ApplicationCommunicator`` (what Channels' own
``WebsocketCommunicator`` builds on; ``channels.testing`` itself imports
daphne, which a project need not install).
"""

from .http import GraphQLHTTPCommunicator, GraphQLHTTPResult
from .results import GraphQLResult
from .websocket import GraphQLSubscription, GraphQLWebsocketCommunicator, WebSocketClosed

__all__ = ["GraphQLHTTPCommunicator", "GraphQLHTTPResult", "GraphQLResult", "GraphQLSubscription",
           "GraphQLWebsocketCommunicator", "WebSocketClosed"]
