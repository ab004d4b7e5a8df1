"""``graphql-ws``: the legacy protocol of subscriptions-transport-ws.

Client to server: ``connection_init``, ``start``, ``stop``,
``connection_terminate``. Server to client: ``connection_ack``,
``connection_error``, ``ka``, ``data``, ``error``, ``complete``.

The protocol has no close codes for mistakes, so a malformed message never
closes the socket: one that names an operation gets an ``error`` for that
operation, anything else (not JSON, not an object, no usable ``id``) a
``connection_error``. The socket is closed only when the connection is
rejected (``connection_error`` with the rejection payload, then code 4403), when
``connection_init`` does not come in time (4408), on ``connection_terminate``
(1000), and when the server fails (1011).

``error`` payloads are ``{"message": <first error's message>, "errors": [...]}``:
old clients read ``message``, subscriptions-transport-ws reads every error from
``errors``.
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

__all__ = ["LegacyWSProtocol"]


class LegacyWSProtocol(ProtocolHandler):
    subprotocol = "graphql-ws"

    # -- client to server ----------------------------------------------------

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self.init_received:
            await self._connection_error({"message": "Too many initialisation requests"})
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self._connection_error(
                {"message": f"'connection_init' payload must be an object or null, but got {json_kind(payload)}"}
            )
            return
        self.init_received = True
        self.stop_timer(self._init_timer)
        consumer = self.consumer
        try:
            ack_payload = await consumer.init_connection(payload)
        except ConnectionRejectionError as exc:
            await self._connection_error(exc.payload)
            await consumer.close(4403, "Forbidden")
            return
        self.acknowledged = True
        ack: dict[str, Any] = {"type": "connection_ack"}
        if ack_payload is not UNSET:
            ack["payload"] = ack_payload
        await consumer.send_json(ack)
        if consumer.keep_alive:
            await consumer.send_json(_KA)
            self.start_timer(self._keep_alive(consumer.keep_alive_interval))

    async def _start(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not _valid_id(op_id):
            await self.invalid_message(f"'start' message needs an 'id' (a string), but got {json_kind(op_id)}")
            return
        payload: Any = message.get("payload")  # any JSON until checked below
        problem = _start_payload_problem(payload)
        if problem is not None:
            await self.send_errors(op_id, [{"message": problem}])
            return
        if not self.acknowledged:
            await self.send_errors(
                op_id, [{"message": "The connection is not initialised: send 'connection_init' first."}]
            )
            return
        consumer = self.consumer
        # As subscriptions-transport-ws does: a start with the id of a running
        # operation replaces it.
        await consumer.stop_operation(op_id)
        await consumer.start_operation(op_id, payload.get("query"), payload.get("variables"),
                                       payload.get("operationName"), document_id=payload.get("documentId"),
                                       extensions=payload.get("extensions"))

    async def _stop(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not _valid_id(op_id):
            await self.invalid_message(f"'stop' message needs an 'id' (a string), but got {json_kind(op_id)}")
            return
        if await self.consumer.stop_operation(op_id):
            await self.send_complete(op_id)

    async def _connection_terminate(self, message: dict[str, Any]) -> None:
        await self.consumer.close(1000)

    async def invalid_message(self, reason: str, message: Any = None) -> None:
        op_id = message.get("id") if isinstance(message, dict) else None
        if _valid_id(op_id):
            await self.send_errors(op_id, [{"message": reason}])
        else:
            await self._connection_error({"message": reason})

    async def internal_error(self, exc: BaseException) -> None:
        message = "Internal server error"
        if self.consumer.debug and not self.consumer.engine.mask_errors:
            message = f"{message}: {type(exc).__name__}: {exc}"
        await self._connection_error({"message": message})
        await self.consumer.close(1011, message)

    async def _connection_error(self, payload: Any) -> None:
        await self.consumer.send_json({"type": "connection_error", "payload": payload})

    async def _keep_alive(self, interval: float) -> None:
        send_json = self.consumer.send_json
        while True:
            await asyncio.sleep(interval)
            await send_json(_KA)

    # -- server to client ----------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.consumer.send_json({"type": "data", "id": op_id, "payload": payload})

    async def send_complete(self, op_id: Any) -> None:
        await self.consumer.send_json({"type": "complete", "id": op_id})

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        payload = {"message": errors[0].get("message", "Error") if errors else "Error", "errors": errors}
        await self.consumer.send_json({"type": "error", "id": op_id, "payload": payload})


_KA = {"type": "ka"}

_HANDLERS: dict[str, Callable[[LegacyWSProtocol, dict[str, Any]], Any]] = {
    "connection_init": LegacyWSProtocol._connection_init,
    "start": LegacyWSProtocol._start,
    "stop": LegacyWSProtocol._stop,
    "connection_terminate": LegacyWSProtocol._connection_terminate,
}
LegacyWSProtocol.handlers = _HANDLERS


def _valid_id(op_id: Any) -> bool:
    return isinstance(op_id, str) and op_id != ""


def _start_payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"'start' message expects the 'payload' property to be an object, but got {json_kind(payload)}"
    query = payload.get("query")
    if not isinstance(query, str) and (
        query is not None or not has_document_reference(payload.get("documentId"), payload.get("extensions"))
    ):
        return f"'start' payload expects 'query' to be a string, but got {json_kind(query)}"
    for key, expected, check in (("variables", "an object", dict), ("operationName", "a string", str),
                                 ("extensions", "an object", dict), ("documentId", "a string", str)):
        value = payload.get(key)
        if value is not None and not isinstance(value, check):
            return f"'start' payload expects '{key}' to be {expected} or null, but got {json_kind(value)}"
    return None
