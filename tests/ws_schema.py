"""A small schema for the WebSocket tests: subscriptions that record their clean-up.

``EVENTS`` collects ``("start"|"end", name, arg)`` tuples so tests can assert
that a subscription generator's ``finally`` ran.
"""

from __future__ import annotations

import asyncio

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

EVENTS: list[tuple[str, str, object]] = []


def _scope_header(info, name: str):
    return info.context["ws"].headers.get(name)  # case-insensitive, as the seed page reads it


def _user(info):
    user = info.context["ws"].scope.get("user")
    return None if user is None or not user.is_authenticated else user.get_username()


Query = GraphQLObjectType("Query", {
    "hello": GraphQLField(GraphQLString, resolve=lambda _root, _info: "world"),
    "contextKeys": GraphQLField(GraphQLList(GraphQLString),
                                resolve=lambda _root, info: sorted(info.context)),
    "connectionParam": GraphQLField(GraphQLString, args={"key": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                                    resolve=lambda _root, info, key: info.context["connection_params"].get(key)),
    "header": GraphQLField(GraphQLString, args={"name": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                           resolve=lambda _root, info, name: _scope_header(info, name)),
    "me": GraphQLField(GraphQLString, resolve=lambda _root, info: _user(info)),
    "sessionKey": GraphQLField(
        GraphQLString, resolve=lambda _root, info: info.context["ws"].scope["session"].session_key
    ),
    "channelName": GraphQLField(GraphQLString, resolve=lambda _root, info: info.context["ws"].channel_name),
    "fromRoot": GraphQLField(GraphQLString, resolve=lambda root, _info: root),
})

Mutation = GraphQLObjectType("Mutation", {
    "echo": GraphQLField(GraphQLString, args={"text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                         resolve=lambda _root, _info, text: text),
    "notify": GraphQLField(
        GraphQLString, args={"group": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                             "text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
        resolve=lambda _root, info, group, text: _notify(info, group, text),
    ),
})


async def _notify(info, group, text):
    await info.context["ws"].channel_layer.group_send(group, {"type": "note", "text": text})
    return text


async def guarded(_root, info, group):
    """Listens to ``group`` with a leading ``None``; records its start and end."""
    EVENTS.append(("start", "guarded", group))
    try:
        async with info.context["ws"].listen_to_channel("note", groups=[group]) as messages:
            yield None
            async for message in messages:
                yield message["text"]
    finally:
        EVENTS.append(("end", "guarded", group))


async def unconfirmed(_root, info, group):
    """Listens to ``group`` without yielding ``None`` first."""
    async with info.context["ws"].listen_to_channel("note", groups=[group]) as messages:
        async for message in messages:
            yield message["text"]


async def slow_join(_root, info, group):
    """Joins ``group`` only after a real wait (as a Redis layer would take)."""
    await asyncio.sleep(0.02)
    async with info.context["ws"].listen_to_channel("note", groups=[group]) as messages:
        yield None
        async for message in messages:
            yield message["text"]


async def tutorial(_root, info, group):
    """Written as in the Channels tutorial: join with ``ws.channel_name``, listen without ``groups``."""
    ws = info.context["ws"]
    await ws.channel_layer.group_add(group, ws.channel_name)
    try:
        async with ws.listen_to_channel("note") as messages:
            yield None
            async for message in messages:
                yield message["text"]
    finally:
        await ws.channel_layer.group_discard(group, ws.channel_name)
        EVENTS.append(("end", "tutorial", group))


async def sleepy(_root, _info, seconds):
    EVENTS.append(("start", "sleepy", seconds))
    try:
        await asyncio.sleep(seconds)
        yield "awake"
    finally:
        EVENTS.append(("end", "sleepy", seconds))


async def count(_root, _info, to):
    for i in range(1, to + 1):
        yield i


async def fail_after(_root, _info, n):
    for i in range(n):
        yield i
    raise RuntimeError("The subscription generator failed.")


def _raise_in_subscribe(_root, _info):
    raise ValueError("cannot subscribe")


def _field(type_, subscribe, **args):
    return GraphQLField(type_, args={k: GraphQLArgument(v) for k, v in args.items()},
                        subscribe=subscribe, resolve=lambda value, _info, **_: value)


Subscription = GraphQLObjectType("Subscription", {
    "guarded": _field(GraphQLString, guarded, group=GraphQLNonNull(GraphQLString)),
    "unconfirmed": _field(GraphQLString, unconfirmed, group=GraphQLNonNull(GraphQLString)),
    "slowJoin": _field(GraphQLString, slow_join, group=GraphQLNonNull(GraphQLString)),
    "tutorial": _field(GraphQLString, tutorial, group=GraphQLNonNull(GraphQLString)),
    "sleepy": _field(GraphQLString, sleepy, seconds=GraphQLNonNull(GraphQLFloat)),
    "count": _field(GraphQLInt, count, to=GraphQLNonNull(GraphQLInt)),
    "failAfter": _field(GraphQLInt, fail_after, n=GraphQLNonNull(GraphQLInt)),
    "refused": _field(GraphQLInt, _raise_in_subscribe),
})

schema = GraphQLSchema(query=Query, mutation=Mutation, subscription=Subscription)
