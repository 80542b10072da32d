"""The exception hierarchy (pyrocketmq's broker errors) and the mapping from ``bc_status``.

Every exception carries the library's ``status`` (a ``bc_status`` value), and, when a
broker answered, its ``code`` (RocketMQ response code) and ``remark``; ``broker_addr``,
``retriable`` and ``fatal`` come from the library's ``bc_error``.
"""

from __future__ import annotations

from typing import Optional

from ._lib import lib

__all__ = [
    "BrokerError",
    "BrokerConnectionError",
    "BrokerTimeoutError",
    "BrokerResponseError",
    "BrokerProtocolError",
    "AuthorizationError",
    "BrokerBusyError",
    "MessagePullError",
    "OffsetError",
    "BrokerSystemError",
    "BrokerClosedError",
    "BrokerCancelledError",
    "BrokerForkedError",
    "BrokerFatalError",
    "InvalidArgumentError",
]

# bc_status values (include/brokerclient.h); never renumbered upstream.
OK = 0
INVALID_ARG = -1
CONNECTION = -2
TIMEOUT = -3
PROTOCOL = -4
WOULD_BLOCK = -5
CANCELLED = -6
SHUTDOWN = -7
CLOSED = -8
WOULD_DEADLOCK = -9
FORKED = -10
FATAL = -11
BUFFER_TOO_SMALL = -12
BROKER_RESPONSE = 100
AUTHORIZATION = 101
BROKER_BUSY = 102
PULL = 103
OFFSET = 104
BROKER_SYSTEM = 105


class BrokerError(Exception):
    """Root of every error this package raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int = FATAL,
        code: int = 0,
        remark: Optional[str] = None,
        broker_addr: Optional[str] = None,
        retriable: bool = False,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.remark = remark
        self.broker_addr = broker_addr
        self.retriable = retriable
        self.fatal = fatal

    @property
    def status_name(self) -> str:
        """The ``BC_ERR_*`` name of :attr:`status`."""
        return _text(lib.bc_status_name(self.status)) or str(self.status)


class BrokerConnectionError(BrokerError):
    """The connection could not be made or was lost."""


class BrokerTimeoutError(BrokerError):
    """The broker did not answer within the request timeout."""


class BrokerResponseError(BrokerError):
    """The broker answered with an error code (see ``code`` and ``remark``)."""


class BrokerProtocolError(BrokerError):
    """A frame could not be decoded or broke the protocol."""


class AuthorizationError(BrokerResponseError):
    """The broker refused the request for lack of permission."""


class BrokerBusyError(BrokerResponseError):
    """The broker is overloaded (SYSTEM_BUSY and the like); retry later."""


class MessagePullError(BrokerResponseError):
    """A pull failed on the broker side."""


class OffsetError(BrokerResponseError):
    """An offset query or update failed on the broker side."""


class BrokerSystemError(BrokerResponseError):
    """The broker reported an internal error."""


class InvalidArgumentError(BrokerError, ValueError):
    """An argument was refused before anything was sent."""


class BrokerClosedError(BrokerConnectionError):
    """The client or manager is closed (or shutting down)."""


class BrokerCancelledError(BrokerError):
    """The operation was cancelled before it completed."""


class BrokerForkedError(BrokerError):
    """The object was created before ``fork()``; a child process must create its own (new
    objects work in the child)."""


class BrokerFatalError(BrokerError):
    """The library caught an internal bug; the object is unusable."""


_BY_STATUS = {
    INVALID_ARG: InvalidArgumentError,
    CONNECTION: BrokerConnectionError,
    TIMEOUT: BrokerTimeoutError,
    PROTOCOL: BrokerProtocolError,
    CANCELLED: BrokerCancelledError,
    SHUTDOWN: BrokerClosedError,
    CLOSED: BrokerClosedError,
    FORKED: BrokerForkedError,
    FATAL: BrokerFatalError,
    BROKER_RESPONSE: BrokerResponseError,
    AUTHORIZATION: AuthorizationError,
    BROKER_BUSY: BrokerBusyError,
    # The local in-flight window (max.in.flight) is full: refused at submission; retry after
    # a completion, as after the broker's own SYSTEM_BUSY.
    WOULD_BLOCK: BrokerBusyError,
    PULL: MessagePullError,
    OFFSET: OffsetError,
    BROKER_SYSTEM: BrokerSystemError,
}


def _text(p: Optional[bytes]) -> Optional[str]:
    return p.decode("utf-8", "replace") if p else None


def status_text(status: int) -> str:
    """``bc_status_str`` (the getters answer NULL in a forked child, hence the fallback)."""
    return _text(lib.bc_status_str(status)) or f"bc_status {status}"


def from_error(status: int, err: Optional[int]) -> BrokerError:
    """Builds the exception for ``status`` from a borrowed ``bc_error*`` (may be NULL)."""
    cls = _BY_STATUS.get(status, BrokerError)
    if not err:
        return cls(status_text(status), status=status)
    return cls(
        _text(lib.bc_error_message(err)) or status_text(status),
        status=status,
        code=lib.bc_error_response_code(err),
        remark=_text(lib.bc_error_remark(err)),
        broker_addr=_text(lib.bc_error_broker_addr(err)),
        retriable=bool(lib.bc_error_is_retriable(err)),
        fatal=bool(lib.bc_error_is_fatal(err)),
    )


def take_error(status: int, err_out: "object") -> BrokerError:
    """Builds the exception from an owned ``bc_error*`` written to ``err_out`` and frees it."""
    err = err_out.value  # type: ignore[attr-defined]
    try:
        return from_error(status, err)
    finally:
        lib.bc_error_free(err)
