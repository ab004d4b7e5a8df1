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

import asyncio
from collections.abc import Callable
from typing import Any

from ..exceptions import ConnectionRejectionError
from ..json_kinds import json_kind
from ..persisted import has_document_reference
from ..unset import UNSET
from .protocol import ProtocolHandler

__all__ = ["TransportWSProtocol"]


class TransportWSProtocol(ProtocolHandler):
    subprotocol = "graphql-transport-ws"

    # -- client to server ----------------------------------------------------

    async def unknown_type(self, kind: Any, message: dict[str, Any]) -> None:
        if isinstance(kind, str) and kind in _SERVER_ONLY:
            await self.invalid_message(f"Unexpected message of type {kind!r} from a client")
        elif kind is None:
            await self.invalid_message("Message is missing the 'type' property")
        else:
            await self.invalid_message(f"Invalid message 'type' property {_short(kind)}")

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self.init_received:
            await self.consumer.close(4429, "Too many initialisation requests")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.invalid_message(
                f"'connection_init' payload must be an object or null, but got {json_kind(payload)}"
            )
            return
        self.init_received = True
        self.stop_timer(self._init_timer)
        try:
            ack_payload = await self.consumer.init_connection(payload)
        except ConnectionRejectionError as exc:
            await self.consumer.close(4403, _rejection_reason(exc.payload, self.consumer.encode_json))
            return
        self.acknowledged = True
        ack: dict[str, Any] = {"type": "connection_ack"}
        if ack_payload is not UNSET:
            ack["payload"] = ack_payload
        await self.consumer.send_json(ack)
        consumer = self.consumer
        if consumer.keep_alive:
            self.start_timer(self._ping_forever(consumer.keep_alive_interval))

    async def _ping(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.invalid_message(f"'ping' payload must be an object or null, but got {json_kind(payload)}")
            return
        pong: dict[str, Any] = {"type": "pong"}
        if payload is not None:
            pong["payload"] = payload
        await self.consumer.send_json(pong)

    async def _pong(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.invalid_message(f"'pong' payload must be an object or null, but got {json_kind(payload)}")

    async def _subscribe(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        problem = _id_problem("subscribe", op_id)
        payload: Any = message.get("payload")  # any JSON until checked below
        if problem is None:
            problem = _subscribe_payload_problem(payload)
        if problem is not None:
            await self.invalid_message(problem)
            return
        if not self.acknowledged:
            await self.consumer.close(4401, "Unauthorized")
            return
        if self.consumer.has_operation(op_id):
            await self.consumer.close(4409, f"Subscriber for {op_id} already exists")
            return
        await self.consumer.start_operation(
            op_id, payload.get("query"), payload.get("variables"), payload.get("operationName"),
            document_id=payload.get("documentId"), extensions=payload.get("extensions"),
        )

    async def _complete(self, message: dict[str, Any]) -> None:
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

    async def _ping_forever(self, interval: float) -> None:
        send_json = self.consumer.send_json
        while True:
            await asyncio.sleep(interval)
            await send_json({"type": "ping"})

    # -- server to client ----------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.consumer.send_json({"id": op_id, "type": "next", "payload": payload})

    async def send_complete(self, op_id: Any) -> None:
        await self.consumer.send_json({"id": op_id, "type": "complete"})

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        await self.consumer.send_json({"id": op_id, "type": "error", "payload": errors})


_HANDLERS: dict[str, Callable[[TransportWSProtocol, dict[str, Any]], Any]] = {
    "connection_init": TransportWSProtocol._connection_init,
    "ping": TransportWSProtocol._ping,
    "pong": TransportWSProtocol._pong,
    "subscribe": TransportWSProtocol._subscribe,
    "complete": TransportWSProtocol._complete,
}
TransportWSProtocol.handlers = _HANDLERS
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


def _subscribe_payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"'subscribe' message expects the 'payload' property to be an object, but got {json_kind(payload)}"
    query = payload.get("query")
    if not isinstance(query, str) and (
        query is not None or not has_document_reference(payload.get("documentId"), payload.get("extensions"))
    ):
        return f"'subscribe' payload expects 'query' to be a string, but got {json_kind(query)}"
    for key, expected, check in (
        ("variables", "an object", dict),
        ("operationName", "a string", str),
        ("extensions", "an object", dict),
        ("documentId", "a string", str),
    ):
        value = payload.get(key)
        if value is not None and not isinstance(value, check):
            return f"'subscribe' payload expects '{key}' to be {expected} or null, but got {json_kind(value)}"
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
