"""A small schema for the channel-layer outage tests: publish to a group, listen two ways."""

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from example_project.schema import GroupMessage, on_group_message


def _consumer(info):
    context = info.context
    return context.get("ws") or context["request"].consumer


async def publish(_root, info, group, text):
    await _consumer(info).channel_layer.group_send(group, {"type": "group.message", "text": text})
    return True


async def own_channel_messages(_root, info, group):
    """The Channels tutorial's way: the socket's own channel joins the group by hand."""
    ws = info.context["ws"]
    await ws.channel_layer.group_add(group, ws.channel_name)
    async with ws.listen_to_channel("group.message") as messages:
        yield None
        async for message in messages:
            yield message


def _group_field(subscribe):
    return GraphQLField(GroupMessage, args={"group": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                        subscribe=subscribe, resolve=lambda message, _info, **_: message)


schema = GraphQLSchema(
    query=GraphQLObjectType("Query", {"hello": GraphQLField(GraphQLString, resolve=lambda *_: "hi")}),
    mutation=GraphQLObjectType("Mutation", {
        "publish": GraphQLField(GraphQLBoolean, args={"group": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                                                      "text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                                resolve=publish),
    }),
    subscription=GraphQLObjectType("Subscription", {
        "onGroupMessage": _group_field(on_group_message),
        "ownChannelMessages": _group_field(own_channel_messages),
    }),
)
