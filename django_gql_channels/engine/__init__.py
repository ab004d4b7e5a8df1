"""The protocol-free engine: documents in, results out; nothing here knows HTTP, WebSockets or Channels."""

from .execution import (
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_MESSAGE,
    Engine,
    EventMapper,
    Operation,
    OperationKind,
    engine_options,
    get_engine,
    log_exception,
    mask_errors_setting,
    max_depth_rule,
)

__all__ = ["INTERNAL_ERROR_CODE", "INTERNAL_ERROR_MESSAGE", "Engine", "EventMapper", "Operation", "OperationKind",
           "engine_options", "get_engine", "log_exception", "mask_errors_setting", "max_depth_rule"]
