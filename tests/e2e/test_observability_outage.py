"""``METRICS`` during a real redis-server outage: layer errors counted, the failed publish an ``error`` (issue 20).

In process (the default registry is this process's), on a channel layer of a
redis-server of the test's own, which is stopped mid-test and started again.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings

from django_gql_channels.channel_layer.outage import forget_outage
from django_gql_channels.testing import GraphQLWebsocketCommunicator
from example_project.settings import redis_channel_layers
from tests.observability_support import Samples, operations
from tests.ws_support import make_app

LAYER_ERRORS: tuple[str, dict[str, str]] = ("gql_channels_layer_errors_total", {})


@pytest.mark.parametrize("backend", ["channels_redis.pubsub.RedisPubSubChannelLayer",
                                     "channels_redis.core.RedisChannelLayer"])
async def test_layer_errors_are_counted_while_redis_is_down(backend, redis_server):
    layers = redis_channel_layers(redis_server.url)
    layers["default"]["BACKEND"] = backend
    gql = {**settings.GQL_CHANNELS, "METRICS": True, "LAYER_TIMEOUT": 1, "LAYER_RETRY_DELAY": 0.1,
           "LAYER_RETRY_MAX_DELAY": 0.2}
    with override_settings(CHANNEL_LAYERS=layers, GQL_CHANNELS=gql):
        layer = get_channel_layer()
        room = f"g{uuid.uuid4().hex[:12]}"
        counts = Samples(LAYER_ERRORS, operations("graphql-transport-ws", "mutation", "error"),
                         operations("graphql-transport-ws", "mutation", "ok"))
        client = GraphQLWebsocketCommunicator(make_app(), "/graphql", timeout=10)
        try:
            await client.gql_init()
            listening = client.subscribe("subscription ($g: String!) { guarded(group: $g) }", {"g": room})
            assert (await listening.__anext__()).data == {"guarded": None}
            publish = 'mutation ($g: String!) { notify(group: $g, text: "up") }'
            assert [r.data async for r in client.subscribe(publish, {"g": room})] == [{"notify": "up"}]
            assert (await listening.__anext__()).data == {"guarded": "up"}

            redis_server.stop()
            failed = [r async for r in client.subscribe(publish, {"g": room})]
            assert failed[0].errors[0].extensions == {"code": "SERVICE_UNAVAILABLE"}, failed
            errors, failed_mutations, ok_mutations = counts.added()
            assert errors >= 1 and failed_mutations == 1 and ok_mutations == 1

            redis_server.restart()
            for _ in range(100):  # bounded: until publishing reaches the restarted server
                result = [r async for r in client.subscribe(publish, {"g": room})][0]
                if not result.errors:
                    break
                await asyncio.sleep(0.1)
            assert result.data == {"notify": "up"}
        finally:
            await client.disconnect()
            forget_outage(layer)
