"""The README's testing examples, verbatim: they must keep working."""

from channels.layers import get_channel_layer

from django_gql_channels import get_application
from django_gql_channels.testing import GraphQLWebsocketCommunicator


async def test_count():
    async with GraphQLWebsocketCommunicator(get_application(), "/graphql") as client:
        await client.gql_init()
        results = [r async for r in client.subscribe("subscription { count(to: 3) }")]
    assert [r.data["count"] for r in results] == [1, 2, 3]

async def test_group_messages_reach_the_subscriber():
    async with GraphQLWebsocketCommunicator(get_application(), "/graphql", protocol="graphql-ws") as client:
        await client.gql_init()
        sub = await client.subscribe('subscription { onGroupMessage(group: "news") { text } }').start()
        assert (await sub.__anext__()).data == {"onGroupMessage": None}  # its confirming null
        await get_channel_layer().group_send("news", {"type": "group.message", "text": "hi"})
        assert (await sub.__anext__()).data == {"onGroupMessage": {"text": "hi"}}
        await sub.complete()
