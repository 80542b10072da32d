"""The exception hierarchy (pyrocketmq's broker errors) and the mapping from ``bc_status``.

Every exception carries the library's ``status`` (a ``bc_status`` value), and, when a
broker answered, its ``code`` (RocketMQ response code) and ``remark``; ``broker_addr``,
``retriable`` and ``fatal`` come from the library's ``bc_error``.
"""

from __future__ import annotations

import sys
from ctypes import c_void_p
from typing import Dict, Optional, Type

if sys.version_info >= (3, 11):
    from typing import TypedDict, Unpack
else:  # pragma: no cover - typing_extensions is not a dependency: a plain TypedDict
    from typing import TypedDict

    Unpack = None  # type: ignore[assignment]

from . import _prototypes as _P
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

# bc_status values, generated from include/brokerclient.h (a test fails on drift).
AUTHORIZATION = _P.BC_ERR_AUTHORIZATION
BROKER_BUSY = _P.BC_ERR_BROKER_BUSY
BROKER_RESPONSE = _P.BC_ERR_BROKER_RESPONSE
BROKER_SYSTEM = _P.BC_ERR_BROKER_SYSTEM
BUFFER_TOO_SMALL = _P.BC_ERR_BUFFER_TOO_SMALL
CANCELLED = _P.BC_ERR_CANCELLED
CLOSED = _P.BC_ERR_CLOSED
CONNECTION = _P.BC_ERR_CONNECTION
FATAL = _P.BC_ERR_FATAL
FORKED = _P.BC_ERR_FORKED
INVALID_ARG = _P.BC_ERR_INVALID_ARG
OFFSET = _P.BC_ERR_OFFSET
PROTOCOL = _P.BC_ERR_PROTOCOL
PULL = _P.BC_ERR_PULL
SHUTDOWN = _P.BC_ERR_SHUTDOWN
TIMEOUT = _P.BC_ERR_TIMEOUT
WOULD_BLOCK = _P.BC_ERR_WOULD_BLOCK
WOULD_DEADLOCK = _P.BC_ERR_WOULD_DEADLOCK
OK = _P.BC_OK


class _Extra(TypedDict, total=False):
    """The keyword arguments every error takes from the library (``from_error``)."""

    status: int
    code: int
    remark: Optional[str]
    broker_addr: Optional[str]
    retriable: bool
    fatal: bool


