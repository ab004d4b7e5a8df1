"""The one operation lifecycle every streaming transport (WebSockets, SSE) shares, and shared results."""

from .lifecycle import ConfirmingListener, ConnectionGone, Operations, OperationSink

__all__ = ["ConfirmingListener", "ConnectionGone", "OperationSink", "Operations"]
