"""``graphql-transport-ws``: the protocol of the graphql-ws library.

Client to server: ``connection_init``, ``ping``, ``pong``, ``subscribe``,
``complete``. Server to client: ``connection_ack``, ``ping``, ``pong``,
``next``, ``error``, ``complete``. Anything the protocol does not allow closes
the socket with the protocol's code:

====  =============================================================
4400  invalid message (not JSON, not an object, unknown or server-only
      ``type``, bad field shapes); the reason says what was wrong
4401  ``subscribe`` before the connection was acknowledged
4403  ``on_ws_connect`` raised ``ConnectionRejectionError``
4406  no acceptable subprotocol (decided by the consumer)
4408  no ``connection_init`` within ``CONNECTION_INIT_WAIT_TIMEOUT``
4409  ``subscribe`` with the id of an operation still running
4429  a second ``connection_init``
4500  the server failed handling a message
====  =============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine.json_kinds import json_kind
from ..operations.shared_results import SharedResult
from .protocol import ProtocolHandler, encode_id

__all__ = ["TransportWSProtocol"]


class TransportWSProtocol(ProtocolHandler):
    subprotocol = "graphql-transport-ws"
    keep_alive_message = {"type": "ping"}

    # -- client to server ----------------------------------------------------

    async def unknown_type(self, kind: Any, message: dict[str, Any]) -> None:
        if isinstance(kind, str) and kind in _SERVER_ONLY:
            await self.invalid_message(f"Unexpected message of type {kind!r} from a client")
        elif kind is None:
            await self.invalid_message("Message is missing the 'type' property")
        else:
            await self.invalid_message(f"Invalid message 'type' property {_short(kind)}")

    async def init_repeated(self) -> None:
        await self.consumer.close(4429, "Too many initialisation requests")

    async def init_rejected(self, payload: Any) -> None:
        await self.consumer.close(4403, _rejection_reason(payload, self.consumer.encode_json))

    async def receive_ping(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.invalid_message(f"'ping' payload must be an object or null, but got {json_kind(payload)}")
            return
        pong: dict[str, Any] = {"type": "pong"}
        if payload is not None:
            pong["payload"] = payload
        await self.consumer.send_json(pong)

    async def receive_pong(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.invalid_message(f"'pong' payload must be an object or null, but got {json_kind(payload)}")

    async def receive_subscribe(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        problem = _id_problem("subscribe", op_id)
        payload: Any = message.get("payload")  # any JSON until checked below
        if problem is None:
            problem = self.payload_problem("subscribe", payload)
        if problem is not None:
            await self.invalid_message(problem)
            return
        if not self.acknowledged:
            await self.consumer.close(4401, "Unauthorized")
            return
        if self.consumer.has_operation(op_id):
            await self.consumer.close(4409, f"Subscriber for {op_id} already exists")
            return
        await self.start(op_id, payload)

    async def receive_complete(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        problem = _id_problem("complete", op_id)
        if problem is not None:
            await self.invalid_message(problem)
            return
        # Completing an unknown or finished operation is allowed and does nothing.
        await self.consumer.stop_operation(op_id)

    async def invalid_message(self, reason: str, message: Any = None) -> None:
        await self.consumer.close(4400, reason)

    async def internal_error(self, exc: BaseException) -> None:
        reason = "Internal server error"
        if self.consumer.debug and not self.consumer.engine.mask_errors:
            reason = f"{reason}: {type(exc).__name__}: {exc}"
        await self.consumer.close(4500, reason)

    # -- server to client ----------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.consumer.send_json({"id": op_id, "type": "next", "payload": payload})

    async def send_next_shared(self, op_id: Any, result: SharedResult) -> None:
        consumer = self.consumer
        payload = result.encoded(consumer.encoder_key, consumer.encode_json)
        # The same text encode_json gives for the whole message, with the id spliced in.
        await consumer.send_text('{"id":' + encode_id(op_id) + ',"type":"next","payload":' + payload + "}")

    async def send_complete(self, op_id: Any) -> None:
        await self.consumer.send_json({"id": op_id, "type": "complete"})

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        await self.consumer.send_json({"id": op_id, "type": "error", "payload": errors})


_SERVER_ONLY = frozenset({"connection_ack", "next", "error"})


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _id_problem(kind: str, op_id: Any) -> str | None:
    if not isinstance(op_id, str):
        return f"'{kind}' message expects the 'id' property to be a string, but got {json_kind(op_id)}"
    if not op_id:
        return f"'{kind}' message requires a non-empty 'id' property"
    return None


def _rejection_reason(payload: Any, encode_json: Callable[[Any], str]) -> str:
    """The 4403 close reason for a rejection: a string as is, anything else as JSON."""
    if isinstance(payload, str) and payload:
        return payload
    if not payload:
        return "Forbidden"
    try:
        return encode_json(payload)
    except (TypeError, ValueError):
        return "Forbidden"
