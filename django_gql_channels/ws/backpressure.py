"""Send backpressure on ASGI servers whose ``websocket.send`` never waits (daphne).

uvicorn's ``send`` awaits its transport's drain, so the coroutine sending to
a client that stops reading stops too: a subscription's channel-layer queue
then fills and ``SUBSCRIPTION_QUEUE_SIZE`` drops what comes next. daphne's
``send`` hands the frame to Twisted, which buffers it without limit (a
client that never reads grew daphne by 443 MB in 30 s).

:func:`send_gate` gives daphne uvicorn's behaviour: it registers a Twisted
streaming producer (a :class:`SendGate`) on the socket's transport. Twisted
pauses it once the transport's write buffer passes its ``bufferSize``
(64 KiB) and resumes it when the buffer is written out; the consumer waits
on the gate after each frame. Found by duck typing daphne's ``send``
(``functools.partial(server.handle_reply, protocol)``): nothing here imports
daphne or Twisted, and any other ``send`` gets no gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["SendGate", "send_gate"]

logger = logging.getLogger("django_gql_channels")


class SendGate:
    """A Twisted ``IPushProducer`` that sends wait on while the transport's buffer is full.

    ``previous`` is the producer the transport had (daphne's HTTP channel,
    left registered after the WebSocket upgrade); it is still told everything.
    """

    __slots__ = ("drained", "previous", "stopped")

    def __init__(self, previous: Any = None) -> None:
        #: Set while the transport's buffer has room; cleared while Twisted has paused the producer.
        self.drained = asyncio.Event()
        self.drained.set()
        self.previous = previous
        #: The transport is gone: waiting is over for good.
        self.stopped = False

    # -- IPushProducer, called by Twisted on the event loop's thread ------------

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.drained.clear()
        self._tell("pauseProducing")

    def resumeProducing(self) -> None:  # noqa: N802
        self.drained.set()
        self._tell("resumeProducing")

    def stopProducing(self) -> None:  # noqa: N802
        self.stopped = True
        self.drained.set()
        self._tell("stopProducing")

    def _tell(self, name: str) -> None:
        previous = self.previous
        if previous is not None:
            with contextlib.suppress(Exception):
                getattr(previous, name)()


#: Wrappers of ``send`` looked through on the way to daphne's (middleware stacks are short).
_MAX_WRAPPERS = 8


def _daphne_protocol(send: Any) -> Any:
    """The Twisted protocol behind daphne's ``send``, looking through middleware that wraps it.

    Channels' ``SessionMiddleware`` (inside ``AuthMiddlewareStack``) passes a
    bound method of an object keeping the server's ``send`` as ``real_send``.
    """
    for _ in range(_MAX_WRAPPERS):
        if isinstance(send, functools.partial):
            return send.args[0] if send.args else None
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if inner is None:
            inner = getattr(send, "__wrapped__", None)
        if inner is None:
            return None
        send = inner
    return None


def send_gate(send: Callable[..., Any]) -> SendGate | None:
    """A :class:`SendGate` on the transport behind daphne's ``send``; None for any other server."""
    transport = getattr(_daphne_protocol(send), "transport", None)
    register = getattr(transport, "registerProducer", None)
    unregister = getattr(transport, "unregisterProducer", None)
    if register is None or unregister is None:
        return None
    previous = getattr(transport, "producer", None)
    try:
        if previous is not None:
            unregister()
        gate = SendGate(previous)
        register(gate, True)
    except Exception as exc:  # another transport type: no gate, daphne's old behaviour
        logger.debug("No send backpressure for this WebSocket: %r", exc)
        if previous is not None and getattr(transport, "producer", None) is None:
            with contextlib.suppress(Exception):
                register(previous, True)
        return None
    return gate
