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

from typing import Any

from ..engine.json_kinds import json_kind
from ..operations.shared_results import SharedResult
from .protocol import ProtocolHandler, encode_id

__all__ = ["LegacyWSProtocol"]


class LegacyWSProtocol(ProtocolHandler):
    subprotocol = "graphql-ws"
    keep_alive_message = {"type": "ka"}
    keep_alive_on_ack = True

    # -- client to server ----------------------------------------------------

    async def init_repeated(self) -> None:
        await self._connection_error({"message": "Too many initialisation requests"})

    async def init_rejected(self, payload: Any) -> None:
        await self._connection_error(payload)
        await self.consumer.close(4403, "Forbidden")

    async def receive_start(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not _valid_id(op_id):
            await self.invalid_message(f"'start' message needs an 'id' (a string), but got {json_kind(op_id)}")
            return
        payload: Any = message.get("payload")  # any JSON until checked below
        problem = self.payload_problem("start", payload)
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
        await self.start(op_id, payload)

    async def receive_stop(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not _valid_id(op_id):
            await self.invalid_message(f"'stop' message needs an 'id' (a string), but got {json_kind(op_id)}")
            return
        if await self.consumer.stop_operation(op_id):
            await self.send_complete(op_id)

    async def receive_connection_terminate(self, message: dict[str, Any]) -> None:
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

    # -- server to client ----------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.consumer.send_json({"type": "data", "id": op_id, "payload": payload})

    async def send_next_shared(self, op_id: Any, result: SharedResult) -> None:
        consumer = self.consumer
        payload = result.encoded(consumer.encoder_key, consumer.encode_json)
        await consumer.send_text('{"type":"data","id":' + encode_id(op_id) + ',"payload":' + payload + "}")

    async def send_complete(self, op_id: Any) -> None:
        await self.consumer.send_json({"type": "complete", "id": op_id})

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        payload = {"message": errors[0].get("message", "Error") if errors else "Error", "errors": errors}
        await self.consumer.send_json({"type": "error", "id": op_id, "payload": payload})


def _valid_id(op_id: Any) -> bool:
    return isinstance(op_id, str) and op_id != ""
