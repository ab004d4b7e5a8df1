"""Sends wait while daphne's write buffer is full (:mod:`django_gql_channels.ws.backpressure`).

The consumer is reached the way daphne reaches it: ``send`` is
``functools.partial(server.handle_reply, protocol)``, here with a real
Twisted ``StringTransport`` under the protocol, whose registered producer
Twisted would pause and resume. The live test on daphne is
tests/e2e/test_send_bound.py.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from django_gql_channels.ws import GraphQLWSConsumer
from django_gql_channels.ws.backpressure import SendGate, send_gate
from example_project.schema import schema

testing = pytest.importorskip("twisted.internet.testing")

pytestmark = pytest.mark.usefixtures("clean_layer")


class FakeProtocol:
    """Stands for daphne's WebSocket protocol: all the gate needs is its transport."""

    def __init__(self) -> None:
        self.transport = testing.StringTransport()


class PreviousProducer:
    """The producer daphne's HTTP channel leaves registered after the upgrade."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:  # noqa: N802
        self.calls.append("pause")

    def resumeProducing(self) -> None:  # noqa: N802
        self.calls.append("resume")

    def stopProducing(self) -> None:  # noqa: N802
        self.calls.append("stop")


class FakeServer:
    """Stands for daphne's ``Server``: it hands applications ``partial(self.handle_reply, protocol)``."""

    def __init__(self, send: Any = None) -> None:
        self.send = send

    async def handle_reply(self, protocol: FakeProtocol, message: dict[str, Any]) -> None:
        await self.send(message)


def daphne_send(protocol: FakeProtocol, send: Any = None) -> Any:
    return functools.partial(FakeServer(send).handle_reply, protocol)


def daphne_like_app(protocol: FakeProtocol) -> Any:
    consumer = GraphQLWSConsumer.as_asgi(schema=schema)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await consumer(scope, receive, daphne_send(protocol, send))

    return app


def test_the_gate_replaces_and_forwards_to_the_previous_producer():
    protocol = FakeProtocol()
    previous = PreviousProducer()
    protocol.transport.registerProducer(previous, True)
    gate = send_gate(daphne_send(protocol))
    assert isinstance(gate, SendGate) and protocol.transport.producer is gate
    gate.pauseProducing()
    assert not gate.drained.is_set()
    gate.resumeProducing()
    assert gate.drained.is_set()
    gate.stopProducing()
    assert gate.drained.is_set() and gate.stopped
    assert previous.calls == ["pause", "resume", "stop"]


def test_a_session_wrapped_send_is_looked_through():
    protocol = FakeProtocol()

    class SessionWrapper:  # as Channels' InstanceSessionWrapper keeps the server's send
        def __init__(self, send: Any) -> None:
            self.real_send = send

        async def send(self, message: Any) -> None:
            await self.real_send(message)

    wrapped = SessionWrapper(daphne_send(protocol)).send
    assert send_gate(wrapped) is protocol.transport.producer


def test_other_servers_get_no_gate():
    async def send(message: Any) -> None:
        pass

    assert send_gate(send) is None
    assert send_gate(functools.partial(send)) is None


async def _receive(communicator: ApplicationCommunicator) -> dict[str, Any]:
    message = await communicator.receive_output(5)
    assert message["type"] == "websocket.send", message
    return json.loads(message["text"])


async def test_sends_wait_while_the_transport_is_paused():
    protocol = FakeProtocol()
    scope = {"type": "websocket", "path": "/graphql", "headers": [], "subprotocols": ["graphql-transport-ws"]}
    communicator = ApplicationCommunicator(daphne_like_app(protocol), scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output(5))["type"] == "websocket.accept"
    await communicator.send_input({"type": "websocket.receive", "text": '{"type":"connection_init"}'})
    assert (await _receive(communicator))["type"] == "connection_ack"
    gate = protocol.transport.producer
    assert isinstance(gate, SendGate)

    gate.pauseProducing()  # Twisted: the write buffer passed its bufferSize
    await communicator.send_input({"type": "websocket.receive", "text": '{"type":"ping"}'})
    assert (await _receive(communicator))["type"] == "pong"  # written, then the consumer waits
    await communicator.send_input({"type": "websocket.receive", "text": '{"type":"ping"}'})
    assert await communicator.receive_nothing(0.2)

    gate.resumeProducing()  # the buffer was written out
    assert (await _receive(communicator))["type"] == "pong"

    gate.pauseProducing()
    await communicator.send_input({"type": "websocket.receive", "text": '{"type":"ping"}'})
    assert (await _receive(communicator))["type"] == "pong"
    gate.stopProducing()  # the transport is gone: nothing waits on it any more
    await communicator.send_input({"type": "websocket.receive", "text": '{"type":"ping"}'})
    assert (await _receive(communicator))["type"] == "pong"
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(5)