class BrokerError(Exception):
    """Root of every error this package raises.

    Every exception carries every attribute of pyrocketmq's broker errors, ``None`` when it
    does not apply: ``error_code`` / ``response_code`` (the broker's response code, also
    ``code``, 0 when none), ``broker_address`` (also ``broker_addr``), ``timeout`` (seconds,
    on timeouts), ``topic``, ``queue_id``, ``offset`` / ``pull_offset`` (the operation's
    queue and offset), ``operation`` and ``resource`` (the failed operation and its topic or
    group); plus the library's ``status``, ``remark``, ``retriable`` and ``fatal``.
    """

    def __init__(
        self,
        message: str,
        error_code: Optional[int] = None,
        *,
        status: int = FATAL,
        code: int = 0,
        remark: Optional[str] = None,
        broker_addr: Optional[str] = None,
        retriable: bool = False,
        fatal: bool = False,
        broker_address: Optional[str] = None,
        timeout: Optional[float] = None,
        topic: Optional[str] = None,
        queue_id: Optional[int] = None,
        offset: Optional[int] = None,
        operation: Optional[str] = None,
        resource: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or (error_code or 0)
        self.remark = remark
        self.broker_addr = broker_addr or broker_address
        self.retriable = retriable
        self.fatal = fatal
        self.timeout = timeout
        self.topic = topic
        self.queue_id = queue_id
        self.offset = offset
        self.operation = operation
        self.resource = resource

    @property
    def error_code(self) -> Optional[int]:
        """pyrocketmq's name of :attr:`code` (``None`` when the broker sent none)."""
        return self.code or None

    @property
    def response_code(self) -> Optional[int]:
        """pyrocketmq's ``BrokerResponseError.response_code``: :attr:`code` or ``None``."""
        return self.code or None

    @property
    def broker_address(self) -> Optional[str]:
        """pyrocketmq's name of :attr:`broker_addr`."""
        return self.broker_addr

    @property
    def pull_offset(self) -> Optional[int]:
        """``MessagePullError.pull_offset``: the offset the failed pull started at."""
        return self.offset

    @property
    def status_name(self) -> str:
        """The ``BC_ERR_*`` name of :attr:`status`."""
        return _text(lib.bc_status_name(self.status)) or str(self.status)

    def _annotate(
        self,
        *,
        operation: str,
        broker_addr: Optional[str],
        timeout: Optional[float],
        topic: Optional[str],
        queue_id: Optional[int],
        offset: Optional[int],
        resource: Optional[str],
    ) -> None:
        """Fills what the library does not know (the operation's context), never overwriting."""
        self.operation = self.operation or operation
        self.broker_addr = self.broker_addr or broker_addr
        if self.timeout is None and isinstance(self, BrokerTimeoutError):
            self.timeout = timeout
        if self.topic is None:
            self.topic = topic
        if self.queue_id is None:
            self.queue_id = queue_id
        if self.offset is None:
            self.offset = offset
        if self.resource is None:
            self.resource = resource or topic


class BrokerConnectionError(BrokerError):
    """The connection could not be made or was lost (``broker_address`` says where)."""

    def __init__(
        self, message: str, broker_address: Optional[str] = None, **kw: Unpack[_Extra]
    ) -> None:
        super().__init__(message, broker_address=broker_address, **kw)


class BrokerTimeoutError(BrokerError):
    """The broker did not answer within the request timeout (``timeout``, seconds)."""

    def __init__(self, message: str, timeout: Optional[float] = None, **kw: Unpack[_Extra]) -> None:
        super().__init__(message, timeout=timeout, **kw)


class BrokerResponseError(BrokerError):
    """The broker answered with an error code (``response_code``, ``remark``)."""

    def __init__(
        self, message: str, response_code: Optional[int] = None, **kw: Unpack[_Extra]
    ) -> None:
        super().__init__(message, response_code, **kw)


class BrokerProtocolError(BrokerError):
    """A frame could not be decoded or broke the protocol."""


class AuthorizationError(BrokerResponseError):
    """The broker refused the request for lack of permission (``operation``, ``resource``)."""

    def __init__(
        self,
        message: str,
        operation: Optional[str] = None,
        resource: Optional[str] = None,
        **kw: Unpack[_Extra],
    ) -> None:
        BrokerError.__init__(self, message, operation=operation, resource=resource, **kw)


class BrokerBusyError(BrokerResponseError):
    """The broker is overloaded (SYSTEM_BUSY and the like), or the local in-flight window is
    full (status ``WOULD_BLOCK``); retry later. ``broker_address`` says which broker."""

    def __init__(
        self, message: str, broker_address: Optional[str] = None, **kw: Unpack[_Extra]
    ) -> None:
        BrokerError.__init__(self, message, broker_address=broker_address, **kw)


class MessagePullError(BrokerResponseError):
    """A pull failed on the broker side (``topic``, ``queue_id``, ``pull_offset``)."""

    def __init__(
        self,
        message: str,
        topic: Optional[str] = None,
        queue_id: Optional[int] = None,
        pull_offset: Optional[int] = None,
        **kw: Unpack[_Extra],
    ) -> None:
        BrokerError.__init__(self, message, topic=topic, queue_id=queue_id, offset=pull_offset, **kw)


class OffsetError(BrokerResponseError):
    """An offset query or update failed: no committed offset, or one the broker refused
    (``topic``, ``queue_id``, ``offset``)."""

    def __init__(
        self,
        message: str,
        topic: Optional[str] = None,
        queue_id: Optional[int] = None,
        offset: Optional[int] = None,
        **kw: Unpack[_Extra],
    ) -> None:
        BrokerError.__init__(self, message, topic=topic, queue_id=queue_id, offset=offset, **kw)


class BrokerSystemError(BrokerResponseError):
    """The broker reported an internal error (``error_code``)."""

    def __init__(self, message: str, error_code: Optional[int] = None, **kw: Unpack[_Extra]) -> None:
        super().__init__(message, error_code, **kw)


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


_BY_STATUS: Dict[int, Type[BrokerError]] = {
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


def take_error(status: int, err_out: c_void_p) -> BrokerError:
    """Builds the exception from an owned ``bc_error*`` written to ``err_out`` and frees it."""
    err = err_out.value
    try:
        return from_error(status, err)
    finally:
        lib.bc_error_free(err)
