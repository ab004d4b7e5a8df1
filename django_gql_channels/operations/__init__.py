"""The one operation lifecycle every streaming transport (WebSockets, SSE) shares, its admission, shared results
and live queries."""

from .admission import Admission, TooManyOperations
from .lifecycle import ConfirmingListener, ConnectionGone, Operations, OperationSink

__all__ = ["Admission", "ConfirmingListener", "ConnectionGone", "OperationSink", "Operations", "TooManyOperations"]
