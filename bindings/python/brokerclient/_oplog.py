"""pyrocketmq's structured operation log: one record per operation of a client or manager.

Every operation (creating an object, connect, disconnect, each send, pull, offset query,
heartbeat, ...) logs an INFO record on the ``brokerclient.broker`` logger, failed ones too
(the exception reaches the caller anyway; a failure is not printed by an unconfigured
``logging``). The record's ``extra`` holds the fields the seed document lists:
``client_id``, ``operation_type``, ``timestamp`` (epoch seconds when it started), ``status``
(``"success"``/``"failed"``), ``execution_time`` (milliseconds), ``error_message`` (``None``
on success), plus ``broker_addr``; the message repeats them as ``key=value`` so a plain
``logging.basicConfig(level=logging.INFO)`` shows them. Nothing is formatted when the logger
is not enabled for INFO (Python's default level is WARNING: silent until configured).

This is Python-side and separate from :func:`brokerclient.enable_logging`, which routes the
native library's own events (connections, retries) to ``logging``.
"""

from __future__ import annotations

import logging
import time
from typing import Optional, Protocol

__all__ = ["LOGGER_NAME", "get_logger", "logger", "record", "start"]

LOGGER_NAME = "brokerclient.broker"
logger = logging.getLogger(LOGGER_NAME)


def get_logger(name: str) -> logging.Logger:
    """pyrocketmq's ``pyrocketmq.logging.get_logger``: a standard :class:`logging.Logger`."""
    return logging.getLogger(name)


class _Logged(Protocol):
    @property
    def client_id(self) -> str: ...

    @property
    def log_addr(self) -> str: ...


def start() -> float:
    """The start of an operation, or 0.0 when nothing will be logged (cheap check)."""
    return time.time() if logger.isEnabledFor(logging.INFO) else 0.0


def record(owner: _Logged, operation: str, t0: float, error: Optional[BaseException]) -> None:
    """Logs one operation that started at ``t0`` (from :func:`start`; 0.0: not logged)."""
    if not t0:
        return
    elapsed_ms = (time.time() - t0) * 1000.0
    status = "failed" if error is not None else "success"
    try:
        client_id = owner.client_id
    except Exception:  # a closed or forked object still logs its operation
        client_id = ""
    fields = {
        "client_id": client_id,
        "operation_type": operation,
        "timestamp": t0,
        "status": status,
        "execution_time": round(elapsed_ms, 3),
        "error_message": str(error) if error is not None else None,
        "broker_addr": owner.log_addr,
    }
    text = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    logger.info("%s %s: %s", operation, status, text, extra=fields)
